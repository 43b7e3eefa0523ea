//! A long run's progress on stderr: on a terminal a bar redrawn every second, else a
//! plain line every so often (what a CI log wants).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Shows a run's progress: a bar over its expected duration on a terminal, lines
/// otherwise. Cheap to call at every tick; [`Meter::every`] says how often to.
pub struct Meter {
    bar: Option<ProgressBar>,
    every: Duration,
}

impl Meter {
    /// A meter for a run expected to take `total`; off a terminal, one line every
    /// `every` (200 ms at least).
    pub fn new(total: Duration, every: Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: None,
                every: every.max(Duration::from_millis(200)),
            };
        }
        let bar = ProgressBar::new(total.as_secs().max(1));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {bar:10} {pos}/{len}s {wide_msg}",
            )
            .expect("a valid template"),
        );
        Self {
            bar: Some(bar),
            every: Duration::from_secs(1),
        }
    }

    /// How often to call [`Meter::show`].
    pub fn every(&self) -> Duration {
        self.every
    }

    /// Shows the run at `elapsed`: on the bar, `short` (it shows the time itself);
    /// as a log line, `line`.
    pub fn show(&self, elapsed: Duration, short: &str, line: &dyn std::fmt::Display) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(elapsed.as_secs());
                bar.set_message(short.to_owned());
            }
            None => eprintln!("{line}"),
        }
    }

    /// Leaves the last reading on screen, above what is printed next.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish();
            eprintln!();
        }
    }
}
