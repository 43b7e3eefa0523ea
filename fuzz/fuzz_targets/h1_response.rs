//! shipgate's own HTTP/1.1 response reader (h1.rs, the load generator's per-user
//! connection): any bytes a server sends back, then a close, must give a response or
//! an error, never a panic or a hang. The bytes come from a loopback server thread.
#![no_main]

use std::io::{Read, Write};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;

struct Server {
    port: u16,
    reply: &'static Mutex<Vec<u8>>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let reply: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let bytes = reply.lock().unwrap().clone();
                let _ = stream.write_all(&bytes);
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        Server { port, reply }
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn client() -> &'static shipgate_http::HttpClient {
    static CLIENT: OnceLock<shipgate_http::HttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
            request_timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        })
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let s = server();
    *s.reply.lock().unwrap() = data.to_vec();
    let request = http::Request::builder()
        .method(if data.first() == Some(&b'H') {
            "HEAD"
        } else {
            "GET"
        })
        .uri(format!("http://127.0.0.1:{}/fuzz", s.port))
        .body(bytes::Bytes::new())
        .unwrap();
    runtime().block_on(async {
        let mut session = shipgate_http::Session::new(client());
        if let Ok(response) = session.send(&request).await {
            let _ = response.headers();
            let _ = response.body.len();
        }
    });
});
