//! Network faults: a port that refuses, a host that never answers, a server that
//! closes in the middle of a response.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Error;

/// An address on 127.0.0.1 where nothing listens: connecting is refused at once.
#[derive(Debug, Clone, Copy)]
pub struct RefusingPort {
    addr: SocketAddr,
}

impl RefusingPort {
    /// Finds a port nobody listens on.
    pub fn new() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], crate::free_port())),
        }
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A listener that accepts connections and never reads or writes: requests to it hang
/// until the client's own timeout fires.
#[derive(Debug)]
pub struct BlackHole {
    server: ThreadServer,
}

impl BlackHole {
    /// Starts accepting on a free port.
    pub fn start() -> Result<Self, Error> {
        Ok(Self {
            server: ThreadServer::start(|stream, held| held.push(stream))?,
        })
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.server.accepted.load(Ordering::SeqCst)
    }
}

/// An HTTP server that reads a request, sends the status line, headers promising
/// 1000 bytes and 12 of them, then closes the connection.
#[derive(Debug)]
pub struct CloseMidResponse {
    server: ThreadServer,
}

/// The part of the body [`CloseMidResponse`] sends before closing.
pub const PARTIAL_BODY: &[u8] = b"partial body";

impl CloseMidResponse {
    /// Starts serving on a free port.
    pub fn start() -> Result<Self, Error> {
        let server = ThreadServer::start(|mut stream, _| {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
            );
            let _ = stream.write_all(PARTIAL_BODY);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Both);
        })?;
        Ok(Self { server })
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.server.accepted.load(Ordering::SeqCst)
    }
}

/// An accept loop on its own thread, stopped and joined on drop.
#[derive(Debug)]
struct ThreadServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl ThreadServer {
    fn start(
        mut handle: impl FnMut(TcpStream, &mut Vec<TcpStream>) + Send + 'static,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::io("cannot bind 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            // Held connections stay open until the server stops.
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    accepted2.fetch_add(1, Ordering::SeqCst);
                    handle(stream, &mut held);
                }
            }
        });
        Ok(Self {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        })
    }
}

impl Drop for ThreadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
