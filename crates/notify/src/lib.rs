//! Notifications that arrive once, to the right place, and say what happened.
//!
//! Every layer sends the same [`Event`] (deployment started/succeeded/failed, rolled
//! back, check failed, threshold breached, alert firing/resolved) with a [`Severity`],
//! environment, version, summary, details and links. A [`Notifier`] routes it by
//! severity, environment and kind ([`Route`]) to channels ([`ChannelConfig`]): Slack
//! (text plus Block Kit), a generic webhook (`shipgate.notification/v1`, optionally
//! HMAC-SHA256 signed), PagerDuty Events v2 (trigger/resolve by `dedup_key`, change
//! events for deployments), Microsoft Teams (adaptive card), email over SMTP (lettre,
//! STARTTLS or implicit TLS, plain text plus HTML) and Alertmanager (`/api/v2/alerts`,
//! labels and annotations, `startsAt`/`endsAt`).
//!
//! Alertmanager's ideas keep it quiet: the same alert is not re-sent within the
//! cooldown, a resolution is sent once, events arriving together are grouped into one
//! message, and the state survives restarts. Delivery retries 429, 5xx and network
//! errors with backoff, never other 4xx; channels are sent to concurrently, so one
//! failing channel does not hold up the rest; secrets (webhook URLs, routing keys,
//! passwords) are [`shipgate_config::Secret`]s and never logged.
//!
//! ```no_run
//! # async fn demo(config: shipgate_notify::NotifyConfig) -> Result<(), shipgate_notify::Error> {
//! use std::time::SystemTime;
//! use shipgate_notify::{Event, EventKind, Notifier, Severity};
//!
//! let client = shipgate_http::HttpClient::new(&Default::default()).expect("client");
//! let mut notifier = Notifier::new(config, client, ".".into())?;
//! let event = Event::new(EventKind::DeploymentFailed, Severity::Critical, "production", "v42 failed its smoke tests");
//! notifier.submit(event, SystemTime::now());
//! for delivery in notifier.flush_all(SystemTime::now()).await {
//!     println!("{}: {:?}", delivery.channel, delivery.result.map(|attempts| attempts));
//! }
//! # Ok(()) }
//! ```

mod config;
mod deliver;
mod error;
mod event;
mod notifier;
pub mod render;
mod state;

pub use config::{ChannelConfig, EmailConfig, EmailTls, NotifyConfig, Route};
pub use error::{Error, ErrorKind};
pub use event::{Event, EventKind, Link, Severity, Status, UnknownName};
pub use notifier::{Decision, Delivery, Notifier, deliveries_table};
