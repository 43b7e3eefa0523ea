use std::io::Write;
use std::sync::{Arc, RwLock};

use shipgate_report::Redactor;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// `--log-format`; the level comes from `RUST_LOG` (default `warn`).
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log lines on stderr: `human` or `json` (one object per line). Choose what is
    /// logged with RUST_LOG, e.g. RUST_LOG=debug or RUST_LOG=shipgate_checks=trace.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-12-02T10:00:00Z  INFO check{check=db phase=pre}: connected`.
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The installed logger; it masks what the secret registry given to
/// [`mask`](Self::mask) holds (`ConfigArgs::load` gives it the document's).
#[derive(Debug, Clone, Default)]
pub struct Logging {
    redactor: Arc<RwLock<Redactor>>,
}

impl Logging {
    /// Masks what `redactor` holds, and whatever is added to it later, in every log
    /// line from now on.
    pub fn mask(&self, redactor: Redactor) {
        *self.redactor.write().unwrap_or_else(|e| e.into_inner()) = redactor;
    }
}

/// What is logged when `RUST_LOG` is not set: warnings, and the progress lines of a
/// long wait (a cloud rollout, a one-off task), which an operator must see.
pub(crate) const DEFAULT_FILTER: &str = "warn,shipgate_deploy::progress=info";

/// Installs the global logger, to stderr, filtered by `RUST_LOG` (default: warnings,
/// and the progress lines of a long wait, target `shipgate_deploy::progress`). Call
/// once, first.
///
/// A second call (tests running several commands in one process) leaves the first
/// logger in place and returns a handle that masks nothing new.
pub fn init(args: &LogArgs) -> Logging {
    let logging = Logging::default();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let writer = Masked(logging.redactor.clone());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    let installed = match args.log_format {
        LogFormat::Human => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // Err only when a logger is already installed; keep that one.
    drop(installed);
    logging
}

/// Makes writers that mask secrets, one per log event.
#[derive(Clone)]
struct Masked(Arc<RwLock<Redactor>>);

impl<'a> MakeWriter<'a> for Masked {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            redactor: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

/// One event's text, masked and written to stderr whole when dropped.
struct Line {
    redactor: Arc<RwLock<Redactor>>,
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let masked = self
            .redactor
            .read()
            .map(|r| r.redact(&text))
            .unwrap_or_else(|e| e.into_inner().redact(&text));
        let _ = std::io::stderr().lock().write_all(masked.as_bytes());
    }
}
