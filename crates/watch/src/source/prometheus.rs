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

pub(crate) async fn sample(
    client: &HttpClient,
    base: &str,
    queries: &BTreeMap<String, String>,
) -> BTreeMap<String, Reading> {
    let mut out = BTreeMap::new();
    for (name, promql) in queries {
        out.insert(name.clone(), query(client, base, promql).await);
    }
    out
}

async fn query(client: &HttpClient, base: &str, promql: &str) -> Reading {
    let request = match http::Request::get(query_url(base, promql)).body(Bytes::new()) {
        Ok(r) => r,
        Err(e) => return Reading::none(Missing::Error, format!("the URL is not valid: {e}")),
    };
    match client.send(request).await {
        Ok(response) => match serde_json::from_slice::<Value>(&response.body) {
            Ok(json) => parse_result(&json),
            Err(_) => Reading::none(
                Missing::Error,
                format!(
                    "answered {} without a Prometheus JSON body",
                    response.status.as_u16()
                ),
            ),
        },
        Err(e) if e.kind() == ErrorKind::Timeout => {
            Reading::none(Missing::Timeout, "Prometheus did not answer in time")
        }
        Err(e) => Reading::none(
            Missing::Error,
            format!("Prometheus unreachable: {:?}", e.kind()),
        ),
    }
}

/// A query's answer as one reading: a scalar, or a vector of exactly one series.
pub fn parse_result(json: &Value) -> Reading {
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let why = json["error"].as_str().unwrap_or("no message");
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
                missing: Missing::Error,
                message,
            } => {
                assert!(message.contains("bad_data: parse error"), "{message}");
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
