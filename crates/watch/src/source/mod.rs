//! Sources: each sampled on its own interval, each sample bounded by its timeout. A
//! sample that times out is a [`Missing::Timeout`] reading for every field.

#[cfg(feature = "cloudwatch")]
mod cloudwatch;
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

use prometheus::check_query;
pub use prometheus::{Endpoint, parse_result as parse_prometheus_result, query_url};

/// What a source said of a query asked once before a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryCheck {
    /// It evaluated it (a value or an empty result).
    Accepted,
    /// It could not be asked now (unreachable, too slow): why.
    Unchecked(String),
    /// It rejected the query as invalid, or the source is broken (credentials
    /// refused, no such API, an unreadable CA file): why.
    Rejected(String),
}

/// One configured source, ready to sample.
#[derive(Debug)]
pub struct Source {
    name: String,
    config: SourceConfig,
    interval: Duration,
    timeout: Duration,
    fields: Vec<String>,
    host: host::HostState,
    /// A Prometheus source's endpoint, and its own client when it trusts a private CA
    /// (or why that client could not be built).
    prometheus: Option<(Endpoint, Option<Result<HttpClient, String>>)>,
    #[cfg(feature = "cloudwatch")]
    cloudwatch: cloudwatch::Client,
}

impl Source {
    /// The source `name` of `section`.
    /// A `ca_file` is read as given: [`WatchConfig::resolve_paths`] makes it the
    /// configuration's.
    pub fn new(name: &str, config: &SourceConfig, section: &WatchConfig) -> Self {
        let (interval, timeout) = config.timing(section);
        let prometheus = match config {
            SourceConfig::Prometheus {
                url,
                bearer_token,
                ca_file,
                ..
            } => Some((
                Endpoint::new(url.expose(), bearer_token.as_ref().map(|t| t.expose())),
                ca_file.as_ref().map(|f| own_client(f, timeout)),
            )),
            _ => None,
        };
        Self {
            name: name.to_owned(),
            fields: config.fields(),
            config: config.clone(),
            interval,
            timeout,
            host: host::HostState::default(),
            prometheus,
            #[cfg(feature = "cloudwatch")]
            cloudwatch: cloudwatch::Client::default(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A Prometheus source's check of one query, before a window: whether Prometheus
    /// accepts it (any other source accepts everything).
    pub async fn check(&self, client: &HttpClient, promql: &str) -> QueryCheck {
        let Some((endpoint, own)) = &self.prometheus else {
            return QueryCheck::Accepted;
        };
        let client = match own {
            None => client,
            Some(Ok(own)) => own,
            Some(Err(why)) => return QueryCheck::Rejected(why.clone()),
        };
        match tokio::time::timeout(self.timeout, check_query(client, endpoint, promql)).await {
            Err(_) => QueryCheck::Unchecked("Prometheus did not answer in time".to_owned()),
            Ok(Err(why)) => QueryCheck::Rejected(why),
            Ok(Ok(Reading::NoData {
                missing: Missing::Broken,
                message,
            })) => QueryCheck::Rejected(message),
            Ok(Ok(Reading::NoData {
                missing: Missing::Error | Missing::Timeout,
                message,
            })) => QueryCheck::Unchecked(message),
            Ok(Ok(_)) => QueryCheck::Accepted,
        }
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
            SourceConfig::Prometheus { queries, .. } => {
                let Some((endpoint, own)) = &self.prometheus else {
                    unreachable!("a prometheus source has its endpoint")
                };
                match own {
                    None => prometheus::sample(client, endpoint, queries).await,
                    Some(Ok(own)) => prometheus::sample(own, endpoint, queries).await,
                    Some(Err(why)) => queries
                        .keys()
                        .map(|k| (k.clone(), Reading::none(Missing::Broken, why.clone())))
                        .collect(),
                }
            }
            SourceConfig::Host { disk, .. } => self.host.sample(disk).await,
            SourceConfig::Postgres { url, slow, .. } => {
                db::sample(db::Server::Postgres, url.expose(), *slow, &self.fields).await
            }
            SourceConfig::Mariadb { url, slow, .. } => {
                db::sample(db::Server::Mariadb, url.expose(), *slow, &self.fields).await
            }
            SourceConfig::Redis { url, .. } => db::redis(url.expose(), &self.fields).await,
            #[cfg(feature = "cloudwatch")]
            SourceConfig::Cloudwatch { .. } => {
                Box::pin(cloudwatch::sample(&self.cloudwatch, &self.config)).await
            }
            #[cfg(not(feature = "cloudwatch"))]
            SourceConfig::Cloudwatch { .. } => all(
                &self.fields,
                Missing::Broken,
                "the source is broken: this build of shipgate has no cloudwatch source \
                 (shipgate-watch's `cloudwatch` feature)",
            ),
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

/// A client that trusts only the CA in `pem` (a Prometheus with a private certificate).
fn own_client(pem: &std::path::Path, timeout: Duration) -> Result<HttpClient, String> {
    let text = std::fs::read_to_string(pem).map_err(|e| {
        format!(
            "the source is broken: cannot read ca_file {}: {e}",
            pem.display()
        )
    })?;
    HttpClient::new(&shipgate_http::ClientConfig {
        roots: shipgate_http::Roots::Pem(text),
        request_timeout: timeout,
        ..Default::default()
    })
    .map_err(|e| {
        format!(
            "the source is broken: ca_file {}: {}",
            pem.display(),
            shipgate_report::error_line(&e)
        )
    })
}
