//! A bare HTTP/1.1 connection, owned by one virtual user (plain `http://` only).
//!
//! The pooled hyper client hands each request to a connection task and back: a pool
//! checkout, two task wake-ups and a channel per request. A load generator's user owns
//! its connection outright, as wrk's and Locust's do, so here the request is encoded
//! into a reused buffer and written with one `write`, and the response is read into a
//! reused buffer and parsed in place with httparse, all in the user's own task. The
//! response's header values and body are slices of that buffer, not copies.
//!
//! Framing follows RFC 9112 §6: no body for `HEAD`, 1xx, 204 and 304; `chunked` as the
//! last transfer coding; else `Content-Length`; else the body runs to the close.
//! Interim 1xx responses are skipped. A connection is kept only when the response
//! allows it (`Connection: close`, HTTP/1.0 without `keep-alive`, a close-delimited
//! body and stray bytes after the response all end it).

use std::io;
use std::mem::MaybeUninit;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{Method, Request, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use crate::{Error, ErrorKind, Response};

/// Read buffer size; grown as a response needs.
const READ_CHUNK: usize = 16 * 1024;
/// Header slots tried first; a response with more is parsed again with `MAX_HEADERS`.
const FEW_HEADERS: usize = 64;
pub(crate) const MAX_HEADERS: usize = 1024;

/// One keep-alive connection and its buffers.
pub(crate) struct Conn {
    stream: TcpStream,
    read: BytesMut,
    write: Vec<u8>,
    /// Responses read on this connection.
    served: u64,
}

/// How an exchange failed.
pub(crate) struct Failed {
    pub(crate) error: Error,
    /// No byte of a response arrived on a connection that had served before: the peer
    /// closed it while it sat idle, so an idempotent request may go again on a new one.
    pub(crate) stale: bool,
}

/// A parsed response head, with the framing facts read off its raw fields.
#[derive(Debug, Default)]
struct Head {
    len: usize,
    status: StatusCode,
    version: Version,
    /// `Content-Length`: `Some(Err)` when a value is invalid or two disagree.
    content_length: Option<Result<usize, ()>>,
    /// `Transfer-Encoding` is present; `chunked` is its last coding.
    transfer_encoding: bool,
    chunked: bool,
    /// `Connection` tokens.
    close: bool,
    keep_alive: bool,
    /// A `Set-Cookie` field is present.
    sets_cookies: bool,
}

impl Conn {
    /// Connects to `host:port` (`host` as in a URI: an IPv6 literal in brackets).
    pub(crate) async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Self, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let stream = match tokio::time::timeout(timeout, TcpStream::connect((bare, port))).await {
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connect to {host}:{port}: no connection within {timeout:?}"),
                ));
            }
            Ok(Err(e)) => {
                let kind = if e.kind() == io::ErrorKind::TimedOut {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Connect
                };
                return Err(Error::with_source(
                    kind,
                    format!("connect to {host}:{port}"),
                    e,
                ));
            }
            Ok(Ok(stream)) => stream,
        };
        stream
            .set_nodelay(true)
            .map_err(|e| Error::with_source(ErrorKind::Connect, "set TCP_NODELAY", e))?;
        Ok(Self {
            stream,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: Vec::with_capacity(1024),
            served: 0,
        })
    }

    /// Whether an idle connection may be used again: the peer has neither closed it nor
    /// sent anything unasked. A system call only when the socket has become readable.
    pub(crate) fn idle_ok(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Sends `request` and reads the whole response. `Ok((response, keep))`: `keep`
    /// says whether the connection may carry another request.
    pub(crate) async fn exchange(
        &mut self,
        request: &Request<Bytes>,
        start: Instant,
    ) -> Result<(Response, bool), Failed> {
        let reused = self.served > 0;
        encode(&mut self.write, request);
        if let Err(e) = self.stream.write_all(&self.write).await {
            return Err(Failed {
                error: io_error("sending the request", e),
                stale: reused,
            });
        }
        let head_only = request.method() == Method::HEAD;
        let mut received = false;
        let head = loop {
            match self.parse_head() {
                Err(error) => {
                    return Err(Failed {
                        error,
                        stale: false,
                    });
                }
                Ok(None) => match self.fill().await {
                    Ok(0) => {
                        let error = Error::new(
                            ErrorKind::Reset,
                            if received {
                                "the connection closed in the middle of the response head"
                            } else {
                                "the connection closed before a response"
                            },
                        );
                        return Err(Failed {
                            error,
                            stale: reused && !received,
                        });
                    }
                    Ok(_) => received = true,
                    Err(e) => {
                        return Err(Failed {
                            error: io_error("reading the response", e),
                            stale: reused && !received,
                        });
                    }
                },
                // An interim response (100 Continue, 103 Early Hints): the real one follows.
                Ok(Some(head)) if head.status.is_informational() && head.status.as_u16() != 101 => {
                    self.read.advance(head.len);
                }
                Ok(Some(head)) => break head,
            }
        };
        self.respond(head, head_only, start)
            .await
            .map_err(|error| Failed {
                error,
                stale: false,
            })
    }

    /// Reads the body that goes with `head` and assembles the response.
    async fn respond(
        &mut self,
        head: Head,
        head_only: bool,
        start: Instant,
    ) -> Result<(Response, bool), Error> {
        let bytes = self.read.split_to(head.len).freeze();
        let mut keep = if head.version == Version::HTTP_11 {
            !head.close
        } else {
            head.keep_alive
        };
        let code = head.status.as_u16();
        let body = if head_only || code == 204 || code == 304 || code == 101 {
            keep &= code != 101;
            Bytes::new()
        } else if head.transfer_encoding {
            if head.chunked {
                self.read_chunked().await?
            } else {
                keep = false;
                self.read_to_close().await?
            }
        } else if let Some(length) = head.content_length {
            let length = length
                .map_err(|()| protocol("invalid or conflicting content-length".to_owned()))?;
            self.read_exactly(length).await?
        } else {
            keep = false;
            self.read_to_close().await?
        };
        // No pipelining: anything past the response is a broken peer.
        keep &= self.read.is_empty();
        if keep {
            self.quiet();
        }
        self.served += 1;
        // The header map is built from `bytes` only if someone asks for it.
        let response = Response::from_head(
            head.status,
            head.version,
            bytes,
            head.sets_cookies,
            body,
            start.elapsed(),
        );
        Ok((response, keep))
    }

    /// Parses a complete head from the read buffer, if one is there.
    fn parse_head(&mut self) -> Result<Option<Head>, Error> {
        if self.read.is_empty() {
            return Ok(None);
        }
        // Uninitialised slots: httparse fills only what it finds (no 2 KiB memset).
        let mut few = [const { MaybeUninit::uninit() }; FEW_HEADERS];
        match parse_with(&self.read, &mut few) {
            Err(httparse::Error::TooManyHeaders) => {
                let mut many: Vec<_> = (0..MAX_HEADERS).map(|_| MaybeUninit::uninit()).collect();
                parse_with(&self.read, &mut many)
            }
            other => other,
        }
        .map_err(|e| protocol(format!("malformed response head: {e}")))
    }

    /// Reads more into the buffer; `Ok(0)` at the close.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 4 {
            self.read.reserve(READ_CHUNK);
        }
        self.stream.read_buf(&mut self.read).await
    }

    /// Reads more, or fails: the body is not complete.
    async fn more(&mut self, what: &str) -> Result<(), Error> {
        match self.fill().await {
            Ok(0) => Err(Error::new(
                ErrorKind::Reset,
                format!("the connection closed in the middle of {what}"),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(io_error("reading the response body", e)),
        }
    }

    async fn read_exactly(&mut self, length: usize) -> Result<Bytes, Error> {
        while self.read.len() < length {
            let missing = length - self.read.len();
            self.read.reserve(missing.min(1 << 20));
            self.more("the body").await?;
        }
        Ok(self.read.split_to(length).freeze())
    }

    async fn read_to_close(&mut self) -> Result<Bytes, Error> {
        loop {
            match self.fill().await {
                Ok(0) => return Ok(self.read.split().freeze()),
                Ok(_) => {}
                Err(e) => return Err(io_error("reading the response body", e)),
            }
        }
    }

    async fn read_chunked(&mut self) -> Result<Bytes, Error> {
        let mut body = BytesMut::new();
        loop {
            match httparse::parse_chunk_size(&self.read) {
                Ok(httparse::Status::Partial) => self.more("a chunk size").await?,
                Err(_) => return Err(protocol("invalid chunk size".to_owned())),
                Ok(httparse::Status::Complete((line, 0))) => {
                    self.read.advance(line);
                    break;
                }
                Ok(httparse::Status::Complete((line, size))) => {
                    let size = usize::try_from(size)
                        .map_err(|_| protocol(format!("chunk of {size} bytes")))?;
                    let end = line + size;
                    while self.read.len() < end + 2 {
                        self.read.reserve((end + 2 - self.read.len()).min(1 << 20));
                        self.more("a chunk").await?;
                    }
                    if &self.read[end..end + 2] != b"\r\n" {
                        return Err(protocol("a chunk does not end with CRLF".to_owned()));
                    }
                    body.extend_from_slice(&self.read[line..end]);
                    self.read.advance(end + 2);
                }
            }
        }
        // Trailer fields, up to an empty line.
        loop {
            match self.read.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.read.advance(2);
                    return Ok(body.freeze());
                }
                Some(end) => self.read.advance(end + 2),
                None => self.more("the trailer").await?,
            }
        }
    }

    /// The response is complete, and without pipelining nothing more may arrive until
    /// the next request: forget that the socket was readable, so the next read waits
    /// for the reactor instead of first trying a `recv` that can only fail with
    /// `EAGAIN`. Tokio never forgets a closed state, so a peer's FIN is still seen.
    fn quiet(&self) {
        let _ = self.stream.try_io(Interest::READABLE, || {
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        });
    }
}

