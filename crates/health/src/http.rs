//! HTTP GET check (keepalived `HTTP_GET`), and the request/response exchange
//! that the HTTPS check runs over TLS.
//!
//! A deliberately small HTTP/1.1 client: one request with `Connection:
//! close`, the status line and headers, and the body only when a substring is
//! expected. Body framing: Content-Length, chunked, or until close; at most
//! [`BODY_CAP`] bytes are read, which also bounds memory per check.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::check::Progress;
use crate::error::{CheckError, Phase, SetupError};
use crate::proxy::ProxyHeader;
use crate::tcp;

/// Longest status or header line we accept.
const LINE_CAP: usize = 8 * 1024;
/// Longest header block (status line and headers) we accept.
const HEAD_CAP: usize = 16 * 1024;
/// The body is searched for `expect_body` in at most this many bytes.
pub const BODY_CAP: usize = 64 * 1024;

/// An HTTP GET. Up when the status is `expect_status` and, if set, the body
/// contains `expect_body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    pub addr: SocketAddr,
    /// Request target, starting with `/`, already percent-encoded.
    pub path: String,
    /// `Host` header; default: the TLS server name for https, else the
    /// address (with the port unless it is the scheme's default).
    pub host: Option<String>,
    pub expect_status: u16,
    pub expect_body: Option<String>,
    /// Sent first, before TLS for https: the real reads a PROXY header on
    /// this port (crate::proxy).
    pub proxy: Option<ProxyHeader>,
}

impl HttpSpec {
    /// `GET /`, expecting 200 and any body.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            path: "/".to_string(),
            host: None,
            expect_status: 200,
            expect_body: None,
            proxy: None,
        }
    }
}

impl fmt::Display for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {}{}", self.addr, self.path)?;
        match self.proxy {
            Some(p) => write!(f, " after a {p} header"),
            None => Ok(()),
        }
    }
}

/// An [`HttpSpec`] checked once, with its request bytes built.
#[derive(Debug)]
pub(crate) struct Prepared {
    addr: SocketAddr,
    /// The PROXY header to send first, if any.
    proxy: Vec<u8>,
    request: Vec<u8>,
    expect_status: u16,
    expect_body: Option<String>,
}

impl Prepared {
    /// `default_port` (80 or 443) is left out of the `Host` header;
    /// `default_host` replaces the address when the spec sets no host.
    pub(crate) fn new(
        spec: &HttpSpec,
        default_port: u16,
        default_host: Option<&str>,
    ) -> Result<Self, SetupError> {
        if !spec.path.starts_with('/') || !is_token_text(&spec.path) {
            return Err(SetupError::BadPath(spec.path.clone()));
        }
        if !(100..=599).contains(&spec.expect_status) {
            return Err(SetupError::BadStatus(spec.expect_status));
        }
        let host = match spec.host.as_deref().or(default_host) {
            Some(h) if is_token_text(h) => h.to_string(),
            Some(h) => return Err(SetupError::BadHost(h.to_string())),
            None => match spec.addr.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            },
        };
        let host = if spec.addr.port() == default_port {
            host
        } else {
            format!("{host}:{}", spec.addr.port())
        };
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: xlvs-health\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n",
            spec.path
        );
        Ok(Self {
            addr: spec.addr,
            proxy: spec.proxy.map(ProxyHeader::local).unwrap_or_default(),
            request: request.into_bytes(),
            expect_status: spec.expect_status,
            expect_body: spec.expect_body.clone(),
        })
    }
}

