//! Elasticsearch (or OpenSearch) cluster health, version, and index existence, through
//! the official `elasticsearch` client.

use std::time::Duration;

use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::cluster::ClusterHealthParts;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::IndicesExistsParts;
use serde::Deserialize;
use serde_json::Value;
use shipgate_config::Secret;

use crate::observation::Observation;

/// A cluster health status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Every shard allocated.
    Green,
    /// Replicas missing.
    Yellow,
    /// Primaries missing.
    Red,
}

fn green() -> Vec<Health> {
    vec![Health::Green]
}

/// `[checks.pre.elasticsearch]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchCheck {
    /// The node URL, e.g. `http://127.0.0.1:9200`.
    pub url: String,
    /// Statuses that pass (default green only; add yellow for single-node clusters).
    #[serde(default = "green")]
    pub accept: Vec<Health>,
    /// Indices that must exist.
    #[serde(default)]
    pub indices: Vec<String>,
    /// Basic-auth user.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic-auth password.
    #[serde(default)]
    pub password: Option<Secret>,
}

pub(crate) async fn observe(check: &ElasticsearchCheck, timeout: Duration) -> Observation {
    let url = match check.url.parse() {
        Ok(u) => u,
        Err(e) => return Observation::fail(format!("{:?} is not a URL: {e}", check.url)),
    };
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(timeout);
    if let (Some(user), Some(pass)) = (&check.username, &check.password) {
        builder = builder.auth(Credentials::Basic(user.clone(), pass.expose().to_owned()));
    }
    let transport = match builder.build() {
        Ok(t) => t,
        Err(e) => return Observation::fail(format!("cannot build an Elasticsearch client: {e}")),
    };
    let client = Elasticsearch::new(transport);
    let health: Value = match client
        .cluster()
        .health(ClusterHealthParts::None)
        .send()
        .await
    {
        Ok(r) if r.status_code().is_success() => match r.json().await {
            Ok(v) => v,
            Err(e) => return Observation::fail(format!("cluster health is not JSON: {e}")),
        },
        Ok(r) => {
            return Observation::fail(format!("GET /_cluster/health answered {}", r.status_code()))
                .recommend("check credentials and permissions");
        }
        Err(e) => {
            return Observation::unreachable(format!(
                "cannot reach Elasticsearch at {}: {e}",
                check.url
            ))
            .recommend("is the cluster up and reachable from here?");
        }
    };
    let version = match client.info().send().await {
        Ok(r) => r
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v["version"]["number"].as_str().map(str::to_owned))
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let status = health["status"].as_str().unwrap_or("unknown");
    let parsed = serde_json::from_value::<Health>(Value::String(status.to_owned())).ok();
    let cluster = health["cluster_name"].as_str().unwrap_or("?");
    let mut problems = Vec::new();
    if !parsed.is_some_and(|h| check.accept.contains(&h)) {
        let unassigned = health["unassigned_shards"].as_i64().unwrap_or(0);
        problems.push(
            Observation::fail(format!(
                "cluster {cluster} is {status} ({unassigned} unassigned shards)"
            ))
            .recommend(
                "look at GET /_cluster/allocation/explain; a red cluster has missing primaries",
            ),
        );
    }
    for index in &check.indices {
        match client
            .indices()
            .exists(IndicesExistsParts::Index(&[index.as_str()]))
            .send()
            .await
        {
            Ok(r) if r.status_code().as_u16() == 200 => {}
            Ok(r) => problems.push(
                Observation::fail(format!(
                    "index {index} does not exist ({})",
                    r.status_code()
                ))
                .recommend("create or reindex it before deploying"),
            ),
            Err(e) => problems.push(Observation::fail(format!(
                "cannot check index {index}: {e}"
            ))),
        }
    }
    let summary = format!("cluster {cluster} is {status}, version {version}");
    Observation::combine(problems, &summary)
        .detail("status", status)
        .detail("version", version)
}
