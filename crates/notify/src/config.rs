//! The `[notify]` section of shipgate.toml.
//!
//! ```toml
//! [notify]
//! state_file = ".shipgate/notify-state.json"   # dedup state; survives restarts
//! cooldown = "30m"        # the same alert is not sent again within this
//! group_wait = "2s"       # events arriving together go out as one message
//! send_resolved = true
//!
//! [notify.channels.slack]
//! type = "slack"
//! webhook_url = "${SLACK_WEBHOOK_URL}"
//!
//! [[notify.routes]]
//! severity = ["critical"]
//! environment = ["production"]
//! channels = ["pagerduty", "slack"]
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use shipgate_config::Secret;

use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventKind, Severity};

fn thirty_minutes() -> Duration {
    Duration::from_secs(1800)
}

fn two_seconds() -> Duration {
    Duration::from_secs(2)
}

fn yes() -> bool {
    true
}

/// The whole `[notify]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where dedup state is kept (relative to the working directory); none: in memory only.
    #[serde(default)]
    pub state_file: Option<String>,
    /// The same alert is not sent again within this.
    #[serde(default = "thirty_minutes", with = "shipgate_config::duration")]
    pub cooldown: Duration,
    /// Events with the same group key arriving within this go out as one message.
    #[serde(default = "two_seconds", with = "shipgate_config::duration")]
    pub group_wait: Duration,
    /// Send a notice when a firing alert resolves (once).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// Delivery attempts per channel (retries on 429, 5xx and network errors).
    #[serde(default = "three")]
    pub attempts: u32,
    /// Wait before the first retry; doubles each time (a 429's Retry-After wins, up to 30s).
    #[serde(default = "half_second", with = "shipgate_config::duration")]
    pub retry_delay: Duration,
    /// Channels by name.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Routes, first match wins (unless `continue = true`); no match: every channel.
    #[serde(default)]
    pub routes: Vec<Route>,
}

fn three() -> u32 {
    3
}

fn half_second() -> Duration {
    Duration::from_millis(500)
}

/// One channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelConfig {
    /// A Slack incoming webhook.
    Slack {
        /// The webhook URL (a secret).
        webhook_url: Secret,
    },
    /// Any HTTP endpoint receiving the documented JSON (schema `shipgate.notification/v1`).
    Webhook {
        /// The endpoint (a secret: it may hold a token).
        url: Secret,
        /// When set, `X-Shipgate-Signature: sha256=HMAC(secret, timestamp + "." + body)`.
        #[serde(default)]
        secret: Option<Secret>,
    },
    /// PagerDuty Events API v2.
    Pagerduty {
        /// The integration's routing key (a secret).
        routing_key: Secret,
        /// The API base (default `https://events.pagerduty.com`).
        #[serde(default = "pagerduty_url")]
        url: String,
        /// `source` in the payload (default `shipgate`).
        #[serde(default = "shipgate")]
        source: String,
    },
    /// Microsoft Teams through a Workflows webhook (adaptive card).
    Teams {
        /// The webhook URL (a secret).
        webhook_url: Secret,
    },
    /// Email over SMTP.
    Email(EmailConfig),
    /// An Alertmanager: alerts posted to `/api/v2/alerts`, so that pages keep going
    /// through the team's routes, silences and inhibitions.
    Alertmanager {
        /// Its base URL, e.g. `http://alertmanager:9093` (a secret: it may hold credentials).
        url: Secret,
        /// A firing alert ends this long after it was sent unless sent again (keep it
        /// above `[notify] cooldown`, which is when it is re-sent); default 1h.
        #[serde(default = "one_hour", with = "shipgate_config::duration")]
        ends_after: Duration,
    },
}

fn one_hour() -> Duration {
    Duration::from_secs(3600)
}

fn pagerduty_url() -> String {
    "https://events.pagerduty.com".to_owned()
}

fn shipgate() -> String {
    "shipgate".to_owned()
}

/// How mail is sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server.
    pub host: String,
    /// Port (default 587).
    #[serde(default = "submission")]
    pub port: u16,
    /// `starttls` (default), `implicit` (SMTPS) or `none` (local relays only).
    #[serde(default)]
    pub tls: EmailTls,
    /// Login user.
    #[serde(default)]
    pub username: Option<String>,
    /// Login password (a secret).
    #[serde(default)]
    pub password: Option<Secret>,
    /// Sender, e.g. `shipgate <deploy@example.com>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// A PEM file of extra trusted CAs (a private relay).
    #[serde(default)]
    pub ca_file: Option<String>,
}

fn submission() -> u16 {
    587
}

/// TLS for SMTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    /// Upgrade with STARTTLS; fail if the server does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS.
    None,
}

/// Which events go to which channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Severities matched (empty: any).
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// Environments matched (empty: any).
    #[serde(default)]
    pub environment: Vec<String>,
    /// Event kinds matched (empty: any).
    #[serde(default)]
    pub kinds: Vec<EventKind>,
    /// Where matched events go.
    pub channels: Vec<String>,
    /// Keep matching later routes too.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

impl Route {
    fn matches(&self, e: &Event) -> bool {
        (self.severity.is_empty() || self.severity.contains(&e.severity))
            && (self.environment.is_empty() || self.environment.contains(&e.environment))
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
    }
}

impl NotifyConfig {
    /// Keeps only the channels named (all of them when `names` is empty); a name that is
    /// not configured is an error that lists the ones that are.
    pub fn keep_channels(&mut self, names: &[String]) -> Result<(), Error> {
        if let Some(unknown) = names.iter().find(|n| !self.channels.contains_key(*n)) {
            let known: Vec<&str> = self.channels.keys().map(String::as_str).collect();
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "channel {unknown:?} is not configured (channels: {})",
                    known.join(", ")
                ),
            ));
        }
        if !names.is_empty() {
            self.channels.retain(|name, _| names.contains(name));
        }
        Ok(())
    }

    /// The channels an event goes to, by name, in configuration order.
    pub fn route(&self, event: &Event) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for route in &self.routes {
            if route.matches(event) {
                for c in &route.channels {
                    if !out.contains(c) {
                        out.push(c.clone());
                    }
                }
                if !route.continue_matching {
                    return out;
                }
            }
        }
        if out.is_empty() && self.routes.is_empty() {
            out = self.channels.keys().cloned().collect();
        }
        out.retain(|c| self.channels.get(c).is_none_or(|ch| ch.takes(event.kind)));
        out
    }

    /// Every route's channels exist.
    pub fn validate(&self) -> Result<(), crate::Error> {
        for (i, route) in self.routes.iter().enumerate() {
            for c in &route.channels {
                if !self.channels.contains_key(c) {
                    let known: Vec<&str> = self.channels.keys().map(String::as_str).collect();
                    return Err(crate::Error::new(
                        crate::ErrorKind::Config,
                        format!(
                            "route {} sends to channel {c:?}, which is not configured (channels: {})",
                            i + 1,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl ChannelConfig {
    /// Whether events of `kind` go to this channel. Only alerts are alerts: an
    /// Alertmanager pages on what it holds, so a deployment's news never goes there.
    pub fn takes(&self, kind: crate::EventKind) -> bool {
        !matches!(self, ChannelConfig::Alertmanager { .. }) || kind == crate::EventKind::Alert
    }
}