/// Non-empty visible ASCII: no spaces or control characters, which would
/// let a config value break the request line or inject headers.
fn is_token_text(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

pub(crate) async fn check(p: &Prepared, progress: &Progress) -> Result<(), CheckError> {
    let stream = connect(p, progress).await?;
    exchange(stream, p, progress).await
}

/// Connects, and sends the PROXY header if the real wants one.
pub(crate) async fn connect(p: &Prepared, progress: &Progress) -> Result<TcpStream, CheckError> {
    let mut stream = tcp::connect(p.addr, progress).await?;
    if !p.proxy.is_empty() {
        progress.set(Phase::SendRequest);
        stream
            .write_all(&p.proxy)
            .await
            .map_err(|source| CheckError::Io {
                phase: Phase::SendRequest,
                source,
            })?;
    }
    Ok(stream)
}

/// Sends the request on an open connection (plain or TLS) and judges the
/// response.
pub(crate) async fn exchange<S>(
    mut stream: S,
    p: &Prepared,
    progress: &Progress,
) -> Result<(), CheckError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    progress.set(Phase::SendRequest);
    let sent = async {
        stream.write_all(&p.request).await?;
        stream.flush().await
    };
    sent.await.map_err(|source| CheckError::Io {
        phase: Phase::SendRequest,
        source,
    })?;

    progress.set(Phase::Response);
    let mut reader = Reader::new(stream);
    let head = read_head(&mut reader).await?;
    if head.status != p.expect_status {
        return Err(CheckError::Status {
            got: head.status,
            expected: p.expect_status,
        });
    }
    let Some(expected) = &p.expect_body else {
        // Nothing to look for: do not read (or wait for) the body.
        return Ok(());
    };

    progress.set(Phase::Body);
    let body = read_body(&mut reader, head.framing, BODY_CAP).await?;
    if contains(&body, expected.as_bytes()) {
        Ok(())
    } else {
        Err(CheckError::Body {
            expected: expected.clone(),
            searched: body.len(),
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn bad(reason: impl Into<String>) -> CheckError {
    CheckError::BadHttp {
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(u64),
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    framing: Framing,
}

/// Buffered reading of lines and byte counts from a stream.
struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(4096),
            pos: 0,
        }
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads more bytes; `false` at the end of the stream.
    async fn fill(&mut self, phase: Phase) -> Result<bool, CheckError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(4096);
        match self.inner.read_buf(&mut self.buf).await {
            Ok(n) => Ok(n > 0),
            // rustls reports a peer that closes without close_notify this
            // way; many servers do after `Connection: close`, and the
            // framing checks below catch real truncation.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(source) => Err(CheckError::Io { phase, source }),
        }
    }

    /// The next line without its line ending; `None` at a clean end of
    /// stream.
    async fn line(&mut self, phase: Phase) -> Result<Option<Vec<u8>>, CheckError> {
        loop {
            let newline = self.pending().iter().position(|&b| b == b'\n');
            if newline.unwrap_or(self.pending().len()) > LINE_CAP {
                return Err(bad(format!("line longer than {LINE_CAP} bytes")));
            }
            if let Some(i) = newline {
                let mut line = self.pending()[..i].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.pos += i + 1;
                return Ok(Some(line));
            }
            if !self.fill(phase).await? {
                return if self.pending().is_empty() {
                    Ok(None)
                } else {
                    Err(bad("connection closed in the middle of a line"))
                };
            }
        }
    }

    /// Appends up to `n` bytes to `out`; returns how many were missing
    /// when the stream ended first.
    async fn take(
        &mut self,
        n: usize,
        out: &mut Vec<u8>,
        phase: Phase,
    ) -> Result<usize, CheckError> {
        let mut missing = n;
        loop {
            let now = missing.min(self.pending().len());
            out.extend_from_slice(&self.pending()[..now]);
            self.pos += now;
            missing -= now;
            if missing == 0 || !self.fill(phase).await? {
                return Ok(missing);
            }
        }
    }
}

async fn read_head<R: AsyncRead + Unpin>(r: &mut Reader<R>) -> Result<Head, CheckError> {
    loop {
        let head = read_one_head(r).await?;
        // Skip interim responses (100 Continue and the like); 101 is final.
        if !(100..200).contains(&head.status) || head.status == 101 {
            return Ok(head);
        }
    }
}

async fn read_one_head<R: AsyncRead + Unpin>(r: &mut Reader<R>) -> Result<Head, CheckError> {
    let status_line = r
        .line(Phase::Response)
        .await?
        .ok_or_else(|| bad("connection closed without a response"))?;
    let status = parse_status_line(&status_line)?;
    let mut head_len = status_line.len();
    let mut chunked = false;
    let mut length = None;
    loop {
        let line = r
            .line(Phase::Response)
            .await?
            .ok_or_else(|| bad("connection closed in the headers"))?;
        if line.is_empty() {
            break;
        }
        head_len += line.len();
        if head_len > HEAD_CAP {
            return Err(bad(format!("headers longer than {HEAD_CAP} bytes")));
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(bad("header line without a colon"));
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked is always the last coding when present.
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<u64>()
                    .map_err(|_| bad(format!("bad Content-Length {value:?}")))?,
            );
        }
    }
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length.
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::UntilClose,
    };
    Ok(Head { status, framing })
}

