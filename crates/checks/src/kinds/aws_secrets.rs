//! AWS Secrets Manager: each named secret exists, is not scheduled for deletion, and
//! has a current version (a value staged `AWSCURRENT`). Only `DescribeSecret` is
//! called: a secret's value is never read, so it cannot reach a report.

use serde::Deserialize;

use crate::observation::Observation;

/// `[checks.pre.aws_secrets]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSecretsCheck {
    /// The secrets' names or ARNs.
    pub secrets: Vec<String>,
    /// The region (default: `AWS_REGION`, then the profile's).
    #[serde(default)]
    pub region: Option<String>,
    /// A profile of `~/.aws/config` (default: `AWS_PROFILE`, then `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Another endpoint (LocalStack, moto_server).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// What one secret's description says.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    Ready,
    Missing,
    Deleting(String),
    NoCurrentVersion,
    Unknown(String),
}

pub(crate) async fn observe(check: &AwsSecretsCheck) -> Observation {
    if check.secrets.is_empty() {
        return Observation::fail("no secrets named").recommend("list them in `secrets`");
    }
    let sdk = match shipgate_aws::load(&shipgate_aws::AwsConfig {
        region: check.region.clone(),
        profile: check.profile.clone(),
        endpoint_url: check.endpoint_url.clone(),
    })
    .await
    {
        Ok(sdk) => sdk,
        Err(e) => return Observation::fail(shipgate_report::error_line(&e)),
    };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut bad = Vec::new();
    let mut unreachable = None;
    let mut observation_details = Vec::new();
    for name in &check.secrets {
        let standing = describe(&client, name).await;
        let line = match &standing {
            Standing::Ready => "ready".to_owned(),
            Standing::Missing => "does not exist".to_owned(),
            Standing::Deleting(when) => format!("scheduled for deletion ({when})"),
            Standing::NoCurrentVersion => {
                "has no current version (no value staged AWSCURRENT)".to_owned()
            }
            Standing::Unknown(why) => {
                unreachable.get_or_insert_with(|| why.clone());
                format!("not read: {why}")
            }
        };
        if standing != Standing::Ready {
            bad.push(format!("{name} {line}"));
        }
        observation_details.push((name.clone(), line));
    }
    let observation = if let Some(why) = unreachable.filter(|_| bad.len() == check.secrets.len()) {
        Observation::unreachable(format!("cannot read the secrets: {why}"))
            .recommend("check the credentials, the region and secretsmanager:DescribeSecret")
    } else if bad.is_empty() {
        Observation::pass(format!("{} secret(s) ready", check.secrets.len()))
    } else {
        Observation::fail(bad.join("; "))
            .recommend("create the secret, cancel its deletion (aws secretsmanager restore-secret), or put a value")
    };
    observation_details
        .into_iter()
        .fold(observation, |o, (name, line)| o.detail(name, line))
}

async fn describe(client: &aws_sdk_secretsmanager::Client, name: &str) -> Standing {
    match client.describe_secret().secret_id(name).send().await {
        Ok(out) => {
            if let Some(when) = out.deleted_date() {
                return Standing::Deleting(format!("since {when}"));
            }
            let current = out.version_ids_to_stages().is_some_and(|m| {
                m.values()
                    .any(|stages| stages.iter().any(|s| s == "AWSCURRENT"))
            });
            if current {
                Standing::Ready
            } else {
                Standing::NoCurrentVersion
            }
        }
        Err(e) => {
            let e = shipgate_aws::call_failed("DescribeSecret", e);
            if e.code() == Some("ResourceNotFoundException") {
                Standing::Missing
            } else {
                Standing::Unknown(shipgate_report::error_line(&e))
            }
        }
    }
}
