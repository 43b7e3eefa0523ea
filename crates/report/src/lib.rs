//! The verdict model shared by every shipgate layer, and the renderers that print it.
//!
//! A check, a smoke step, a load threshold or a deployment step ends in a [`Finding`]:
//! a name, the [`Phase`] it ran in, an [`Outcome`] (pass, warn, fail, skip, error), how
//! long it took, a message, details, and for anything that did not pass a recommendation
//! a person can act on. Findings collect in a [`Report`], whose [`Tally`] counts them
//! and whose [`Report::exit_code`] follows one documented rule for every binary:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | everything passed (warnings and skips allowed) |
//! | 1 | something failed or could not be evaluated (`fail` or `error`) |
//! | 2 | configuration or usage error: nothing was evaluated ([`ExitCode::Usage`]) |
//!
//! Renderers are sinks that write a report to any [`std::io::Write`]: [`Console`]
//! (aligned columns, colour only when asked, e.g. on a TTY), [`Json`] (the versioned
//! schema in `docs/report-schema.md`, named by [`JSON_SCHEMA`]), [`Junit`] (one testcase
//! per finding) and [`Markdown`] (for `$GITHUB_STEP_SUMMARY`).
//!
//! Secrets never reach a renderer: a report built with a [`Redactor`] masks every
//! known secret value in every string it holds, as findings are added.
//!
//! ```
//! use std::time::Duration;
//! use shipgate_report::{Console, Finding, Outcome, Phase, Redactor, Render, Report};
//!
//! let redactor = Redactor::new(["s3cr3t-token"]);
//! let mut report = Report::new("pre-deployment checks").with_redactor(redactor);
//! report.push(Finding::new("env: SECRET_KEY", Phase::Pre, Outcome::Pass).with_duration(Duration::from_millis(2)));
//! report.push(
//!     Finding::new("http: /health", Phase::Pre, Outcome::Fail)
//!         .with_message("GET http://user:s3cr3t-token@127.0.0.1:9/health: connection refused")
//!         .with_recommendation("start the service, or fix the URL"),
//! );
//!
//! let mut out = Vec::new();
//! Console::plain().render(&report, &mut out).unwrap();
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.contains("FAIL"));
//! assert!(!text.contains("s3cr3t-token"));
//! assert_eq!(report.exit_code(), shipgate_report::ExitCode::Failure);
//! ```

mod chain;
mod error;
mod model;
mod redact;
mod render;

pub use chain::error_line;
pub use error::{Error, ErrorKind};
pub use model::{ExitCode, Finding, Outcome, Phase, Report, Tally};
pub use redact::{REDACTED, Redactor};
pub use render::{
    Console, JSON_SCHEMA, Json, Junit, Markdown, Render, format_duration, printable, write_atomic,
};
