//! A complete response. Its header map is built on first use: a load test's request
//! that asserts on the status only never pays for one.

use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

/// A complete response: status, headers, the whole body, and how long it took.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The protocol version spoken.
    pub version: Version,
    /// The body, read to the end.
    pub body: Bytes,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
    headers: Headers,
}

#[derive(Debug, Clone)]
struct Headers {
    /// An HTTP/1.1 head as received (already validated), parsed again on first use.
    raw: Option<Bytes>,
    map: OnceLock<HeaderMap>,
    sets_cookies: bool,
}

impl Response {
    /// A response with these parts.
    pub fn new(
        status: StatusCode,
        version: Version,
        headers: HeaderMap,
        body: Bytes,
        elapsed: Duration,
    ) -> Self {
        let sets_cookies = headers.contains_key(http::header::SET_COOKIE);
        Self {
            status,
            version,
            body,
            elapsed,
            headers: Headers {
                raw: None,
                map: OnceLock::from(headers),
                sets_cookies,
            },
        }
    }

    /// A response whose header fields are those of `head` (a complete HTTP/1.x response
    /// head that httparse accepted and whose values are valid `HeaderValue`s).
    pub(crate) fn from_head(
        status: StatusCode,
        version: Version,
        head: Bytes,
        sets_cookies: bool,
        body: Bytes,
        elapsed: Duration,
    ) -> Self {
        Self {
            status,
            version,
            body,
            elapsed,
            headers: Headers {
                raw: Some(head),
                map: OnceLock::new(),
                sets_cookies,
            },
        }
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.map.get_or_init(|| {
            self.headers
                .raw
                .as_ref()
                .map(header_map)
                .unwrap_or_default()
        })
    }

    /// Whether any `Set-Cookie` field came (known without building the header map).
    pub fn sets_cookies(&self) -> bool {
        self.headers.sets_cookies
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }
}

/// The header map of a head that parsed before; values are slices of `head`.
fn header_map(head: &Bytes) -> HeaderMap {
    let mut slots: Vec<MaybeUninit<httparse::Header<'_>>> = (0..crate::h1::MAX_HEADERS)
        .map(|_| MaybeUninit::uninit())
        .collect();
    let mut response = httparse::Response::new(&mut []);
    let mut map = HeaderMap::new();
    if httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut response, head, &mut slots)
        .is_err()
    {
        return map;
    }
    let base = head.as_ptr() as usize;
    map.reserve(response.headers.len());
    for header in response.headers.iter() {
        let from = header.value.as_ptr() as usize - base;
        let value = head.slice(from..from + header.value.len());
        // Both were checked when the response was read; nothing is dropped here.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_maybe_shared(value),
        ) {
            map.append(name, value);
        }
    }
    map
}