/// `HTTP/1.x NNN reason`; returns NNN.
fn parse_status_line(line: &[u8]) -> Result<u16, CheckError> {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(bad(format!("bad status line {:?}", truncate(&text, 80))));
    }
    code.parse::<u16>()
        .ok()
        .filter(|c| (100..=999).contains(c))
        .ok_or_else(|| bad(format!("bad status code {code:?}")))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The (de-chunked) body, at most `cap` bytes of it.
async fn read_body<R: AsyncRead + Unpin>(
    r: &mut Reader<R>,
    framing: Framing,
    cap: usize,
) -> Result<Vec<u8>, CheckError> {
    let mut body = Vec::new();
    match framing {
        Framing::UntilClose => {
            r.take(cap, &mut body, Phase::Body).await?;
        }
        Framing::Length(n) => {
            let want = usize::try_from(n).unwrap_or(usize::MAX).min(cap);
            let missing = r.take(want, &mut body, Phase::Body).await?;
            if missing > 0 {
                return Err(bad(format!(
                    "connection closed after {} of {n} body bytes",
                    body.len()
                )));
            }
        }
        Framing::Chunked => loop {
            let line = r
                .line(Phase::Body)
                .await?
                .ok_or_else(|| bad("connection closed before the last chunk"))?;
            let size = parse_chunk_size(&line)?;
            if size == 0 {
                break;
            }
            let want = usize::try_from(size)
                .unwrap_or(usize::MAX)
                .min(cap - body.len());
            if r.take(want, &mut body, Phase::Body).await? > 0 {
                return Err(bad("connection closed inside a chunk"));
            }
            if body.len() == cap {
                // Enough to search; the rest of the body does not matter.
                break;
            }
            match r.line(Phase::Body).await? {
                Some(l) if l.is_empty() => {}
                _ => return Err(bad("chunk not followed by CRLF")),
            }
        },
    }
    Ok(body)
}

