//! An HTTP endpoint: status, latency, headers (security headers and cookies too),
//! body assertions, redirect to HTTPS.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use shipgate_http::{Assertion, SetCookie};

use crate::Context;
use crate::observation::Observation;

fn get() -> String {
    "GET".to_owned()
}

/// One status or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    /// `status = 200`
    One(u16),
    /// `status = [200, 204]`
    Many(Vec<u16>),
}

impl Default for Statuses {
    fn default() -> Self {
        Statuses::One(200)
    }
}

impl Statuses {
    fn contains(&self, s: u16) -> bool {
        match self {
            Statuses::One(x) => *x == s,
            Statuses::Many(xs) => xs.contains(&s),
        }
    }
}

/// `[checks.post.http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The URL.
    pub url: String,
    /// The method.
    #[serde(default = "get")]
    pub method: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Acceptable statuses (default 200).
    #[serde(default)]
    pub status: Statuses,
    /// Slowest acceptable response.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub max_latency: Option<Duration>,
    /// Response headers that must be present, with a value they must contain (`""`: any).
    #[serde(default)]
    pub expect_headers: BTreeMap<String, String>,
    /// Require HSTS, `X-Content-Type-Options: nosniff`, `X-Frame-Options` and `Referrer-Policy`.
    #[serde(default)]
    pub security_headers: bool,
    /// Require every cookie set to be `Secure` and `HttpOnly`.
    #[serde(default)]
    pub secure_cookies: bool,
    /// Assertions on the response (`json $.status == "ok"`, ...).
    #[serde(default, rename = "assert")]
    pub asserts: Vec<Assertion>,
    /// The URL is `http://` and must redirect to the same place over `https://`.
    #[serde(default)]
    pub https_redirect: bool,
}

const SECURITY_HEADERS: &[(&str, &str, &str)] = &[
    (
        "strict-transport-security",
        "max-age",
        "Django: SECURE_HSTS_SECONDS (W004)",
    ),
    (
        "x-content-type-options",
        "nosniff",
        "Django: SECURE_CONTENT_TYPE_NOSNIFF (W006)",
    ),
    (
        "x-frame-options",
        "",
        "Django: XFrameOptionsMiddleware (W002)",
    ),
    (
        "referrer-policy",
        "",
        "Django: SECURE_REFERRER_POLICY (W022)",
    ),
];

pub(crate) async fn observe(check: &HttpCheck, ctx: &Context) -> Observation {
    let mut builder = http::Request::builder()
        .method(check.method.as_str())
        .uri(check.url.as_str());
    for (k, v) in &check.headers {
        builder = builder.header(k, v);
    }
    let request = match builder.body(check.body.clone().map(Bytes::from).unwrap_or_default()) {
        Ok(r) => r,
        Err(e) => {
            return Observation::fail(format!("{} {}: {e}", check.method, check.url))
                .recommend("fix the URL, method or headers");
        }
    };
    let response = match ctx.http.send(request).await {
        Ok(r) => r,
        Err(e) => {
            return Observation::unreachable(shipgate_report::error_line(&e)).recommend(
                "is the service up and reachable from here? check DNS, firewall and TLS",
            );
        }
    };
    let mut problems = Vec::new();
    let status = response.status.as_u16();
    if check.https_redirect {
        let location = response.header("location").unwrap_or_default();
        if !matches!(status, 301 | 302 | 307 | 308) || !location.starts_with("https://") {
            problems.push(
                Observation::fail(format!(
                    "{} answers {status}, not a redirect to HTTPS (location: {location:?})",
                    check.url
                ))
                .recommend("redirect plain HTTP to HTTPS (Django: SECURE_SSL_REDIRECT, W008)"),
            );
        } else if !same_place(&check.url, location) {
            // The port may differ (80 to 443): same host and path is what matters.
            problems.push(Observation::warn(format!(
                "redirects to {location}, another host or path than {}",
                check.url
            )));
        }
    } else if !check.status.contains(status) {
        problems.push(
            Observation::fail(format!(
                "status {status}, expected {:?}: {}",
                check.status,
                snippet(&response.text())
            ))
            .recommend("look at the service's logs for this request"),
        );
    }
    if let Some(limit) = check.max_latency
        && response.elapsed > limit
    {
        problems.push(
            Observation::fail(format!(
                "answered in {:?}, over the {limit:?} limit",
                response.elapsed
            ))
            .recommend("profile the endpoint or its dependencies"),
        );
    }
    for (name, contains) in &check.expect_headers {
        match response.header(name) {
            None => problems.push(Observation::fail(format!("header {name} is missing"))),
            Some(v)
                if !v
                    .to_ascii_lowercase()
                    .contains(&contains.to_ascii_lowercase()) =>
            {
                problems.push(Observation::fail(format!(
                    "header {name} is {v:?}, expected it to contain {contains:?}"
                )));
            }
            _ => {}
        }
    }
    if check.security_headers {
        for (name, contains, hint) in SECURITY_HEADERS {
            match response.header(name) {
                None => problems.push(
                    Observation::fail(format!("security header {name} is missing"))
                        .recommend(format!("set it ({hint})")),
                ),
                Some(v) if !v.to_ascii_lowercase().contains(contains) => {
                    problems.push(
                        Observation::fail(format!("security header {name} is {v:?}"))
                            .recommend(format!("fix it ({hint})")),
                    );
                }
                _ => {}
            }
        }
    }
    if check.secure_cookies {
        for cookie in SetCookie::all(response.headers()) {
            let mut missing = Vec::new();
            if !cookie.secure {
                missing.push("Secure");
            }
            if !cookie.http_only {
                missing.push("HttpOnly");
            }
            if !missing.is_empty() {
                problems.push(
                    Observation::fail(format!("cookie {} is not {}", cookie.name, missing.join(" or ")))
                        .recommend("Django: SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, SESSION_COOKIE_HTTPONLY (W012, W016, W013)"),
                );
            }
        }
    }
    for assertion in &check.asserts {
        if let Err(why) = assertion.check(&response) {
            problems.push(Observation::fail(why));
        }
    }
    let summary = format!(
        "{} {} → {status} in {:?}",
        check.method, check.url, response.elapsed
    );
    Observation::combine(problems, &summary)
        .detail("status", status)
        .detail("latency", format!("{:?}", response.elapsed))
}

/// Whether two URLs name the same host and path (ports and schemes aside).
fn same_place(a: &str, b: &str) -> bool {
    match (a.parse::<http::Uri>(), b.parse::<http::Uri>()) {
        (Ok(a), Ok(b)) => {
            a.host() == b.host()
                && a.path_and_query().map(|p| p.as_str()) == b.path_and_query().map(|p| p.as_str())
        }
        _ => false,
    }
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    if t.len() > 160 {
        format!("{}…", &t[..t.floor_char_boundary(160)])
    } else {
        t.to_owned()
    }
}
