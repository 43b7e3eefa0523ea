//! Each channel's payload, as pure functions of the events (tested for exact shapes).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::event::{Event, Severity, Status};

/// The webhook payload's schema name (documented in docs/notification-schema.md).
pub const WEBHOOK_SCHEMA: &str = "shipgate.notification/v1";

fn facts(e: &Event) -> Vec<(String, String)> {
    let mut out = vec![
        ("kind".to_owned(), e.kind.to_string()),
        ("environment".to_owned(), e.environment.clone()),
    ];
    if let Some(v) = &e.version {
        out.push(("version".to_owned(), v.clone()));
    }
    out.extend(e.details.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

fn emoji(e: &Event) -> &'static str {
    match (e.status, e.severity) {
        (Status::Resolved, _) => ":white_check_mark:",
        (_, Severity::Critical) => ":red_circle:",
        (_, Severity::Warning) => ":warning:",
        (_, Severity::Info) => ":information_source:",
    }
}

/// Slack: `text` as the fallback, Block Kit sections per event.
pub fn slack(events: &[Event]) -> Value {
    let text = events
        .iter()
        .map(Event::title)
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = Vec::new();
    for e in events {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{} *{}*", emoji(e), e.title())}}));
        let fields: Vec<Value> = facts(e)
            .iter()
            .map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{k}*\n{v}")}))
            .collect();
        for chunk in fields.chunks(10) {
            blocks.push(json!({"type": "section", "fields": chunk}));
        }
        if !e.links.is_empty() {
            let links = e
                .links
                .iter()
                .map(|l| format!("<{}|{}>", l.url, l.title))
                .collect::<Vec<_>>()
                .join(" · ");
            blocks
                .push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]}));
        }
    }
    json!({"text": text, "blocks": blocks})
}

/// The generic webhook body.
pub fn webhook(group: &str, events: &[Event]) -> Value {
    json!({"schema": WEBHOOK_SCHEMA, "group": group, "events": events})
}

/// `sha256=<hex>` of HMAC-SHA256(secret, `timestamp.body`): a receiver recomputes it,
/// and rejects stale timestamps to stop replays.
pub fn webhook_signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Alertmanager's `POST /api/v2/alerts` body: one alert per event, identified by its
/// labels (`alertname`: the rule, or the kind; `severity`, `environment`, `version`, and
/// every detail named `label.NAME`); the other details are annotations. A firing
/// alert ends `ends_after` from now unless re-sent (Alertmanager's own expiry); a
/// resolved one ends at its time, which resolves it.
pub fn alertmanager(
    events: &[Event],
    ends_after: std::time::Duration,
    now: std::time::SystemTime,
) -> Value {
    let at = |secs: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let stamp = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let alerts: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut labels = serde_json::Map::new();
            let name = e
                .details
                .get("rule")
                .cloned()
                .unwrap_or_else(|| e.kind.to_string());
            labels.insert("alertname".into(), name.into());
            labels.insert("severity".into(), e.severity.as_str().into());
            labels.insert("environment".into(), e.environment.clone().into());
            if let Some(v) = &e.version {
                labels.insert("version".into(), v.clone().into());
            }
            let mut annotations = serde_json::Map::new();
            annotations.insert("summary".into(), e.summary.clone().into());
            for (k, v) in &e.details {
                match k.strip_prefix("label.") {
                    Some(label) => labels.insert(label.into(), v.clone().into()),
                    None => annotations.insert(k.clone(), v.clone().into()),
                };
            }
            let ends = match e.status {
                Status::Resolved => at(e.at),
                Status::Firing => now + ends_after,
            };
            let mut alert = json!({
                "labels": labels,
                "annotations": annotations,
                "startsAt": stamp(at(e.at)),
                "endsAt": stamp(ends),
            });
            if let Some(link) = e.links.first() {
                alert["generatorURL"] = link.url.clone().into();
            }
            alert
        })
        .collect();
    Value::Array(alerts)
}

/// PagerDuty Events v2: `(path, body)`; deployments are change events, the rest alerts
/// that trigger or resolve by `dedup_key`.
pub fn pagerduty(event: &Event, routing_key: &str, source: &str) -> (&'static str, Value) {
    let details: serde_json::Map<String, Value> = facts(event)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let links: Vec<Value> = event
        .links
        .iter()
        .map(|l| json!({"href": l.url, "text": l.title}))
        .collect();
    if event.kind.is_change() {
        let timestamp = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(event.at),
        )
        .to_string();
        return (
            "/v2/change/enqueue",
            json!({
                "routing_key": routing_key,
                "payload": {"summary": event.title(), "timestamp": timestamp, "source": source, "custom_details": details},
                "links": links,
            }),
        );
    }
    if event.status == Status::Resolved {
        return (
            "/v2/enqueue",
            json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": event.dedup_key()}),
        );
    }
    let severity = match event.severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    (
        "/v2/enqueue",
        json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": event.dedup_key(),
            "payload": {
                "summary": event.title(),
                "source": source,
                "severity": severity,
                "component": event.environment,
                "class": event.kind.as_str(),
                "custom_details": details,
            },
            "links": links,
        }),
    )
}

/// Teams Workflows: a message with one adaptive card.
pub fn teams(events: &[Event]) -> Value {
    let mut body = Vec::new();
    for e in events {
        let color = match (e.status, e.severity) {
            (Status::Resolved, _) => "Good",
            (_, Severity::Critical) => "Attention",
            (_, Severity::Warning) => "Warning",
            (_, Severity::Info) => "Default",
        };
        body.push(json!({"type": "TextBlock", "text": e.title(), "weight": "Bolder", "size": "Medium", "color": color, "wrap": true}));
        let facts: Vec<Value> = facts(e)
            .into_iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let actions: Vec<Value> = events
        .iter()
        .flat_map(|e| &e.links)
        .map(|l| json!({"type": "Action.OpenUrl", "title": l.title, "url": l.url}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// Mail: subject, plain text and HTML bodies.
pub fn email(events: &[Event]) -> (String, String, String) {
    let subject = match events {
        [one] => one.title(),
        many => format!(
            "{} shipgate notifications ({})",
            many.len(),
            many[0].environment
        ),
    };
    let mut text = String::new();
    let mut html = String::from("<html><body>");
    for e in events {
        text.push_str(&format!("{}\n", e.title()));
        html.push_str(&format!("<h3>{}</h3><table>", escape(&e.title())));
        for (k, v) in facts(e) {
            text.push_str(&format!("  {k}: {v}\n"));
            html.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape(&k),
                escape(&v)
            ));
        }
        html.push_str("</table>");
        for l in &e.links {
            text.push_str(&format!("  {}: {}\n", l.title, l.url));
            html.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape(&l.url),
                escape(&l.title)
            ));
        }
        text.push('\n');
    }
    html.push_str("</body></html>");
    (subject, text, html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