/// Hex size before any `;extension`.
fn parse_chunk_size(line: &[u8]) -> Result<u64, CheckError> {
    let text = String::from_utf8_lossy(line);
    let hex = text.split(';').next().unwrap_or_default().trim();
    u64::from_str_radix(hex, 16)
        .map_err(|_| bad(format!("bad chunk size {:?}", truncate(&text, 40))))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(response: &[u8], cap: usize) -> Result<(Head, Vec<u8>), CheckError> {
        let mut r = Reader::new(response);
        let head = read_head(&mut r).await?;
        let body = read_body(&mut r, head.framing, cap).await?;
        Ok((head, body))
    }

    fn reason(e: CheckError) -> String {
        match e {
            CheckError::BadHttp { reason } => reason,
            other => panic!("not BadHttp: {other}"),
        }
    }

    #[tokio::test]
    async fn content_length_body() {
        let (head, body) = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA",
            BODY_CAP,
        )
        .await
        .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(5));
        assert_eq!(body, b"hello");
    }

    #[tokio::test]
    async fn chunked_body_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: gzip, Chunked\r\n\
                    Content-Length: 999\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
        let (head, body) = parse(raw, BODY_CAP).await.unwrap();
        assert_eq!(head.status, 404);
        assert_eq!(head.framing, Framing::Chunked);
        assert_eq!(body, b"Wikipedia");
    }

    #[tokio::test]
    async fn until_close_and_bare_lf() {
        let (head, body) = parse(b"HTTP/1.0 503 Busy\nServer: x\n\nall of it", BODY_CAP)
            .await
            .unwrap();
        assert_eq!(head.status, 503);
        assert_eq!(body, b"all of it");
    }

    #[tokio::test]
    async fn body_is_capped() {
        let (_, body) = parse(b"HTTP/1.1 200 OK\r\n\r\n0123456789", 4)
            .await
            .unwrap();
        assert_eq!(body, b"0123");
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n";
        let (_, body) = parse(raw, 4).await.unwrap();
        assert_eq!(body, b"abcd");
        let (_, body) = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            3,
        )
        .await
        .unwrap();
        assert_eq!(body, b"012");
    }

    #[tokio::test]
    async fn interim_responses_are_skipped() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let (head, body) = parse(raw, BODY_CAP).await.unwrap();
        assert_eq!(head.status, 204);
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn malformed_responses() {
        for (raw, want) in [
            (&b""[..], "without a response"),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "bad status line"),
            (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
            (b"HTTP/1.1 abc OK\r\n\r\n", "bad status code"),
            (b"HTTP/1.1 200 OK\r\nX-No-End: 1\r\n", "in the headers"),
            (b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n", "without a colon"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "bad Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
                "after 3 of 9",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "bad chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                "inside a chunk",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
                "middle of a line",
            ),
        ] {
            let got = reason(parse(raw, BODY_CAP).await.unwrap_err());
            assert!(got.contains(want), "{raw:?}: {got:?} lacks {want:?}");
        }
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(LINE_CAP + 10)
        );
        let got = reason(parse(long.as_bytes(), BODY_CAP).await.unwrap_err());
        assert!(got.contains("line longer"), "{got}");
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X-Pad: aaaaaaaaaa\r\n".repeat(1000)
        );
        let got = reason(parse(many.as_bytes(), BODY_CAP).await.unwrap_err());
        assert!(got.contains("headers longer"), "{got}");
    }

    fn request_of(spec: &HttpSpec, port: u16, host: Option<&str>) -> String {
        let p = Prepared::new(spec, port, host).unwrap();
        String::from_utf8(p.request).unwrap()
    }

    #[test]
    fn request_host_header() {
        let mut spec = HttpSpec::new("10.0.0.1:80".parse().unwrap());
        spec.path = "/health?full=1".to_string();
        let req = request_of(&spec, 80, None);
        assert!(
            req.starts_with("GET /health?full=1 HTTP/1.1\r\nHost: 10.0.0.1\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nConnection: close\r\n"));
        assert!(req.ends_with("\r\n\r\n"));

        spec.addr = "[2001:db8::1]:8080".parse().unwrap();
        assert!(request_of(&spec, 80, None).contains("\r\nHost: [2001:db8::1]:8080\r\n"));
        assert!(
            request_of(&spec, 443, Some("api.example")).contains("\r\nHost: api.example:8080\r\n")
        );
        spec.host = Some("www.example".to_string());
        assert!(
            request_of(&spec, 443, Some("api.example")).contains("\r\nHost: www.example:8080\r\n")
        );
    }

    #[test]
    fn injection_and_bad_values_are_rejected() {
        let addr = "10.0.0.1:80".parse().unwrap();
        for path in ["", "health", "/a b", "/a\r\nX-Evil: 1", "/é"] {
            let spec = HttpSpec {
                path: path.to_string(),
                ..HttpSpec::new(addr)
            };
            assert!(
                matches!(Prepared::new(&spec, 80, None), Err(SetupError::BadPath(_))),
                "{path:?}"
            );
        }
        let spec = HttpSpec {
            host: Some("a\r\nb".to_string()),
            ..HttpSpec::new(addr)
        };
        assert!(matches!(
            Prepared::new(&spec, 80, None),
            Err(SetupError::BadHost(_))
        ));
        let spec = HttpSpec {
            expect_status: 99,
            ..HttpSpec::new(addr)
        };
        assert!(matches!(
            Prepared::new(&spec, 80, None),
            Err(SetupError::BadStatus(99))
        ));
    }

    #[test]
    fn substring_search() {
        assert!(contains(b"abc", b""));
        assert!(contains(b"status: ok\n", b"ok"));
        assert!(!contains(b"o", b"ok"));
    }
}
