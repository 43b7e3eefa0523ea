//! Integration tests for shipgate-http against the demo app and the testkit's faults.

mod client;
mod expressions;
mod scenario;
mod session;

use std::net::SocketAddr;

use shipgate_demo_app::{App, Options};

/// Serves the demo app on a free loopback port for the rest of the test.
pub(crate) async fn demo(options: Options) -> SocketAddr {
    let app = App::build(options).await.expect("demo app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    addr
}
