//! Integration tests for shipgate-load: against custom tasks (exact counts), the demo
//! app (in-process and as a real process) and the testkit's faults.

mod classes;
mod fake;
mod html;
mod model;
mod stress;
mod targets;

use std::net::SocketAddr;
use std::time::Duration;

use shipgate_load::{LoadConfig, Plan};

pub(crate) fn plan(text: &str) -> Plan {
    let doc = shipgate_config::Document::parse(
        "shipgate.toml",
        text,
        None,
        shipgate_config::Vars::default(),
    )
    .unwrap();
    let cfg: LoadConfig = doc
        .section("load")
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap();
    Plan::from_config(&cfg).unwrap()
}

pub(crate) fn client(timeout: Duration) -> shipgate_http::HttpClient {
    shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: timeout,
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .unwrap()
}

pub(crate) async fn demo(options: shipgate_demo_app::Options) -> SocketAddr {
    let app = shipgate_demo_app::App::build(options).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    addr
}
