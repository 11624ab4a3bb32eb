//! Real servers on 127.0.0.1 ephemeral ports for the checks to probe. Each is
//! a tokio task (or, for nginx, a child process) stopped when its handle is
//! dropped.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub const LOCALHOST: std::net::Ipv4Addr = std::net::Ipv4Addr::LOCALHOST;

/// A server task, aborted on drop.
pub struct Served {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen() -> TcpListener {
    TcpListener::bind((LOCALHOST, 0)).await.unwrap()
}

/// A free port, for a server to listen on (bound, then released).
pub fn free_port() -> SocketAddr {
    let l = StdListener::bind((LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap()
}

/// A TCP port nothing listens on, on every local address, for as long as
/// this lives: a socket holds it bound without listening (a connection
/// gets a reset), so no other test's listener can take it meanwhile (a
/// port merely released once was, and a check on it passed).
pub struct ClosedPort {
    _socket: socket2::Socket,
    port: u16,
}

impl ClosedPort {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        (LOCALHOST, self.port).into()
    }
}

pub fn closed_port() -> ClosedPort {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, 0).into();
    socket.bind(&any.into()).unwrap();
    let port = socket
        .local_addr()
        .unwrap()
        .as_socket()
        .expect("an IPv4 address")
        .port();
    ClosedPort {
        _socket: socket,
        port,
    }
}

/// Accepts and closes connections, counting them.
pub async fn tcp_counter() -> (Served, Arc<AtomicUsize>) {
    let listener = listen().await;
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (Served { addr, task }, count)
}

/// Accepts connections and never sends a byte nor closes them.
pub async fn hung() -> Served {
    let listener = listen().await;
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    Served { addr, task }
}

/// What the test HTTP server answers; changeable while it runs.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub chunked: bool,
}

pub struct HttpServer {
    pub served: Served,
    reply: Arc<Mutex<Reply>>,
    /// Request heads received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    pub async fn start(status: u16, body: &str) -> Self {
        Self::start_with(status, body, None).await
    }

    /// An HTTPS server when `tls` is set.
    pub async fn start_with(status: u16, body: &str, tls: Option<TlsAcceptor>) -> Self {
        let listener = listen().await;
        let addr = listener.local_addr().unwrap();
        let reply = Arc::new(Mutex::new(Reply {
            status,
            body: body.to_string(),
            chunked: false,
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (reply.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (r, q, tls) = (r.clone(), q.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => answer(conn, &r, &q).await,
                        Some(acceptor) => {
                            if let Ok(conn) = acceptor.accept(conn).await {
                                answer(conn, &r, &q).await;
                            }
                        }
                    }
                });
            }
        });
        Self {
            served: Served { addr, task },
            reply,
            requests,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.served.addr
    }

    pub fn set(&self, status: u16, body: &str, chunked: bool) {
        *self.reply.lock().unwrap() = Reply {
            status,
            body: body.to_string(),
            chunked,
        };
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: S,
    reply: &Mutex<Reply>,
    requests: &Mutex<Vec<String>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16384 {
        match conn.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let reply = reply.lock().unwrap().clone();
    let mut out = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", reply.status);
    if reply.chunked {
        out.push_str("Transfer-Encoding: chunked\r\n\r\n");
        // Split the body in two chunks to exercise reassembly.
        let (a, b) = reply.body.split_at(reply.body.len() / 2);
        for part in [a, b] {
            if !part.is_empty() {
                write!(out, "{:x}\r\n{part}\r\n", part.len()).unwrap();
            }
        }
        out.push_str("0\r\n\r\n");
    } else {
        write!(
            out,
            "Content-Length: {}\r\n\r\n{}",
            reply.body.len(),
            reply.body
        )
        .unwrap();
    }
    let _ = conn.write_all(out.as_bytes()).await;
    let _ = conn.shutdown().await;
}

/// A self-signed certificate for `localhost`, made for this test run.
pub struct TestCert {
    pub acceptor: TlsAcceptor,
    /// The certificate as PEM, usable as a CA file.
    pub pem_file: tempfile::NamedTempFile,
}

pub fn self_signed() -> TestCert {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let pem_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pem_file.path(), certified.cert.pem()).unwrap();
    TestCert {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        pem_file,
    }
}

/// How the test DNS responder treats queries.
#[derive(Debug, Clone, Copy)]
pub enum DnsMode {
    /// A proper reply with one A record.
    Answer,
    /// A reply with the id off by one.
    WrongId,
    /// A reply header with the right id, then bytes that are not DNS.
    Garbage,
}

pub async fn dns_responder(mode: DnsMode) -> (Served, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let addr = socket.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            counted.fetch_add(1, Ordering::SeqCst);
            let query = &buf[..n];
            if n < 12 {
                continue;
            }
            let reply = match mode {
                DnsMode::Answer => dns_answer(query),
                DnsMode::WrongId => {
                    let mut r = dns_answer(query);
                    r[1] = r[1].wrapping_add(1);
                    r
                }
                DnsMode::Garbage => {
                    // A reply header claiming 5 answers, then junk.
                    let mut r = query[..2].to_vec();
                    r.extend_from_slice(&[0x81, 0x80, 0, 0, 0, 5, 0, 0, 0, 0]);
                    r.extend_from_slice(b"not dns");
                    r
                }
            };
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    (Served { addr, task }, count)
}

/// The query turned into a reply: QR and RA set, one A record 127.0.0.1
/// whose owner name points at the question.
fn dns_answer(query: &[u8]) -> Vec<u8> {
    let mut r = query.to_vec();
    r[2] |= 0x80;
    r[3] |= 0x80;
    r[6..8].copy_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1]);
    r
}

/// True while `pid` exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        // The state letter follows the parenthesised command name.
        Ok(stat) => match stat.rsplit_once(')') {
            Some((_, rest)) => !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')),
            None => false,
        },
    }
}

/// Polls `cond` every 10 ms for at most `limit`.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// A real nginx (`daemon off`, one process) with its own config in a temp
/// dir; killed by pid and reaped on drop.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// `locations` goes inside the `server` block.
    pub async fn start(locations: &str) -> Nginx {
        Nginx::start_listening("", locations).await
    }

    /// `listen` goes after the address on the `listen` line (e.g.
    /// ` proxy_protocol`), `server` inside the `server` block.
    pub async fn start_listening(listen: &str, server: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_port();
        let p = |name: &str| -> PathBuf { dir.path().join(name) };
        let conf = format!(
            "daemon off;\nmaster_process off;\nuser root;\npid {pid};\nerror_log {log} warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n\
               proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n\
               uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n\
               server {{\n    listen {addr}{listen};\n{server}\n  }}\n}}\n",
            pid = p("nginx.pid").display(),
            log = p("error.log").display(),
            tmp = dir.path().display(),
        );
        std::fs::write(p("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(p("nginx.conf"))
            .arg("-e")
            .arg(p("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is installed");
        let mut nginx = Nginx { child, addr, dir };
        nginx.wait_ready().await;
        nginx
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("nginx exited with {status}: {}", self.log());
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "nginx did not listen on {} within 5 s: {}",
            self.addr,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Child::kill signals this pid only; wait reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
