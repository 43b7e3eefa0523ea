//! An HTTP probe: `status`, `latency`, `up`.

use std::collections::BTreeMap;

use bytes::Bytes;
use shipgate_http::{Assertion, ErrorKind, HttpClient};

use crate::sample::{Missing, Reading};

pub(crate) async fn probe(
    client: &HttpClient,
    url: &str,
    expect: u16,
    asserts: &[Assertion],
) -> BTreeMap<String, Reading> {
    let mut out = BTreeMap::new();
    let request = match http::Request::get(url).body(Bytes::new()) {
        Ok(r) => r,
        Err(e) => {
            let why = Reading::none(Missing::Error, format!("the URL is not valid: {e}"));
            for f in ["status", "latency", "up"] {
                out.insert(f.to_owned(), why.clone());
            }
            return out;
        }
    };
    match client.send(request).await {
        Ok(response) => {
            let status = response.status.as_u16();
            let failed = asserts.iter().find_map(|a| a.check(&response).err());
            out.insert("status".to_owned(), Reading::Value(f64::from(status)));
            out.insert(
                "latency".to_owned(),
                Reading::Value(response.elapsed.as_secs_f64()),
            );
            let up = status == expect && failed.is_none();
            out.insert("up".to_owned(), Reading::Value(if up { 1.0 } else { 0.0 }));
        }
        Err(e) => {
            let missing = if e.kind() == ErrorKind::Timeout {
                Missing::Timeout
            } else {
                Missing::Error
            };
            // The client's message may hold the URL (and a token in it): keep the kind.
            let why = Reading::none(missing, format!("no answer: {:?}", e.kind()));
            out.insert("status".to_owned(), why.clone());
            out.insert("latency".to_owned(), why);
            out.insert("up".to_owned(), Reading::Value(0.0));
        }
    }
    out
}
