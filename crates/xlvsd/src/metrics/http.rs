//! The endpoint's HTTP/1.1 server: one request per connection, bounded in
//! size, time and number of connections.

use super::exposition::render;
use super::snapshot::collect;
use crate::node::Node;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head (request line and headers) read; a scrape needs
/// a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const READ_LIMIT: Duration = Duration::from_secs(5);
/// Time a client has to take the response.
const WRITE_LIMIT: Duration = Duration::from_secs(10);
/// After an error response, unread input is discarded for at most this
/// long (and this much), so the client sees the response rather than a
/// reset.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);
const MAX_DRAIN: usize = 1 << 20;
/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics endpoint {addr} (metrics.listen): {source}; change [metrics] listen, or set enabled = false")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Endpoint {
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl Endpoint {
    pub async fn bind(addr: SocketAddr) -> Result<Endpoint, MetricsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        Ok(Endpoint { listener, addr })
    }

    /// Serves connections until the task is dropped.
    pub async fn serve(self, node: Node) {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    // e.g. out of descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "metrics endpoint busy: connection closed");
                continue;
            };
            let node = node.clone();
            tokio::spawn(async move {
                connection(stream, &node).await;
                drop(slot);
            });
        }
    }
}

/// Why a request head could not be read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    TooLarge,
    /// The client closed (or failed) before the head was complete.
    Incomplete,
}

/// Reads up to the blank line that ends the head, at most `MAX_HEAD`.
async fn read_head(stream: &mut (impl AsyncReadExt + Unpin)) -> Result<Vec<u8>, HeadError> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        if let Some(end) = head_end(&buf[..len]) {
            buf.truncate(end);
            return Ok(buf);
        }
        if len == buf.len() {
            return Err(HeadError::TooLarge);
        }
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return Err(HeadError::Incomplete),
            Ok(n) => len += n,
        }
    }
}

/// Where the head ends (after "\r\n\r\n", or "\n\n" from lax clients).
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn connection(mut stream: TcpStream, node: &Node) {
    let peer = stream.peer_addr().ok();
    let head = tokio::time::timeout(READ_LIMIT, read_head(&mut stream)).await;
    let (response, complete) = match head {
        Err(_) => (Response::error(408, "Request Timeout"), false),
        Ok(Err(HeadError::TooLarge)) => (
            Response::error(431, "Request Header Fields Too Large"),
            false,
        ),
        Ok(Err(HeadError::Incomplete)) => return,
        Ok(Ok(head)) => (answer(&head, node).await, true),
    };
    tracing::debug!(?peer, status = response.status, "metrics request");
    let bytes = response.to_bytes();
    if tokio::time::timeout(WRITE_LIMIT, stream.write_all(&bytes))
        .await
        .is_ok_and(|r| r.is_ok())
        && !complete
    {
        // Closing with unread input would reset the connection and lose
        // the response: say we are done, then discard what is left.
        let _ = stream.shutdown().await;
        let drain = async {
            let mut sink = [0u8; 4096];
            let mut total = 0;
            while total < MAX_DRAIN {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_LIMIT, drain).await;
    }
}

/// The response to a complete request head.
async fn answer(head: &[u8], node: &Node) -> Response {
    let Some(req) = Request::parse(head) else {
        return Response::error(400, "Bad Request");
    };
    if req.path != "/metrics" {
        return Response::error(404, "Not Found");
    }
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::error(405, "Method Not Allowed");
        r.allow = true;
        return r;
    }
    let body = render(&collect(node).await);
    Response {
        status: 200,
        reason: "OK",
        content_type: CONTENT_TYPE,
        allow: false,
        length: body.len(),
        body: (req.method == "GET").then_some(body),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    method: &'a str,
    /// Without the query string.
    path: &'a str,
}

impl<'a> Request<'a> {
    /// The request line of an HTTP/1.x head; headers are not needed.
    fn parse(head: &'a [u8]) -> Option<Request<'a>> {
        let head = std::str::from_utf8(head).ok()?;
        let line = head.lines().next()?;
        let mut parts = line.split(' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !version.starts_with("HTTP/1.") || method.is_empty() {
            return None;
        }
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        Some(Request { method, path })
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    /// Whether to list the allowed methods (405).
    allow: bool,
    /// `None` for HEAD: the length is sent, the body not.
    body: Option<String>,
    length: usize,
}

impl Response {
    fn error(status: u16, reason: &'static str) -> Response {
        let body = format!("{status} {reason}: xlvsd serves GET /metrics only\n");
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            allow: false,
            length: body.len(),
            body: Some(body),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status, self.reason, self.content_type, self.length
        );
        if self.allow {
            head.push_str("Allow: GET, HEAD\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some(body) = &self.body {
            out.extend_from_slice(body.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = Request::parse(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!((r.method, r.path), ("GET", "/metrics"));
        assert_eq!(Request::parse(b"GET /metrics\r\n\r\n"), None);
        assert_eq!(Request::parse(b"GET /metrics HTTP/2\r\n\r\n"), None);
        assert_eq!(Request::parse(b"GET  /metrics HTTP/1.1\r\n\r\n"), None);
        assert_eq!(Request::parse(b"\xff /metrics HTTP/1.1\r\n\r\n"), None);
    }

    #[tokio::test]
    async fn heads_are_bounded() {
        let mut ok: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nbody";
        let head = read_head(&mut ok).await.unwrap();
        assert!(head.ends_with(b"\r\n\r\n"));
        let big = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(
            read_head(&mut big.as_slice()).await,
            Err(HeadError::TooLarge)
        );
        let mut cut: &[u8] = b"GET /metrics HTTP/1.1\r\n";
        assert_eq!(read_head(&mut cut).await, Err(HeadError::Incomplete));
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = Response::error(404, "Not Found");
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(head.contains("Connection: close"));
    }
}
