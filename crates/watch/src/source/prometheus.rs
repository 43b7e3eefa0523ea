//! PromQL instant queries over `/api/v1/query`. An empty vector, a NaN, an error
//! answer and an unreachable server are kept apart: none of them is a value.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;
use shipgate_http::{ErrorKind, HttpClient};

use crate::sample::{Missing, Reading};

/// `base/api/v1/query?query=<percent-encoded PromQL>`.
pub fn query_url(base: &str, promql: &str) -> String {
    let mut out = format!("{}/api/v1/query?query=", base.trim_end_matches('/'));
    for b in promql.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a Prometheus is and how to prove who we are: the base URL without
/// credentials, and the `Authorization` header (Basic from the URL's userinfo, or a
/// bearer token). Debug never shows the header.
#[derive(Clone)]
pub struct Endpoint {
    base: String,
    authorization: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl Endpoint {
    /// `url` (`https://user:pass@prometheus:9090/`), with `bearer` when given: the
    /// userinfo becomes Basic auth (percent-decoded), as Prometheus's own HTTP client
    /// sends `basic_auth`; it is never put on the wire in the URL.
    pub fn new(url: &str, bearer: Option<&str>) -> Self {
        let (mut base, mut authorization) = (url.trim_end_matches('/').to_owned(), None);
        if let Some((scheme, rest)) = url.split_once("://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if let Some((userinfo, host)) = authority.rsplit_once('@') {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                use base64::Engine as _;
                let pair = format!("{}:{}", decode(user), decode(password));
                authorization = Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ));
                base = format!("{scheme}://{host}{path}")
                    .trim_end_matches('/')
                    .to_owned();
            }
        }
        if let Some(token) = bearer {
            authorization = Some(format!("Bearer {token}"));
        }
        Self {
            base,
            authorization,
        }
    }

    /// The base URL, without credentials.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, url: String) -> Result<http::Request<Bytes>, http::Error> {
        let mut request = http::Request::get(url);
        if let Some(a) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, a);
        }
        request.body(Bytes::new())
    }
}

pub(crate) async fn sample(
    client: &HttpClient,
    endpoint: &Endpoint,
    queries: &BTreeMap<String, String>,
) -> BTreeMap<String, Reading> {
    let mut out = BTreeMap::new();
    for (name, promql) in queries {
        out.insert(name.clone(), query(client, endpoint, promql).await);
    }
    out
}

/// Asks Prometheus to evaluate `promql` once: `Err` with its message when it rejects
/// the query as invalid (`bad_data`), `Ok` otherwise (a value, an empty result, or a
/// server that cannot be asked now: none of those is the query's fault).
pub(crate) async fn check_query(
    client: &HttpClient,
    endpoint: &Endpoint,
    promql: &str,
) -> Result<Reading, String> {
    match query(client, endpoint, promql).await {
        Reading::NoData {
            missing: Missing::Broken,
            message,
        } if message.starts_with(INVALID) => Err(message),
        other => Ok(other),
    }
}

const INVALID: &str = "Prometheus rejects the query";

async fn query(client: &HttpClient, endpoint: &Endpoint, promql: &str) -> Reading {
    let request = match endpoint.get(query_url(endpoint.base(), promql)) {
        Ok(r) => r,
        Err(e) => return Reading::none(Missing::Broken, format!("the URL is not valid: {e}")),
    };
    let response = match client.send(request).await {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::Timeout => {
            return Reading::none(Missing::Timeout, "Prometheus did not answer in time");
        }
        Err(e) => {
            return Reading::none(
                Missing::Error,
                format!(
                    "Prometheus unreachable at {}: {}",
                    endpoint.base(),
                    shipgate_report::error_line(&e)
                ),
            );
        }
    };
    let status = response.status.as_u16();
    match status {
        401 | 403 => {
            let hint = if endpoint.authorization.is_some() {
                "check the credentials in the URL or `bearer_token`"
            } else {
                "give credentials in the URL (https://user:password@host/) or `bearer_token`"
            };
            return Reading::none(
                Missing::Broken,
                format!(
                    "the source is broken: Prometheus refused our credentials ({status}); {hint}"
                ),
            );
        }
        404 => {
            return Reading::none(
                Missing::Broken,
                format!(
                    "the source is broken: {} has no Prometheus API (404 for /api/v1/query); the URL must be the server's base, as http://host:9090",
                    endpoint.base()
                ),
            );
        }
        _ => {}
    }
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(json) => parse_result(&json),
        Err(_) => Reading::none(
            Missing::Error,
            format!("answered {status} without a Prometheus JSON body"),
        ),
    }
}

/// A query's answer as one reading: a scalar, or a vector of exactly one series.
pub fn parse_result(json: &Value) -> Reading {
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let why = json["error"].as_str().unwrap_or("no message");
        if kind == "bad_data" {
            return Reading::none(Missing::Broken, format!("{INVALID}: {why}"));
        }
        return Reading::none(Missing::Error, format!("Prometheus: {kind}: {why}"));
    }
    let data = &json["data"];
    let point = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => {
            let series = data["result"].as_array().map_or(&[][..], Vec::as_slice);
            match series {
                [] => return Reading::none(Missing::Empty, "the query returned no series"),
                [one] => &one["value"],
                many => {
                    return Reading::none(
                        Missing::Error,
                        format!(
                            "the query returned {} series; aggregate it to one (sum, max, ...)",
                            many.len()
                        ),
                    );
                }
            }
        }
        Some(other) => {
            return Reading::none(
                Missing::Error,
                format!("the query returned a {other}; write an instant query giving one number"),
            );
        }
        None => return Reading::none(Missing::Error, "the answer has no resultType"),
    };
    match point[1].as_str().map(str::parse::<f64>) {
        Some(Ok(v)) if v.is_nan() => Reading::none(Missing::Empty, "the query returned NaN"),
        Some(Ok(v)) => Reading::Value(v),
        _ => Reading::none(Missing::Error, "the answer's value is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_values_or_named_absences() {
        let one = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.0,"0.25"]}]}});
        assert_eq!(parse_result(&one), Reading::Value(0.25));
        let scalar = json!({"status":"success","data":{"resultType":"scalar","result":[1.0,"3"]}});
        assert_eq!(parse_result(&scalar), Reading::Value(3.0));
        let empty = json!({"status":"success","data":{"resultType":"vector","result":[]}});
        assert!(matches!(
            parse_result(&empty),
            Reading::NoData {
                missing: Missing::Empty,
                ..
            }
        ));
        let nan = json!({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.0,"NaN"]}]}});
        assert!(matches!(
            parse_result(&nan),
            Reading::NoData {
                missing: Missing::Empty,
                ..
            }
        ));
        let two = json!({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]}});
        assert!(matches!(
            parse_result(&two),
            Reading::NoData {
                missing: Missing::Error,
                ..
            }
        ));
        let bad = json!({"status":"error","errorType":"bad_data","error":"parse error"});
        match parse_result(&bad) {
            Reading::NoData {
                missing: Missing::Broken,
                message,
            } => {
                assert!(
                    message.contains("rejects the query: parse error"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            query_url("http://p:9090/", "sum(rate(x{a=\"b\"}[1m]))"),
            "http://p:9090/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29"
        );
    }
}
