use axum::routing::get;
use shipgate_report::Outcome;
use shipgate_testkit::Osmem;

use crate::{by_name, fixtures, run_checks};

#[tokio::test]
async fn osmem_is_green_and_indices_are_checked() {
    let es = Osmem::start().expect("osmem-server");
    // Create an index through the REST API.
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let put = http::Request::put(format!("{}/courses", es.url()))
        .body(bytes::Bytes::new())
        .unwrap();
    assert!(client.send(put).await.unwrap().status.is_success());
    let text = format!(
        r#"
[[checks.pre]]
name = "search"
elasticsearch = {{ url = "{url}", indices = ["courses"], accept = ["green", "yellow"] }}
[[checks.pre]]
name = "green only"
elasticsearch = {{ url = "{url}" }}
[[checks.pre]]
name = "missing index"
elasticsearch = {{ url = "{url}", indices = ["nope"] }}
"#,
        url = es.url()
    );
    let findings = run_checks(&text).await;
    let ok = by_name(&findings, "search");
    assert_eq!(ok.outcome, Outcome::Pass, "{ok:#?}");
    // One node cannot place replicas: with an index the cluster is yellow.
    assert_eq!(ok.details["status"], "yellow");
    let strict = by_name(&findings, "green only");
    assert_eq!(strict.outcome, Outcome::Fail);
    assert!(strict.message.contains("is yellow"), "{}", strict.message);
    let missing = by_name(&findings, "missing index");
    assert_eq!(missing.outcome, Outcome::Fail);
    assert!(
        missing.message.contains("index nope does not exist"),
        "{}",
        missing.message
    );
}

#[tokio::test]
async fn a_recorded_red_cluster_fails_and_an_optional_unreachable_one_warns() {
    let red =
        std::fs::read_to_string(fixtures().join("elasticsearch/cluster_health_red.json")).unwrap();
    let app = axum::Router::new()
        .route(
            "/_cluster/health",
            get(move || async move {
                (
                    [
                        ("content-type", "application/json"),
                        ("x-elastic-product", "Elasticsearch"),
                    ],
                    red,
                )
            }),
        )
        .route(
            "/",
            get(|| async {
                (
                    [
                        ("content-type", "application/json"),
                        ("x-elastic-product", "Elasticsearch"),
                    ],
                    r#"{"version":{"number":"8.15.0"}}"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let down = shipgate_testkit::RefusingPort::new().addr();
    let text = format!(
        r#"
[[checks.pre]]
name = "red"
elasticsearch = {{ url = "http://{addr}", accept = ["green", "yellow"] }}
[[checks.pre]]
name = "optional search"
optional = true
elasticsearch = {{ url = "http://{down}" }}
"#
    );
    let findings = run_checks(&text).await;
    let red = by_name(&findings, "red");
    assert_eq!(red.outcome, Outcome::Fail, "{red:#?}");
    assert!(
        red.message
            .contains("search-prod is red (4 unassigned shards)"),
        "{}",
        red.message
    );
    assert_eq!(red.details["version"], "8.15.0");
    assert_eq!(by_name(&findings, "optional search").outcome, Outcome::Warn);
}
