//! `Session`: a virtual user's own HTTP/1.1 connections, against nginx and against a
//! scripted server that answers with each framing and each way of failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use shipgate_http::{ClientConfig, ErrorKind, HttpClient, Session};
use shipgate_testkit::{BlackHole, CloseMidResponse, Nginx, RefusingPort};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn request(method: &str, url: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(url)
        .body(Bytes::new())
        .unwrap()
}

fn session(request_timeout: Duration) -> Session {
    Session::new(
        &HttpClient::new(&ClientConfig {
            request_timeout,
            connect_timeout: Duration::from_secs(2),
            ..ClientConfig::default()
        })
        .unwrap(),
    )
}

/// What the scripted server does for one request on a connection.
#[derive(Clone)]
enum Step {
    /// Reads a request head, writes these bytes.
    Answer(&'static str),
    /// Reads a request head, writes these bytes one at a time.
    Trickle(&'static str),
    /// Reads a request head, then closes without answering.
    CloseUnanswered,
}

/// A server that plays one script per accepted connection, in order, then closes it.
struct Scripted {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicUsize>,
    /// How many connections the server has closed (their sockets dropped).
    closed: tokio::sync::watch::Receiver<usize>,
}

impl Scripted {
    async fn start(scripts: Vec<Vec<Step>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let (closed_tx, closed) = tokio::sync::watch::channel(0);
        let closed_tx = Arc::new(closed_tx);
        tokio::spawn(async move {
            for script in scripts {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    play(stream, script).await;
                    // `play` dropped the stream: the FIN is on its way.
                    closed_tx.send_modify(|n| *n += 1);
                });
            }
        });
        Self {
            addr,
            accepted,
            closed,
        }
    }

