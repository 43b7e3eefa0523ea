//! TCP ports and DNS names.

use std::net::IpAddr;

use serde::Deserialize;

use crate::observation::Observation;

/// `[checks.pre.tcp]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// Host name or address.
    pub host: String,
    /// Port: a number, or a string holding one (so `"${PORT}"` works).
    #[serde(deserialize_with = "crate::kinds::port")]
    pub port: u16,
}

/// `[checks.pre.dns]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheck {
    /// The name to resolve.
    pub name: String,
    /// Addresses that must be among the answers.
    #[serde(default)]
    pub expect: Vec<IpAddr>,
}

pub(crate) async fn tcp(check: &TcpCheck) -> Observation {
    let start = std::time::Instant::now();
    match tokio::net::TcpStream::connect((check.host.as_str(), check.port)).await {
        Ok(stream) => {
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            Observation::pass(format!("{}:{} accepts connections", check.host, check.port))
                .detail("peer", peer)
                .detail("connect", format!("{:?}", start.elapsed()))
        }
        Err(e) => Observation::unreachable(format!("{}:{}: {e}", check.host, check.port))
            .recommend("is the service running and the port open to this host?"),
    }
}

pub(crate) async fn dns(check: &DnsCheck) -> Observation {
    match tokio::net::lookup_host((check.name.as_str(), 0)).await {
        Ok(addrs) => {
            let found: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            let missing: Vec<String> = check
                .expect
                .iter()
                .filter(|e| !found.contains(e))
                .map(ToString::to_string)
                .collect();
            let list = found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if found.is_empty() {
                Observation::fail(format!("{} resolves to nothing", check.name))
                    .recommend("check the DNS records")
            } else if missing.is_empty() {
                Observation::pass(format!("{} resolves to {list}", check.name))
            } else {
                Observation::fail(format!(
                    "{} resolves to {list}, not to {}",
                    check.name,
                    missing.join(", ")
                ))
                .recommend("update the DNS records, or wait for the TTL to expire")
            }
        }
        Err(e) => Observation::unreachable(format!("{} does not resolve: {e}", check.name))
            .recommend("check the DNS records and resolver"),
    }
}
