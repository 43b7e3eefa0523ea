//! Routing, dedup, grouping, cooldown, and delivery to every channel at once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use shipgate_http::HttpClient;

use crate::config::{ChannelConfig, NotifyConfig};
use crate::deliver::{self, Policy};
use crate::event::{Event, EventKind, Status, secs};
use crate::render;
use crate::state::{Sent, State};
use crate::{Error, ErrorKind};

/// What happened to a submitted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Waiting in its group for `group_wait`, then sent.
    Queued,
    /// Not sent, and why (within the cooldown, already resolved, no route).
    Suppressed(String),
}

/// One channel's delivery of one group.
#[derive(Debug)]
pub struct Delivery {
    /// The channel's name.
    pub channel: String,
    /// How many events the message carried.
    pub events: usize,
    /// `Ok(attempts)` or why it failed.
    pub result: Result<u32, Error>,
}

/// One line per delivery, channel names aligned: `ok    slack  2 event(s), 1 attempt`
/// or `FAIL  pager  why`.
pub fn deliveries_table(deliveries: &[Delivery]) -> String {
    use std::fmt::Write as _;
    let width = deliveries
        .iter()
        .map(|d| d.channel.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for d in deliveries {
        let _ = match &d.result {
            Ok(1) => writeln!(
                out,
                "ok    {:<width$}  {} event(s), 1 attempt",
                d.channel, d.events
            ),
            Ok(n) => writeln!(
                out,
                "ok    {:<width$}  {} event(s), {n} attempts",
                d.channel, d.events
            ),
            Err(e) => writeln!(
                out,
                "FAIL  {:<width$}  {}",
                d.channel,
                shipgate_report::error_line(e)
            ),
        };
    }
    out
}

#[derive(Debug)]
struct Pending {
    since: u64,
    channels: Vec<String>,
    events: Vec<Event>,
}

/// Sends events where the routes say, once: the same alert is not re-sent within the
/// cooldown, a resolution is sent once, and events arriving together are grouped. State
/// lives in `state_file`, so a restart does not re-send.
#[derive(Debug)]
pub struct Notifier {
    config: NotifyConfig,
    client: HttpClient,
    base_dir: PathBuf,
    state: State,
    pending: BTreeMap<String, Pending>,
}

impl Notifier {
    /// A notifier; `base_dir` resolves relative paths (state file, CA files).
    pub fn new(config: NotifyConfig, client: HttpClient, base_dir: PathBuf) -> Result<Self, Error> {
        config.validate()?;
        let state = State::load(
            config
                .state_file
                .as_ref()
                .map(|f| base_dir.join(f))
                .as_deref(),
        );
        Ok(Self {
            config,
            client,
            base_dir,
            state,
            pending: BTreeMap::new(),
        })
    }

    /// Routes, dedups and queues an event.
    pub fn submit(&mut self, event: Event, now: SystemTime) -> Decision {
        let now = secs(now);
        let channels = self.config.route(&event);
        if channels.is_empty() {
            return Decision::Suppressed("no route matches it".to_owned());
        }
        let key = event.dedup_key();
        if event.kind != EventKind::Test {
            let last = self.state.get(&key);
            match event.status {
                Status::Firing => {
                    if let Some(sent) = last.filter(|s| s.status == Status::Firing) {
                        let age = now.saturating_sub(sent.at);
                        if age < self.config.cooldown.as_secs() {
                            return Decision::Suppressed(format!(
                                "sent {}s ago; the cooldown is {}",
                                age,
                                humantime::format_duration(self.config.cooldown)
                            ));
                        }
                    }
                }
                Status::Resolved => {
                    if !self.config.send_resolved {
                        return Decision::Suppressed("send_resolved is off".to_owned());
                    }
                    if last.is_none_or(|s| s.status != Status::Firing) {
                        return Decision::Suppressed(
                            "it was never notified as firing, or its resolution was sent"
                                .to_owned(),
                        );
                    }
                }
            }
        }
        let group = format!(
            "{}|{}|{}",
            channels.join(","),
            event.environment,
            event.kind
        );
        let pending = self.pending.entry(group).or_insert_with(|| Pending {
            since: now,
            channels,
            events: Vec::new(),
        });
        if pending
            .events
            .iter()
            .any(|e| e.dedup_key() == key && e.status == event.status)
        {
            return Decision::Suppressed("the same alert is already waiting to be sent".to_owned());
        }
        pending.events.push(event);
        Decision::Queued
    }

    /// Sends the groups that have waited `group_wait`.
    pub async fn flush_due(&mut self, now: SystemTime) -> Vec<Delivery> {
        let now = secs(now);
        let wait = self.config.group_wait.as_secs();
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.since) >= wait)
            .map(|(k, _)| k.clone())
            .collect();
        self.send_groups(due, now).await
    }

    /// Sends every waiting group now.
    pub async fn flush_all(&mut self, now: SystemTime) -> Vec<Delivery> {
        let all: Vec<String> = self.pending.keys().cloned().collect();
        self.send_groups(all, secs(now)).await
    }

    /// A test notification to every configured channel, bypassing routes and dedup.
    pub async fn test(&self, environment: &str) -> Vec<Delivery> {
        let event = Event::new(
            EventKind::Test,
            crate::Severity::Info,
            environment,
            "shipgate notification test: this channel works",
        );
        let channels: Vec<String> = self.config.channels.keys().cloned().collect();
        self.deliver(&channels, "test", &[event]).await
    }

    async fn send_groups(&mut self, keys: Vec<String>, now: u64) -> Vec<Delivery> {
        let mut out = Vec::new();
        for key in keys {
            let Some(group) = self.pending.remove(&key) else {
                continue;
            };
            let deliveries = self.deliver(&group.channels, &key, &group.events).await;
            if deliveries.iter().any(|d| d.result.is_ok()) {
                for e in group.events.iter().filter(|e| e.kind != EventKind::Test) {
                    if let Err(err) = self.state.record(
                        e.dedup_key(),
                        Sent {
                            status: e.status,
                            at: now,
                        },
                    ) {
                        tracing::warn!(error = %err, "cannot persist notify state");
                    }
                }
            }
            out.extend(deliveries);
        }
        out
    }

    /// Sends to every channel at once; a failing channel does not hold up the others.
    async fn deliver(&self, channels: &[String], group: &str, events: &[Event]) -> Vec<Delivery> {
        let policy = Policy {
            attempts: self.config.attempts,
            delay: self.config.retry_delay,
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (i, name) in channels.iter().enumerate() {
            let Some(channel) = self.config.channels.get(name).cloned() else {
                continue;
            };
            let (client, base_dir, events, group, name) = (
                self.client.clone(),
                self.base_dir.clone(),
                events.to_vec(),
                group.to_owned(),
                name.clone(),
            );
            tasks.spawn(async move {
                let result =
                    send(&client, &name, &channel, &base_dir, &group, &events, policy).await;
                (
                    i,
                    Delivery {
                        channel: name,
                        events: events.len(),
                        result,
                    },
                )
            });
        }
        let mut out: Vec<(usize, Delivery)> = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(d) = done {
                out.push(d);
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, d)| d).collect()
    }
}

