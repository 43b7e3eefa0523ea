//! Shared helpers: the demo app on a free port, reading JSON from a URL.

use std::time::Duration;

use shipgate_demo_app::{App, Options};

/// A demo app served on 127.0.0.1; dropped with the runtime.
pub(crate) struct DemoApp {
    pub(crate) addr: std::net::SocketAddr,
}

impl DemoApp {
    pub(crate) async fn start(version: &str) -> Self {
        let app = App::build(Options {
            version: version.to_owned(),
            ..Options::default()
        })
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app.router()).await });
        Self { addr }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub(crate) fn client() -> shipgate_http::HttpClient {
    shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap()
}

pub(crate) async fn send(method: &str, url: &str, body: &str) -> (u16, serde_json::Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(bytes::Bytes::from(body.to_owned()))
        .unwrap();
    let r = client().send(request).await.unwrap();
    (
        r.status.as_u16(),
        serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

/// Keeps `url` busy with `per_second` requests until the returned handle is dropped.
pub(crate) fn traffic(url: String, per_second: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = client();
        let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
        loop {
            tick.tick().await;
            let request = http::Request::get(&url).body(bytes::Bytes::new()).unwrap();
            let _ = client.send(request).await;
        }
    })
}

/// A watch of `config` that records only: no notifier, hooks, files or metrics.
pub(crate) fn bare_watch(config: &shipgate_watch::WatchConfig) -> shipgate_watch::Watch<'_> {
    shipgate_watch::Watch {
        config,
        environment: "staging".into(),
        version: None,
        http: client(),
        clock: &shipgate_watch::SystemClock,
        notifier: None,
        rollback: None,
        mute: None,
        history: None,
        state_file: None,
        deployed_at: None,
        cancel: tokio_util::sync::CancellationToken::new(),
        metrics: None,
    }
}
