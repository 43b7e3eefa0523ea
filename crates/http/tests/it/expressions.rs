use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use shipgate_http::{Assertion, Capture, ErrorKind, Response};

fn response(status: u16, headers: &[(&str, &str)], body: &str, elapsed_ms: u64) -> Response {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Response::new(
        StatusCode::from_u16(status).unwrap(),
        Version::HTTP_11,
        map,
        Bytes::from(body.to_owned()),
        Duration::from_millis(elapsed_ms),
    )
}

#[test]
fn assertions_hold_or_say_what_was_found() {
    let r = response(
        200,
        &[
            ("content-type", "application/json"),
            ("x-frame-options", "DENY"),
            ("set-cookie", "session=abc; HttpOnly"),
        ],
        r#"{"count": 3, "user": "demo", "tags": ["a", "b"], "nested": {"ok": true}}"#,
        120,
    );
    let holds = [
        "status == 200",
        "status < 400",
        "json $.count >= 1",
        "json $.count == 3",
        r#"json $.user == "demo""#,
        "json $.user contains dem",
        r#"json $.tags contains "b""#,
        "json $.nested.ok == true",
        "json $.missing not_exists",
        "json $.user exists",
        "header content-type contains json",
        r#"header X-Frame-Options == "DENY""#,
        "header x-frame-options exists",
        "header strict-transport-security not_exists",
        r#"body matches "count.: \d""#,
        r#"body contains "demo""#,
        "latency < 500ms",
        "latency >= 100ms",
    ];
    for text in holds {
        let a = Assertion::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(a.check(&r).is_ok(), "{text}: {:?}", a.check(&r));
    }
    let fails = [
        ("status == 201", "found 200"),
        ("json $.count > 3", "found 3"),
        ("json $.missing exists", "found nothing"),
        ("header strict-transport-security exists", "found nothing"),
        ("latency < 100ms", "found 120ms"),
        (r#"json $.user == "root""#, "found \"demo\""),
    ];
    for (text, found) in fails {
        let err = Assertion::parse(text).unwrap().check(&r).unwrap_err();
        assert!(err.contains(found), "{text}: {err}");
    }
}

#[test]
fn malformed_expressions_are_rejected_when_parsed() {
    for bad in [
        "",
        "stauts == 200",
        "status",
        "status === 200",
        "status == ok",
        "json",
        "json $.a[x] == 1",
        "json $.a == unquoted",
        "latency < fast",
        "status exists",
        "body matches \"(unclosed\"",
        "status == 200 extra",
        "header \"unterminated",
    ] {
        let err = Assertion::parse(bad).expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::InvalidExpression, "{bad}");
    }
    for bad in [
        "",
        "json",
        "xml $.a",
        "regex \"(\"",
        "status extra",
        "header",
    ] {
        assert_eq!(
            Capture::parse(bad).expect_err(bad).kind(),
            ErrorKind::InvalidExpression,
            "{bad}"
        );
    }
}

#[test]
fn captures_read_json_headers_cookies_regex_and_status() {
    let r = response(
        201,
        &[
            ("x-app-version", "green"),
            ("set-cookie", "session=s3; Path=/"),
        ],
        r#"{"token": "t-1", "n": 5}"#,
        1,
    );
    let cap = |t: &str| Capture::parse(t).unwrap().apply(&r);
    assert_eq!(cap("json $.token").as_deref(), Some("t-1"));
    assert_eq!(cap("json $.n").as_deref(), Some("5"));
    assert_eq!(cap("header X-App-Version").as_deref(), Some("green"));
    assert_eq!(cap("cookie session").as_deref(), Some("s3"));
    assert_eq!(cap(r#"regex "token.: .(t-\d)""#).as_deref(), Some("t-1"));
    assert_eq!(cap("status").as_deref(), Some("201"));
    assert_eq!(cap("json $.nope"), None);
}
