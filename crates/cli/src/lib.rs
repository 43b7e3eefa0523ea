//! What every shipgate binary shares, so that each `main.rs` reads as a list of steps.
//!
//! - [`ConfigArgs`]: `--config` / `--env`, flattened into each binary's clap arguments,
//!   and [`ConfigArgs::load`], [`required_section`], [`base_dir`].
//! - [`LogArgs`] and [`init_logging`]: `--log-format human|json`, `RUST_LOG`, to
//!   stderr, with the configuration's secrets masked ([`Logging::mask`]).
//! - [`confirm`]: a protected change confirmed by a typed phrase or `--confirm NAME`.
//! - [`Meter`]: a long run's progress, a bar on a terminal and lines in a CI log.
//! - [`runtime()`] and [`cancel_on_ctrl_c`]: the tokio runtime and a graceful Ctrl-C.
//! - [`write_report`]: a report file written whole or not at all; `-` is stdout;
//!   [`read_input`]: an input file, `-` being stdin.
//! - [`ReportArgs`]: `--json`, `--junit`, `--markdown`, `--color` for a findings
//!   report, and [`ReportArgs::emit`], which prints and writes them.
//! - [`parse`]: clap parsing, plus the hidden `--generate-completions SHELL` and
//!   `--generate-man` that `cargo xtask dist` uses to ship completions and man pages.
//! - [`Failure`] and [`exit`]: a typed error mapped to the documented exit code (2:
//!   usage or configuration, nothing ran; 1: failed after work had started), printed
//!   with its chain of causes.
//!
//! ```no_run
//! use clap::Parser;
//! use shipgate_cli::{ConfigArgs, Failure, LogArgs};
//! use shipgate_report::ExitCode;
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     config: ConfigArgs,
//!     #[command(flatten)]
//!     log: LogArgs,
//! }
//!
//! fn run(args: &Args) -> Result<ExitCode, Failure> {
//!     let logging = shipgate_cli::init_logging(&args.log);
//!     // Every secret a section holds is masked in the log from the moment it is read.
//!     let doc = args.config.load(&logging)?;
//!     shipgate_cli::write_report("report.txt".as_ref(), "all good\n")?;
//!     Ok(ExitCode::Success)
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let args: Args = shipgate_cli::parse();
//!     shipgate_cli::exit("shipgate-example", run(&args))
//! }
//! ```

mod config;
mod confirm;
mod error;
mod generate;
mod logging;
mod meter;
mod output;
mod report;
mod runtime;

pub use config::{ConfigArgs, base_dir, required_section};
pub use confirm::confirm;
pub use error::{BoxError, Chain, Failure, FailureKind};
pub use generate::parse;
pub use logging::{LogArgs, LogFormat, Logging, init as init_logging};
pub use meter::Meter;
pub use output::{read_input, write_report};
pub use report::{Color, ReportArgs, render};
pub use runtime::{cancel_on_ctrl_c, runtime};

use shipgate_report::ExitCode;

/// The process exit code for a command's result; a failure is printed first, as
/// `name: what went wrong` and one `caused by:` line per cause.
pub fn exit(name: &str, result: Result<ExitCode, Failure>) -> std::process::ExitCode {
    match result {
        Ok(code) => code.into(),
        Err(failure) => {
            eprintln!("{name}: {}", Chain(&failure));
            failure.exit_code().into()
        }
    }
}
