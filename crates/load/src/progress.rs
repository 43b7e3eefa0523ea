//! What a run is doing now, for a progress bar or a log line.

use std::fmt;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, Live, RunResult};

/// Seconds of the per-second series the "now" percentile covers.
const WINDOW_SECONDS: usize = 5;

/// Turns a running engine's [`Live`] numbers into [`Tick`]s: the rate since the
/// previous tick and the p95 of the last few seconds, not averages over the whole run
/// (which hide a collapse in its tenth minute).
#[derive(Debug, Default)]
pub struct Progress {
    last: Option<(Duration, u64)>,
}

/// One progress reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Since the run started.
    pub elapsed: Duration,
    /// Users running (closed model) or iterations in flight (open model).
    pub users: u64,
    /// Requests completed so far.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Requests per second since the previous tick (since the start, at the first).
    pub rate: f64,
    /// Coordinated-omission-corrected p95 of the last five seconds' requests.
    pub p95: Option<Duration>,
}

impl Progress {
    /// No reading yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `live` now (cheaply: nothing of the run's history is copied).
    pub fn tick(&mut self, live: &Live) -> Tick {
        let elapsed = live.elapsed();
        let recent = live.recent(WINDOW_SECONDS);
        let (since, before) = self.last.unwrap_or((Duration::ZERO, 0));
        let span = elapsed.saturating_sub(since).as_secs_f64();
        let rate = if span > 0.0 {
            recent.requests.saturating_sub(before) as f64 / span
        } else {
            0.0
        };
        self.last = Some((elapsed, recent.requests));
        Tick {
            elapsed,
            users: live.users(),
            requests: recent.requests,
            failures: recent.failures,
            rate,
            p95: recent.latency.percentile(95.0),
        }
    }
}

/// Runs `engine` to the end, calling `on_tick` every `every` with a fresh [`Tick`] (in
/// the same task: `on_tick` need not be `Send`). The first reading comes one `every`
/// after the start; none comes after the run ends.
pub async fn run_with_progress(
    engine: Engine,
    cancel: CancellationToken,
    every: Duration,
    mut on_tick: impl FnMut(&Tick),
) -> RunResult {
    let live = engine.live();
    let run = engine.run(cancel);
    tokio::pin!(run);
    let mut progress = Progress::new();
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            result = &mut run => return result,
            _ = ticker.tick() => on_tick(&progress.tick(&live)),
        }
    }
}

impl Tick {
    /// The share of requests that failed, in percent.
    pub fn failure_percent(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 * 100.0 / self.requests as f64
        }
    }

    fn p95_ms(&self) -> String {
        self.p95.map_or_else(
            || "-".to_owned(),
            |d| format!("{:.1}", d.as_secs_f64() * 1e3),
        )
    }

    /// The reading without its time, compact enough for a progress bar's message on an
    /// 80-column terminal: `60 users, 1234.5 req/s, p95 12.3 ms, 0 failed (0.0%)`.
    pub fn summary(&self) -> String {
        format!(
            "{} users, {:.1} req/s, p95 {} ms, {} failed ({:.1}%)",
            self.users,
            self.rate,
            self.p95_ms(),
            self.failures,
            self.failure_percent()
        )
    }
}

/// `[   5s] users    60 |    187.7 req/s | p95     6.5 ms | failures 0 (0.0%)`: one log
/// line, in columns that line up from one line to the next.
impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{:>5.0}s] users {:>5} | {:>8.1} req/s | p95 {:>7} ms | failures {} ({:.1}%)",
            self.elapsed.as_secs_f64(),
            self.users,
            self.rate,
            self.p95_ms(),
            self.failures,
            self.failure_percent()
        )
    }
}
