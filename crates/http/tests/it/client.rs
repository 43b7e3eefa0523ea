use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use shipgate_demo_app::Options;
use shipgate_http::{ClientConfig, ErrorKind, HttpClient, Roots};
use shipgate_testkit::{BlackHole, CloseMidResponse, RefusingPort};
use tower::ServiceExt;

fn get(url: &str) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

fn client(request_timeout: Duration) -> HttpClient {
    HttpClient::new(&ClientConfig {
        request_timeout,
        connect_timeout: Duration::from_secs(2),
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn fetches_a_json_response_as_a_tower_service() {
    let addr = crate::demo(Options::default()).await;
    let response = client(Duration::from_secs(5))
        .oneshot(get(&format!("http://{addr}/health")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json().unwrap()["status"], "ok");
    assert_eq!(response.header("x-app-version"), Some("v1"));
    assert!(response.elapsed > Duration::ZERO);
}

#[tokio::test]
async fn reuses_keep_alive_connections() {
    let addr = crate::demo(Options::default()).await;
    let c = client(Duration::from_secs(5));
    for _ in 0..50 {
        assert_eq!(
            c.send(get(&format!("http://{addr}/static/app.css")))
                .await
                .unwrap()
                .status,
            200
        );
    }
    // The pool holds the connection open: the server sees one established client socket.
    let established = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port_hex = format!(":{:04X}", addr.port());
    let count = established
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&port_hex) && cols[3] == "01"
        })
        .count();
    assert_eq!(
        count, 1,
        "one keep-alive connection for 50 sequential requests"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let port = RefusingPort::new();
    let err = client(Duration::from_secs(5))
        .send(get(&format!("http://{}/", port.addr())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn a_black_hole_times_out_instead_of_hanging() {
    let hole = BlackHole::start().unwrap();
    let start = Instant::now();
    let err = client(Duration::from_millis(300))
        .send(get(&format!("http://{}/", hole.addr())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_a_reset() {
    let server = CloseMidResponse::start().unwrap();
    let err = client(Duration::from_secs(5))
        .send(get(&server.url()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Reset, "{err}");
}

#[test]
fn a_bad_ca_bundle_is_a_config_error() {
    let err = HttpClient::new(&ClientConfig {
        roots: Roots::Pem("not a certificate".into()),
        ..ClientConfig::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn speaks_http2_by_prior_knowledge() {
    let nginx = shipgate_testkit::Nginx::builder().http2().start().unwrap();
    let h2 = HttpClient::new(&ClientConfig {
        http2_prior_knowledge: true,
        ..ClientConfig::default()
    })
    .unwrap();
    let response = h2.send(get(&format!("{}/", nginx.url()))).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.version, http::Version::HTTP_2);
    assert!(response.text().contains("shipgate testkit nginx"));
}
