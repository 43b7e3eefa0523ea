//! Integration tests for shipgate-notify: real local receivers (an HTTP sink that
//! records requests and answers as scripted; aiosmtpd over STARTTLS).

mod alertmanager;
mod delivery;
mod email;
mod payloads;
mod quiet;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use shipgate_notify::{Notifier, NotifyConfig};

/// One request the sink received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<(u16, String)>,
}

/// An HTTP receiver: records every request, answers from a script, then 200 "ok".
#[derive(Clone)]
pub(crate) struct Sink {
    pub(crate) addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Sink {
    pub(crate) async fn start(script: &[(u16, &str)]) -> Sink {
        let inner = Arc::new(Mutex::new(Inner {
            received: Vec::new(),
            script: script.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        }));
        let app = axum::Router::new()
            .fallback(record)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { addr, inner }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

async fn record(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let mut inner = inner.lock().unwrap();
    inner.received.push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let (status, body) = inner.script.pop_front().unwrap_or((200, "ok".to_owned()));
    (StatusCode::from_u16(status).unwrap(), body)
}

pub(crate) fn config(text: &str) -> NotifyConfig {
    let doc = shipgate_config::Document::parse(
        "shipgate.toml",
        text,
        None,
        shipgate_config::Vars::default(),
    )
    .unwrap();
    doc.section("notify")
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap()
}

pub(crate) fn notifier(text: &str, dir: &std::path::Path) -> Notifier {
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap();
    Notifier::new(config(text), client, dir.to_owned()).unwrap()
}