async fn send(
    client: &HttpClient,
    name: &str,
    channel: &ChannelConfig,
    base_dir: &std::path::Path,
    group: &str,
    events: &[Event],
    policy: Policy,
) -> Result<u32, Error> {
    let json = |v: serde_json::Value| serde_json::to_vec(&v).expect("payloads serialize");
    match channel {
        ChannelConfig::Slack { webhook_url } => {
            deliver::post(
                client,
                name,
                webhook_url.expose(),
                &[],
                json(render::slack(events)),
                policy,
                false,
            )
            .await
        }
        ChannelConfig::Teams { webhook_url } => {
            deliver::post(
                client,
                name,
                webhook_url.expose(),
                &[],
                json(render::teams(events)),
                policy,
                true,
            )
            .await
        }
        ChannelConfig::Webhook { url, secret } => {
            let body = json(render::webhook(group, events));
            let now = secs(SystemTime::now());
            let mut headers = vec![("x-shipgate-timestamp", now.to_string())];
            if let Some(secret) = secret {
                headers.push((
                    "x-shipgate-signature",
                    render::webhook_signature(secret.expose(), now, &body),
                ));
            }
            deliver::post(client, name, url.expose(), &headers, body, policy, false).await
        }
        ChannelConfig::Pagerduty {
            routing_key,
            url,
            source,
        } => {
            let mut attempts = 0;
            for event in events {
                let (path, body) = render::pagerduty(event, routing_key.expose(), source);
                let target = format!("{}{path}", url.trim_end_matches('/'));
                attempts +=
                    deliver::post(client, name, &target, &[], json(body), policy, false).await?;
            }
            Ok(attempts)
        }
        ChannelConfig::Alertmanager { url, ends_after } => {
            let target = format!("{}/api/v2/alerts", url.expose().trim_end_matches('/'));
            let body = json(render::alertmanager(events, *ends_after, SystemTime::now()));
            deliver::post(client, name, &target, &[], body, policy, false).await
        }
        ChannelConfig::Email(cfg) => {
            if cfg.to.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("channel {name}: `to` is empty"),
                ));
            }
            let (subject, text, html) = render::email(events);
            deliver::mail(name, cfg, base_dir, &subject, text, html, policy).await
        }
    }
}
