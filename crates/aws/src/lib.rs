//! One AWS SDK configuration for every shipgate crate that calls AWS (the `ecs`
//! driver and `rds` backups of shipgate-deploy, the `cloudwatch` watch source, the
//! `aws_secrets` check), so that they all find credentials, a region and an endpoint
//! the same way, over one HTTP client.
//!
//! - [`AwsConfig`]: what a configuration section may say (`region`, `profile`,
//!   `endpoint_url`); everything else comes from the SDK's standard chain
//!   (environment, shared config and credentials files, SSO, web identity, ECS and EC2
//!   instance metadata).
//! - [`load`]: the SDK configuration every client is built from, over hyper and
//!   rustls with ring (the workspace's TLS stack; no aws-lc, no OpenSSL).
//! - [`Error`] and [`call_failed`]: an AWS call that failed, as one line naming the
//!   operation, AWS's error code and its message, with the SDK's error as the source.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shipgate_aws::Error> {
//! let config = shipgate_aws::AwsConfig {
//!     region: Some("eu-west-1".into()),
//!     endpoint_url: Some("http://127.0.0.1:5000".into()), // moto_server, LocalStack
//!     ..Default::default()
//! };
//! let sdk = shipgate_aws::load(&config).await?;
//! assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
//! # Ok(()) }
//! ```

mod error;

pub use aws_config::SdkConfig;
pub use error::{Error, call_failed, code_of};

use serde::Deserialize;

/// Where AWS is and who calls it, beyond the SDK's standard chain.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The region (default: `AWS_REGION`, then the profile's).
    #[serde(default)]
    pub region: Option<String>,
    /// A named profile of `~/.aws/config` (default: `AWS_PROFILE`, then `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Another endpoint for every service: a LocalStack or moto_server
    /// (`http://127.0.0.1:4566`).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// The SDK configuration for `config`: the standard chain, then what `config` says,
/// over the workspace's one HTTP client. Fails when no region is found, before any
/// call would.
pub async fn load(config: &AwsConfig) -> Result<SdkConfig, Error> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(Error::NoRegion);
    }
    Ok(sdk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_reads_what_it_documents_and_nothing_else() {
        let c: AwsConfig = serde_json::from_str(
            r#"{"region":"eu-west-1","endpoint_url":"http://127.0.0.1:5000"}"#,
        )
        .unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert!(serde_json::from_str::<AwsConfig>(r#"{"regoin":"x"}"#).is_err());
    }

    #[tokio::test]
    async fn a_region_in_the_configuration_wins() {
        let sdk = load(&AwsConfig {
            region: Some("ap-south-2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("ap-south-2"));
    }
}