/// Parses with `slots` header slots, reading off the fields that frame the body.
fn parse_with<'b>(
    buf: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<Head>, httparse::Error> {
    let mut response = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        slots,
    )? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(httparse::Error::Status)?;
    let version = if response.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let mut head = Head {
        len,
        status,
        version,
        ..Head::default()
    };
    for header in response.headers.iter() {
        // httparse accepts exactly what `HeaderName` and `HeaderValue` do (tokens; tab,
        // visible ASCII and obs-text), so the header map built later drops nothing.
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(content_length(head.content_length, header.value));
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.transfer_encoding = true;
            // The last coding of the last field decides.
            head.chunked = header
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                head.close |= token.eq_ignore_ascii_case(b"close");
                head.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("set-cookie") {
            head.sets_cookies = true;
        }
    }
    Ok(Some(head))
}

/// Folds one `Content-Length` field into what earlier ones said: values may repeat,
/// also within a field (`5, 5`), but only with one number.
fn content_length(before: Option<Result<usize, ()>>, value: &[u8]) -> Result<usize, ()> {
    let mut length = before.transpose()?;
    for part in value.split(|b| *b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(());
        }
        let n: usize = std::str::from_utf8(part)
            .map_err(|_| ())?
            .parse()
            .map_err(|_| ())?;
        if length.is_some_and(|l| l != n) {
            return Err(());
        }
        length = Some(n);
    }
    length.ok_or(())
}

