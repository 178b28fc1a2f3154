//! A hand-written HTTP/1.1 server on 127.0.0.1 for what no well-behaved mock
//! does: echoing the request headers into an error body, and streaming a body
//! that never ends. It counts the body bytes it managed to write.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers to every request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// `401` with a JSON error whose message holds the request's header lines.
    EchoHeaders,
    /// `200` with `content_type` and `body`, in which `{HEADERS}` is
    /// replaced by the request's header lines (JSON-escaped, without quotes).
    Fixed {
        content_type: &'static str,
        body: String,
    },
    /// `status` (`"200 OK"`, say) with `content_type`, no `Content-Length`
    /// (the body ends when the connection closes), then `prefix` and `filler`
    /// repeated until `total` body bytes are written or the client goes away.
    Endless {
        status: &'static str,
        content_type: &'static str,
        prefix: Vec<u8>,
        filler: Vec<u8>,
        total: u64,
    },
    /// `200` announcing `Content-Length: length`, then the same bytes as
    /// `Endless` up to that length.
    Announced {
        content_type: &'static str,
        filler: Vec<u8>,
        length: u64,
    },
}

/// A running server; it stops with the test's runtime.
pub struct RawServer {
    base_url: String,
    written: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl RawServer {
    pub async fn start(behaviour: Behaviour) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let written = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (w, r) = (written.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                r.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, behaviour.clone(), w.clone()));
            }
        });
        RawServer {
            base_url: format!("http://{addr}/v1"),
            written,
            requests,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Body bytes written so far (accepted by the kernel).
    pub fn body_bytes_written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads the request head and body (by `Content-Length`); returns the head.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(head)
}

async fn serve(mut socket: TcpStream, behaviour: Behaviour, written: Arc<AtomicU64>) {
    let Some(head) = read_request(&mut socket).await else {
        return;
    };
    match behaviour {
        Behaviour::EchoHeaders => {
            let message = format!("Unauthorized. You sent:\n{}", head.trim_end());
            let body = serde_json::json!({
                "error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"},
                "request_headers": head,
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
        Behaviour::Fixed { content_type, body } => {
            let escaped = serde_json::Value::String(head.trim_end().to_owned()).to_string();
            let body = body.replace("{HEADERS}", &escaped[1..escaped.len() - 1]);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
        Behaviour::Endless {
            status,
            content_type,
            prefix,
            filler,
            total,
        } => {
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err()
                || socket.write_all(&prefix).await.is_err()
            {
                return;
            }
            written.fetch_add(prefix.len() as u64, Ordering::SeqCst);
            pump(&mut socket, &filler, total, &written).await;
        }
        Behaviour::Announced {
            content_type,
            filler,
            length,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            pump(&mut socket, &filler, length, &written).await;
        }
    }
}

/// Writes `filler` until `total` bytes went out or the peer is gone.
async fn pump(socket: &mut TcpStream, filler: &[u8], total: u64, written: &AtomicU64) {
    let mut sent = 0u64;
    while sent < total {
        let n = filler.len().min((total - sent) as usize);
        if socket.write_all(&filler[..n]).await.is_err() {
            return;
        }
        sent += n as u64;
        written.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = socket.shutdown().await;
}

/// The process's peak resident set size (`VmHWM`), in bytes, on Linux.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
