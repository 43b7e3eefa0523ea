//! Sources: each sampled on its own interval, each sample bounded by its timeout. A
//! sample that times out is a [`Missing::Timeout`] reading for every field.

mod db;
mod host;
mod http;
mod prometheus;

use std::collections::BTreeMap;
use std::time::Duration;

use shipgate_http::HttpClient;

use crate::config::{SourceConfig, WatchConfig};
use crate::sample::{Missing, Reading, Sample};
use crate::time::Clock;

pub use prometheus::{parse_result as parse_prometheus_result, query_url};

/// One configured source, ready to sample.
#[derive(Debug)]
pub struct Source {
    name: String,
    config: SourceConfig,
    interval: Duration,
    timeout: Duration,
    fields: Vec<String>,
    host: host::HostState,
}

impl Source {
    /// The source `name` of `section`.
    pub fn new(name: &str, config: &SourceConfig, section: &WatchConfig) -> Self {
        let (interval, timeout) = config.timing(section);
        Self {
            name: name.to_owned(),
            fields: config.fields(),
            config: config.clone(),
            interval,
            timeout,
            host: host::HostState::default(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How often it is sampled.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The fields its samples carry.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// One sample, within the timeout.
    pub async fn sample(&self, client: &HttpClient, clock: &dyn Clock) -> Sample {
        let at = clock.now();
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(self.timeout, self.read(client)).await {
            Ok(readings) => Sample {
                source: self.name.clone(),
                at,
                took: started.elapsed(),
                readings,
            },
            Err(_) => Sample::all_missing(
                &self.name,
                at,
                started.elapsed(),
                &self.fields,
                Missing::Timeout,
                &format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                ),
            ),
        }
    }

    async fn read(&self, client: &HttpClient) -> BTreeMap<String, Reading> {
        match &self.config {
            SourceConfig::Http {
                url,
                expect_status,
                assert,
                ..
            } => http::probe(client, url, *expect_status, assert).await,
            SourceConfig::Prometheus { url, queries, .. } => {
                prometheus::sample(client, url.expose(), queries).await
            }
            SourceConfig::Host { disk, .. } => self.host.sample(disk).await,
            SourceConfig::Postgres { url, slow, .. } => {
                db::sample(db::Server::Postgres, url.expose(), *slow, &self.fields).await
            }
            SourceConfig::Mariadb { url, slow, .. } => {
                db::sample(db::Server::Mariadb, url.expose(), *slow, &self.fields).await
            }
            SourceConfig::Redis { url, .. } => db::redis(url.expose(), &self.fields).await,
        }
    }
}

/// Every field of `fields` without data, for one reason.
pub(crate) fn all(fields: &[String], missing: Missing, message: &str) -> BTreeMap<String, Reading> {
    fields
        .iter()
        .map(|f| (f.clone(), Reading::none(missing, message)))
        .collect()
}
