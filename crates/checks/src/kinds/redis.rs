//! Redis: PING, a SET/GET/DEL round trip on a namespaced key, memory against maxmemory.

use std::time::{Duration, Instant};

use fred::prelude::*;
use fred::types::Expiration;
use serde::Deserialize;
use shipgate_config::Secret;

use crate::observation::Observation;

fn memory_warn() -> f64 {
    0.75
}

fn memory_fail() -> f64 {
    0.95
}

fn prefix() -> String {
    "shipgate:check".to_owned()
}

/// `[checks.pre.redis]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisCheck {
    /// `redis://[:password@]host:port[/db]`; a secret (it may hold a password).
    pub url: Secret,
    /// `used_memory / maxmemory` that warns (default 0.75).
    #[serde(default = "memory_warn")]
    pub memory_warn: f64,
    /// `used_memory / maxmemory` that fails (default 0.95).
    #[serde(default = "memory_fail")]
    pub memory_fail: f64,
    /// Prefix of the key written and deleted by the round trip.
    #[serde(default = "prefix")]
    pub key_prefix: String,
}

pub(crate) async fn observe(check: &RedisCheck) -> Observation {
    let config = match Config::from_url(check.url.expose()) {
        Ok(c) => c,
        Err(e) => {
            return Observation::fail(format!("the Redis URL is not valid: {e}"))
                .recommend("use redis://[:password@]host:port[/db]");
        }
    };
    let client = match Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(3);
            c.max_command_attempts = 1;
        })
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => return Observation::fail(format!("cannot build a Redis client: {e}")),
    };
    let start = Instant::now();
    if let Err(e) = client.init().await {
        return Observation::unreachable(format!("cannot connect to Redis: {e}"))
            .recommend("is Redis running, and are the host, port and password right?");
    }
    let result = round_trip(&client, check, start).await;
    let _ = client.quit().await;
    result
}

async fn round_trip(client: &Client, check: &RedisCheck, start: Instant) -> Observation {
    let connect = start.elapsed();
    let pong: Result<String, _> = client.ping(None).await;
    if let Err(e) = pong {
        return Observation::fail(format!("PING failed: {e}"))
            .recommend("check the Redis password and ACLs");
    }
    let key = format!(
        "{}:{}:{}",
        check.key_prefix,
        std::process::id(),
        start.elapsed().as_nanos()
    );
    let rt = Instant::now();
    let written: Result<(), _> = client
        .set(&key, "ok", Some(Expiration::EX(60)), None, false)
        .await;
    let read: Result<Option<String>, _> = client.get(&key).await;
    let deleted: Result<i64, _> = client.del(&key).await;
    let round_trip = rt.elapsed();
    match (written, read, deleted) {
        (Ok(()), Ok(Some(v)), Ok(1)) if v == "ok" => {}
        (w, r, d) => {
            return Observation::fail(format!(
                "SET/GET/DEL round trip failed: set {w:?}, get {r:?}, del {d:?}"
            ))
            .recommend("is Redis read-only (a replica) or out of memory?");
        }
    }
    let info: String = match client.info(Some(fred::types::InfoKind::Memory)).await {
        Ok(i) => i,
        Err(e) => return Observation::fail(format!("INFO memory failed: {e}")),
    };
    let field = |name: &str| {
        info.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    let used = field("used_memory").unwrap_or(0.0);
    let max = field("maxmemory").unwrap_or(0.0);
    let base = Observation::pass("")
        .detail("connect", format!("{connect:?}"))
        .detail("round_trip", format!("{round_trip:?}"));
    let mib = |b: f64| b / 1048576.0;
    let mut out = if max > 0.0 {
        let ratio = used / max;
        let text = format!(
            "PING, SET/GET/DEL in {round_trip:?}; memory {:.1} of {:.1} MiB ({:.0}%)",
            mib(used),
            mib(max),
            ratio * 100.0
        );
        if ratio >= check.memory_fail {
            Observation::fail(text)
                .recommend("raise maxmemory, set an eviction policy, or find what fills it")
        } else if ratio >= check.memory_warn {
            Observation::warn(text).recommend("memory is close to maxmemory")
        } else {
            Observation::pass(text)
        }
    } else {
        Observation::pass(format!(
            "PING, SET/GET/DEL in {round_trip:?}; memory {:.1} MiB, no maxmemory set",
            mib(used)
        ))
    };
    out.details = base.details;
    out.details.insert("used_memory".into(), format!("{used}"));
    out
}
