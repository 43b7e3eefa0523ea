//! CloudWatch: alarms (a field is 1 while its alarm is in ALARM, 0 while OK, no data
//! while INSUFFICIENT_DATA) and metrics through one GetMetricData call per sample (a
//! field is the newest datapoint of its metric within the last three periods).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StateValue,
};

use crate::config::{CloudwatchMetric, SourceConfig};
use crate::sample::{Missing, Reading};

/// A CloudWatch client, built on first use (or why it could not be).
#[derive(Debug, Default)]
pub(crate) struct Client(tokio::sync::OnceCell<Result<aws_sdk_cloudwatch::Client, String>>);

impl Client {
    async fn get(&self, config: &SourceConfig) -> Result<&aws_sdk_cloudwatch::Client, String> {
        let SourceConfig::Cloudwatch {
            region,
            profile,
            endpoint_url,
            ..
        } = config
        else {
            unreachable!("a cloudwatch client for a cloudwatch source")
        };
        self.0
            .get_or_init(|| async {
                shipgate_aws::load(&shipgate_aws::AwsConfig {
                    region: region.clone(),
                    profile: profile.clone(),
                    endpoint_url: endpoint_url.clone(),
                })
                .await
                .map(|sdk| aws_sdk_cloudwatch::Client::new(&sdk))
                .map_err(|e| format!("the source is broken: {e}"))
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One sample of every alarm and metric the source names.
pub(crate) async fn sample(client: &Client, config: &SourceConfig) -> BTreeMap<String, Reading> {
    let SourceConfig::Cloudwatch {
        alarms, metrics, ..
    } = config
    else {
        unreachable!("a cloudwatch sample of a cloudwatch source")
    };
    let fields = config.fields();
    let cw = match client.get(config).await {
        Ok(c) => c,
        Err(why) => return super::all(&fields, Missing::Broken, &why),
    };
    let mut out = BTreeMap::new();
    if !alarms.is_empty() {
        out.extend(read_alarms(cw, alarms).await);
    }
    if !metrics.is_empty() {
        out.extend(read_metrics(cw, metrics).await);
    }
    out
}

async fn read_alarms(
    cw: &aws_sdk_cloudwatch::Client,
    alarms: &BTreeMap<String, String>,
) -> BTreeMap<String, Reading> {
    let names: Vec<String> = alarms.values().cloned().collect();
    let answer = cw
        .describe_alarms()
        .set_alarm_names(Some(names))
        .send()
        .await;
    let found = match answer {
        Ok(out) => {
            let mut found: BTreeMap<String, Option<StateValue>> = BTreeMap::new();
            for a in out.metric_alarms() {
                found.insert(
                    a.alarm_name().unwrap_or_default().to_owned(),
                    a.state_value().cloned(),
                );
            }
            for a in out.composite_alarms() {
                found.insert(
                    a.alarm_name().unwrap_or_default().to_owned(),
                    a.state_value().cloned(),
                );
            }
            found
        }
        Err(e) => {
            let e = shipgate_aws::call_failed("DescribeAlarms", e);
            let keys: Vec<String> = alarms.keys().cloned().collect();
            return super::all(&keys, missing_for(&e), &shipgate_report::error_line(&e));
        }
    };
    alarms
        .iter()
        .map(|(field, name)| {
            let reading = match found.get(name) {
                None => Reading::none(
                    Missing::Broken,
                    format!("the source is broken: no CloudWatch alarm named {name:?}"),
                ),
                Some(Some(StateValue::Alarm)) => Reading::Value(1.0),
                Some(Some(StateValue::Ok)) => Reading::Value(0.0),
                Some(other) => Reading::none(
                    Missing::Empty,
                    format!(
                        "alarm {name} is {}",
                        other.as_ref().map_or("in no state", StateValue::as_str)
                    ),
                ),
            };
            (field.clone(), reading)
        })
        .collect()
}

async fn read_metrics(
    cw: &aws_sdk_cloudwatch::Client,
    metrics: &BTreeMap<String, CloudwatchMetric>,
) -> BTreeMap<String, Reading> {
    // Query ids must start with a lowercase letter: m0, m1, … in field order.
    let fields: Vec<(&String, &CloudwatchMetric)> = metrics.iter().collect();
    let longest = fields
        .iter()
        .map(|(_, m)| m.period)
        .max()
        .unwrap_or(Duration::from_secs(60));
    // Aligned on the period, as CloudWatch advises, and past now: a datapoint of this
    // very second is inside the range (timestamps go out in whole seconds).
    let step = longest.as_secs().max(1);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let end = SystemTime::UNIX_EPOCH + Duration::from_secs((now / step + 1) * step);
    let start = end - longest * 3;
    let queries: Vec<MetricDataQuery> = fields
        .iter()
        .enumerate()
        .map(|(i, (_, m))| {
            let metric = Metric::builder()
                .namespace(&m.namespace)
                .metric_name(&m.metric)
                .set_dimensions(Some(
                    m.dimensions
                        .iter()
                        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                        .collect(),
                ))
                .build();
            MetricDataQuery::builder()
                .id(format!("m{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(i32::try_from(m.period.as_secs().max(1)).unwrap_or(i32::MAX))
                        .stat(&m.stat)
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let answer = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(end_of(start))
        .end_time(end_of(end))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await;
    let results = match answer {
        Ok(out) => out.metric_data_results().to_vec(),
        Err(e) => {
            let e = shipgate_aws::call_failed("GetMetricData", e);
            let keys: Vec<String> = metrics.keys().cloned().collect();
            return super::all(&keys, missing_for(&e), &shipgate_report::error_line(&e));
        }
    };
    fields
        .iter()
        .enumerate()
        .map(|(i, (field, m))| {
            let id = format!("m{i}");
            let newest = results
                .iter()
                .find(|r| r.id() == Some(id.as_str()))
                .and_then(|r| {
                    // Newest first as asked; emulators may not sort: take the latest.
                    r.timestamps()
                        .iter()
                        .zip(r.values())
                        .max_by_key(|(t, _)| t.secs())
                        .map(|(_, v)| *v)
                });
            let reading = match newest {
                Some(v) if v.is_finite() => Reading::Value(v),
                _ => Reading::none(
                    Missing::Empty,
                    format!(
                        "no datapoint of {}/{} in the last {}",
                        m.namespace,
                        m.metric,
                        humantime::format_duration(longest * 3)
                    ),
                ),
            };
            ((*field).clone(), reading)
        })
        .collect()
}

fn end_of(t: SystemTime) -> aws_sdk_cloudwatch::primitives::DateTime {
    aws_sdk_cloudwatch::primitives::DateTime::from(t)
}

/// Credentials refused, an API that is not there: the source is broken. Anything
/// else (the network, throttling): an error reading.
fn missing_for(e: &shipgate_aws::Error) -> Missing {
    match e.code() {
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidParameterValue"
            | "InvalidParameterCombination"
            | "ValidationError",
        ) => Missing::Broken,
        _ => Missing::Error,
    }
}