    /// Waits until the server has closed `n` connections.
    async fn closed(&self, n: usize) {
        let mut closed = self.closed.clone();
        closed.wait_for(|c| *c >= n).await.unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn play(mut stream: TcpStream, script: Vec<Step>) {
    let mut seen = Vec::new();
    for step in script {
        // Read one request head.
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut buf = [0u8; 1024];
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        seen.drain(..end);
        match step {
            Step::Answer(bytes) => stream.write_all(bytes.as_bytes()).await.unwrap(),
            Step::Trickle(bytes) => {
                for b in bytes.as_bytes() {
                    stream.write_all(&[*b]).await.unwrap();
                    stream.flush().await.unwrap();
                    // tidy: pacing, not synchronisation (the response arrives in pieces).
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
            Step::CloseUnanswered => return,
        }
    }
}

const OK_HELLO: &str = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

#[tokio::test]
async fn keeps_one_connection_per_user_against_nginx() {
    let nginx = Nginx::builder()
        .file("hello.txt", "hello, world\n")
        .start()
        .unwrap();
    let url = format!("{}/hello.txt", nginx.url());
    let mut s = session(Duration::from_secs(5));
    for _ in 0..200 {
        let response = s.send(&request("GET", &url)).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(&response.body[..], b"hello, world\n");
        assert_eq!(response.header("content-type"), Some("text/plain"));
    }
    let missing = s
        .send(&request("GET", &format!("{}/nope", nginx.url())))
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    let head = s.send(&request("HEAD", &url)).await.unwrap();
    assert_eq!(head.header("content-length"), Some("13"));
    assert!(head.body.is_empty());
    assert_eq!(s.idle_connections(), 1);
    // The server sees exactly one established connection from us.
    let port_hex = format!(":{:04X}", nginx.port());
    let established = std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&port_hex) && cols[3] == "01"
        })
        .count();
    assert_eq!(
        established, 1,
        "202 requests over one keep-alive connection"
    );
}

#[tokio::test]
async fn reads_every_framing_on_one_connection() {
    let server = Scripted::start(vec![
        vec![
            Step::Answer(OK_HELLO),
            // Chunked, with a chunk extension and a trailer field.
            Step::Answer(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                 4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nx-trailer: t\r\n\r\n",
            ),
            Step::Answer("HTTP/1.1 204 No Content\r\nx-a: b\r\n\r\n"),
            // An interim 100 Continue before the real answer.
            Step::Answer(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
            ),
            Step::Answer("HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n"),
            // Arriving a byte at a time.
            Step::Trickle("HTTP/1.1 200 OK\r\ncontent-length: 7\r\nx-slow: yes\r\n\r\ntrickle"),
            // No length: the body runs to the close, and the connection ends.
            Step::Answer("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nto the end"),
        ],
        vec![Step::Answer(
            "HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nold",
        )],
        vec![Step::Answer(OK_HELLO)],
    ])
    .await;
    let mut s = session(Duration::from_secs(5));
    let mut get = async |path: &str| s.send(&request("GET", &server.url(path))).await.unwrap();
    assert_eq!(&get("/a").await.body[..], b"hello");
    assert_eq!(&get("/chunked").await.body[..], b"wikipedia");
    let no_content = get("/204").await;
    assert_eq!(
        (no_content.status.as_u16(), no_content.body.len()),
        (204, 0)
    );
    assert_eq!(no_content.header("x-a"), Some("b"));
    let created = get("/continue").await;
    assert_eq!(
        (created.status.as_u16(), &created.body[..]),
        (201, &b"ok"[..])
    );
    assert_eq!(get("/304").await.status, 304);
    let slow = get("/trickle").await;
    assert_eq!(
        (&slow.body[..], slow.header("x-slow")),
        (&b"trickle"[..], Some("yes"))
    );
    assert_eq!(server.accepted(), 1, "all of these on one connection");
    assert_eq!(&get("/close").await.body[..], b"to the end");
    // HTTP/1.0 without keep-alive: answered, then the connection is not reused.
    let old = get("/old").await;
    assert_eq!(
        (old.version, &old.body[..]),
        (http::Version::HTTP_10, &b"old"[..])
    );
    assert_eq!(&get("/again").await.body[..], b"hello");
    assert_eq!(server.accepted(), 3);
}

#[tokio::test]
async fn an_idle_connection_the_peer_dropped_is_replaced() {
    // The peer closes the connection after its one answer, while it sits idle: the
    // session sees the close before writing and connects again, for any method.
    let server = Scripted::start(vec![
        vec![Step::Answer(OK_HELLO)],
        vec![Step::Answer(OK_HELLO)],
    ])
    .await;
    let mut s = session(Duration::from_secs(5));
    s.send(&request("POST", &server.url("/1"))).await.unwrap();
    // The server has closed it (on loopback, the FIN is queued to us by the close).
    server.closed(1).await;
    let second = s.send(&request("POST", &server.url("/2"))).await.unwrap();
    assert_eq!(&second.body[..], b"hello");
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn a_request_lost_to_a_closing_peer_is_retried_only_when_idempotent() {
    // The peer reads the second request and closes without answering: a GET goes again
    // on a new connection, a POST fails (it may have taken effect).
    let script = || {
        vec![
            vec![Step::Answer(OK_HELLO), Step::CloseUnanswered],
            vec![Step::Answer(OK_HELLO)],
        ]
    };
    let server = Scripted::start(script()).await;
    let mut s = session(Duration::from_secs(5));
    s.send(&request("GET", &server.url("/1"))).await.unwrap();
    let again = s.send(&request("GET", &server.url("/2"))).await.unwrap();
    assert_eq!(&again.body[..], b"hello");
    assert_eq!(server.accepted(), 2);

    let server = Scripted::start(script()).await;
    let mut s = session(Duration::from_secs(5));
    s.send(&request("POST", &server.url("/1"))).await.unwrap();
    let err = s
        .send(&request("POST", &server.url("/2")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Reset, "{err}");
    assert!(err.to_string().contains("POST http://"), "{err}");
    assert_eq!(server.accepted(), 1, "a POST is never sent twice");
}

#[tokio::test]
async fn a_malformed_response_is_a_protocol_error_and_the_connection_is_dropped() {
    let server = Scripted::start(vec![
        vec![Step::Answer("HELLO THERE\r\n\r\n")],
        vec![Step::Answer("HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n")],
        vec![Step::Answer(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        )],
        vec![Step::Answer(OK_HELLO)],
    ])
    .await;
    let mut s = session(Duration::from_secs(5));
    for path in ["/garbage", "/length", "/chunk"] {
        let err = s
            .send(&request("GET", &server.url(path)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{path}: {err}");
        assert_eq!(s.idle_connections(), 0);
    }
    assert_eq!(
        &s.send(&request("GET", &server.url("/ok")))
            .await
            .unwrap()
            .body[..],
        b"hello"
    );
    assert_eq!(server.accepted(), 4);
}

#[tokio::test]
async fn faults_are_sorted_by_kind_and_bounded_in_time() {
    let refusing = RefusingPort::new();
    let err = session(Duration::from_secs(5))
        .send(&request("GET", &format!("http://{}/", refusing.addr())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");

    let mid = CloseMidResponse::start().unwrap();
    let err = session(Duration::from_secs(5))
        .send(&request("GET", &mid.url()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Reset, "{err}");

    let hole = BlackHole::start().unwrap();
    let start = Instant::now();
    let err = session(Duration::from_millis(300))
        .send(&request("GET", &format!("http://{}/", hole.addr())))
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
async fn http2_goes_through_the_pooled_client() {
    let nginx = Nginx::builder().http2().start().unwrap();
    let client = HttpClient::new(&ClientConfig {
        http2_prior_knowledge: true,
        ..ClientConfig::default()
    })
    .unwrap();
    let mut s = Session::new(&client);
    let response = s
        .send(&request("GET", &format!("{}/", nginx.url())))
        .await
        .unwrap();
    assert_eq!(response.version, http::Version::HTTP_2);
    assert_eq!(s.idle_connections(), 0);
}

/// The io error stays the cause, not part of the message: a chain printer shows it
/// once, and a caller can match on it. Both request paths (the keep-alive session for
/// plain HTTP/1.1, the pooled client) say the same.
#[tokio::test]
async fn a_refused_connection_keeps_the_io_error_as_its_source() {
    use std::error::Error as _;
    let refusing = RefusingPort::new();
    let url = format!("http://{}/", refusing.addr());
    let from_session = session(Duration::from_secs(5))
        .send(&request("GET", &url))
        .await
        .unwrap_err();
    let from_client = shipgate_http::HttpClient::new(&Default::default())
        .unwrap()
        .send(request("GET", &url))
        .await
        .unwrap_err();
    for err in [&from_session, &from_client] {
        assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
        let mut io = None;
        let mut cause = err.source();
        while let Some(c) = cause {
            io = io.or(c.downcast_ref::<std::io::Error>());
            cause = c.source();
        }
        let io = io.unwrap_or_else(|| panic!("no io::Error under {err:?}"));
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io}");
        assert!(
            !err.to_string().contains(&io.to_string()),
            "the message repeats its cause: {err}"
        );
    }
    // What was being done, and nothing of why: that is the source's.
    assert_eq!(
        from_session.to_string(),
        format!("GET {url}: connect to {}", refusing.addr())
    );
}
