use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use shipgate_testkit::{BlackHole, CloseMidResponse, PARTIAL_BODY, RefusingPort};

#[test]
fn a_refusing_port_refuses() {
    let port = RefusingPort::new();
    let err = TcpStream::connect(port.addr()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn a_black_hole_accepts_and_never_answers() {
    let hole = BlackHole::start().unwrap();
    let mut stream = TcpStream::connect(hole.addr()).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 16];
    let err = stream
        .read(&mut buf)
        .expect_err("a black hole must not answer");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(hole.accepted(), 1);
}

#[test]
fn close_mid_response_sends_a_truncated_body_then_closes() {
    let server = CloseMidResponse::start().unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"));
    assert!(text.contains("Content-Length: 1000"));
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body.as_bytes(),
        PARTIAL_BODY,
        "fewer bytes than promised, then EOF"
    );
    assert_eq!(server.accepted(), 1);
}
