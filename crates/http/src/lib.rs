//! HTTP for shipgate's smoke tests and load generator.
//!
//! - [`HttpClient`]: hyper 1 with a keep-alive pool, HTTP/1.1 and HTTP/2 (ALPN over
//!   rustls, or h2c by prior knowledge), connect and request timeouts; a
//!   `tower::Service<Request<Bytes>>`, so `.timeout()`, `.retry()` and
//!   `.concurrency_limit()` compose. Errors are sorted into [`ErrorKind`]s
//!   (connect, timeout, reset, TLS, protocol).
//! - [`Template`]: `{{var}}` placeholders in URLs, headers and bodies.
//! - [`Capture`] and [`Assertion`]: short expressions (`json $.token`,
//!   `header x-frame-options == "DENY"`, `latency < 500ms`) parsed once.
//! - [`Session`]: one virtual user's own keep-alive connections for plain HTTP/1.1
//!   (one `write` and one `read` per exchange, parsed in place in the user's task),
//!   and the pooled client for TLS and HTTP/2.
//! - [`CookieJar`]: per virtual user; `Secure` cookies only over https.
//! - [`exchange`]: one step's request built, sent through any [`Sender`] (a session,
//!   the pooled client, a test's fake), its cookies kept, its assertions checked and
//!   its captures taken; the one path smoke steps and load-test users share.
//! - [`Step`] and [`run_steps`]: ordered steps with captures, assertions and retries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shipgate_http::Error> {
//! use shipgate_http::{ClientConfig, CookieJar, HttpClient, Step, TemplateVars, run_steps};
//!
//! let client = HttpClient::new(&ClientConfig::default())?;
//! let steps: Vec<Step> = vec![toml::from_str(r#"
//!     url = "{{base}}/api/v1/auth/login"
//!     method = "POST"
//!     json = { username = "demo", password = "{{password}}" }
//!     capture = { token = "json $.token" }
//!     assert = ["status == 200", "json $.token exists"]
//! "#).unwrap()];
//! let mut vars = TemplateVars::from([("base".into(), "http://127.0.0.1:8000".into()), ("password".into(), "pw".into())]);
//! let outcomes = run_steps(&client, &steps, &mut vars, &mut CookieJar::new()).await;
//! assert!(outcomes[0].passed());
//! # Ok(()) }
//! ```

mod client;
mod cookies;
mod error;
mod exchange;
mod expr;
mod h1;
mod jsonpath;
mod response;
pub mod retry;
mod scenario;
mod session;
mod step;
mod template;

pub use client::{ClientConfig, HttpClient, Roots};
pub use cookies::{CookieJar, SetCookie};
pub use error::{Error, ErrorKind};
pub use exchange::{Exchange, Failed, MakeSender, Sender, exchange};
pub use expr::{Assertion, Capture, Mismatch};
pub use jsonpath::JsonPath;
pub use response::Response;
pub use scenario::{StepOutcome, StepResult, run_step, run_steps};
pub use session::Session;
pub use step::Step;
pub use template::{Template, TemplateVars};