/// Writes `request` in HTTP/1.1 wire form into `out`.
fn encode(out: &mut Vec<u8>, request: &Request<Bytes>) {
    use std::io::Write as _;
    out.clear();
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let headers = request.headers();
    if !headers.contains_key(HOST)
        && let Some(authority) = request.uri().authority()
    {
        // Never the user-info part of `http://user:pass@host/`.
        let host = authority.as_str().rsplit('@').next().unwrap_or_default();
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body = request.body();
    let framed = headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING);
    let wants_length = !body.is_empty()
        || matches!(
            *request.method(),
            Method::POST | Method::PUT | Method::PATCH
        );
    if !framed && wants_length {
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn protocol(message: String) -> Error {
    Error::new(ErrorKind::Protocol, message)
}

fn io_error(doing: &str, e: io::Error) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionRefused => ErrorKind::Connect,
        _ => ErrorKind::Reset,
    };
    Error::with_source(kind, doing, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(request: &Request<Bytes>) -> String {
        let mut out = Vec::new();
        encode(&mut out, request);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_a_get_with_host_and_no_length() {
        let request = Request::get("http://127.0.0.1:8080/a/b?q=1")
            .header("x-trace", "7")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            encoded(&request),
            "GET /a/b?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-trace: 7\r\n\r\n"
        );
    }

    #[test]
    fn encodes_a_post_with_its_length_and_never_the_user_info() {
        let request = Request::post("http://user:secret@example.test/login")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        assert_eq!(
            encoded(&request),
            "POST /login HTTP/1.1\r\nhost: example.test\r\ncontent-length: 2\r\n\r\n{}"
        );
        let empty = Request::post("http://h/x").body(Bytes::new()).unwrap();
        assert!(encoded(&empty).contains("content-length: 0\r\n"));
    }

    fn parse(raw: &[u8], slots: usize) -> Result<Option<Head>, httparse::Error> {
        let mut slots: Vec<_> = (0..slots).map(|_| MaybeUninit::uninit()).collect();
        parse_with(raw, &mut slots)
    }

    #[test]
    fn parses_a_head_and_builds_its_header_map_on_demand() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\nSet-Cookie: s=1\r\nX-A: c\r\n\r\nhello";
        let head = parse(raw, 8).unwrap().unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.content_length, Some(Ok(5)));
        assert!(head.sets_cookies);
        assert_eq!(&raw[head.len..], b"hello");
        let response = Response::from_head(
            head.status,
            head.version,
            Bytes::copy_from_slice(&raw[..head.len]),
            head.sets_cookies,
            Bytes::from_static(b"hello"),
            Duration::ZERO,
        );
        let all: Vec<_> = response.headers().get_all("x-a").iter().collect();
        assert_eq!(all, ["b", "c"]);
        assert_eq!(response.header("set-cookie"), Some("s=1"));
        assert_eq!(response.headers().len(), 4);
        assert!(matches!(
            parse(raw, 1),
            Err(httparse::Error::TooManyHeaders)
        ));
        assert!(parse(&raw[..20], 4).unwrap().is_none());
        // A control character in a value is refused while reading (by httparse, whose
        // rules are `HeaderValue`'s), not dropped when the map is built.
        let bad = b"HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n";
        assert!(parse(bad, 4).is_err());
    }

    #[test]
    fn content_length_must_agree_with_itself() {
        let length = |fields: &[&str]| {
            let text: String = fields
                .iter()
                .map(|f| format!("content-length: {f}\r\n"))
                .collect();
            let raw = format!("HTTP/1.1 200 OK\r\n{text}\r\n");
            parse(raw.as_bytes(), 8).unwrap().unwrap().content_length
        };
        assert_eq!(length(&["5", "5"]), Some(Ok(5)));
        assert_eq!(length(&["5, 5"]), Some(Ok(5)));
        assert_eq!(length(&["5", "6"]), Some(Err(())));
        assert_eq!(length(&["-1"]), Some(Err(())));
        assert_eq!(length(&["+5"]), Some(Err(())));
        assert_eq!(length(&[]), None);
    }

    #[test]
    fn connection_tokens_and_codings() {
        let head = |fields: &str| {
            let raw = format!("HTTP/1.1 200 OK\r\n{fields}\r\n");
            parse(raw.as_bytes(), 8).unwrap().unwrap()
        };
        let h = head("connection: Upgrade, Close\r\ntransfer-encoding: gzip, chunked\r\n");
        assert!(h.close && !h.keep_alive && h.transfer_encoding && h.chunked);
        let h = head("Connection: keep-alive\r\nTransfer-Encoding: chunked, gzip\r\n");
        assert!(!h.close && h.keep_alive && h.transfer_encoding && !h.chunked);
    }
}
