//! Reads `shipgate.toml`: one file for every shipgate layer.
//!
//! This crate knows the *shape* of the file, never the layers' settings. A
//! [`Document`] holds the file's `[environments.<name>]` tables and the raw
//! top-level sections; each layer crate owns the serde types of its own section and
//! asks for them with [`Document::section`]. So `shipgate-checks` can be embedded
//! alone, and a binary composes only the sections it runs.
//!
//! What it guarantees:
//! - **Positions.** Every error names file, line and column and shows the line
//!   ([`Error`]): TOML syntax, a wrong type, an unknown key (with a "did you mean"
//!   hint when a known key is close), an undefined variable.
//! - **Interpolation.** String values may say `${NAME}` or `${NAME:-default}`. `NAME`
//!   is looked up in the selected environment's table first, then in the process
//!   environment (see [`Vars`]); `$$` is a literal `$`. Interpolation happens on parsed
//!   strings, so a value can never inject TOML syntax.
//! - **Secrets.** A field of type [`Secret`] never shows its value in `Debug`,
//!   `Display` or `Serialize`. [`Document::secrets`] lists every secret read so far,
//!   so the caller can build a report redactor that masks them in any output.
//! - **Durations.** [`duration`] deserializes `"500ms"`, `"2m"`, `"1h 30m"`.
//!
//! ```
//! use serde::Deserialize;
//! use shipgate_config::{Document, Secret, Vars};
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Checks {
//!     base_url: String,
//!     database_url: Secret,
//!     #[serde(with = "shipgate_config::duration")]
//!     timeout: std::time::Duration,
//! }
//!
//! let text = r#"
//! [environments.staging]
//! BASE_URL = "https://staging.example.com"
//!
//! [checks]
//! base_url = "${BASE_URL}/health"
//! database_url = "${DATABASE_URL}"
//! timeout = "1500ms"
//! "#;
//! let vars = Vars::from_pairs([("DATABASE_URL", "postgres://app:pw-1234@db/app")]);
//! let doc = Document::parse("shipgate.toml", text, Some("staging"), vars).unwrap();
//! let checks: Checks = doc.section("checks").unwrap().unwrap();
//! assert_eq!(checks.base_url, "https://staging.example.com/health");
//! assert_eq!(checks.timeout.as_millis(), 1500);
//! assert_eq!(format!("{:?}", checks.database_url), "Secret([redacted])");
//! assert_eq!(doc.secrets(), ["postgres://app:pw-1234@db/app"]);
//! ```

mod document;
pub mod duration;
mod error;
mod interpolate;
mod secret;
mod url;

pub use document::{Document, SECTIONS, Seg, Vars};
pub use error::{Error, ErrorKind, Location, did_you_mean};
pub use secret::Secret;
pub use url::resolve_sqlite;
