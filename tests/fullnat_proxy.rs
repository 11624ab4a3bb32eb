//! FULLNAT reals learn the client's address from a PROXY protocol header
//! (client_address = "proxy-v2" / "proxy-v1"): labs/nat.clab.yml with two
//! more services on lb1's VIP, real TCP clients (Linux: SACK, timestamps
//! and window scaling on), and on the reals nginx with `listen ...
//! proxy_protocol` and servers of this test that read the header, check
//! it, then echo (or speak first).
//!
//! The echo servers are this test's own (std::net, in the reals'
//! namespaces) rather than nginx: they check the header's bytes exactly
//! (nginx only logs what it parsed), record when it arrived (before the
//! client sent anything, for a client that pauses), and echo both ways at
//! once, which nginx does not do for one request.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xlvs_tests::cluster::ECMP_FULLNAT;
use xlvs_tests::{
    connect_from, control, in_netns, lab_copy, lab_variant, rewrite, signal, text, wait_until, Lab,
};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const REALS: [(&str, Ipv4Addr); 2] = [
    ("web1", Ipv4Addr::new(10, 0, 1, 21)),
    ("web2", Ipv4Addr::new(10, 0, 1, 22)),
];
/// nginx with proxy_protocol: the v2 service's and the v1 service's.
const NGINX_V2: u16 = 8080;
const NGINX_V1: u16 = 8081;
/// This test's servers: echo (v2), speaks first (v2), echo (v1).
const ECHO_V2: u16 = 9000;
const BANNER_V2: u16 = 9001;
const ECHO_V1: u16 = 9002;
const TEN_MIB: usize = 10 << 20;

/// The two proxied services, health-checked on the reals' plain port 80,
/// which their connections do not reach, so the checks send no PROXY
/// header (crates/health tests checks on a proxy_protocol port).
fn services() -> String {
    let service = |name: &str, ports: &[u16], mode: &str| {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        format!(
            "\n[[service]]\nname = \"{name}\"\nvip = \"{VIP}\"\nprotocol = \"tcp\"\n\
             ports = [{}]\nforward = \"fullnat\"\nclient_address = \"{mode}\"\n\
             [service.health]\ncheck = \"http\"\nport = 80\npath = \"/\"\nexpect_status = 200\n\
             interval = \"1s\"\ntimeout = \"500ms\"\nrise = 2\nfall = 2\n\
             [[service.real]]\naddress = \"10.0.1.21\"\n[[service.real]]\naddress = \"10.0.1.22\"\n",
            ports.join(", ")
        )
    };
    service("proxied-v2", &[NGINX_V2, ECHO_V2, BANNER_V2], "proxy-v2")
        + &service("proxied-v1", &[NGINX_V1, ECHO_V1], "proxy-v1")
}

/// nginx for real `web`: both proxied ports, the client from the header
/// in the answer and in the access log.
fn nginx_conf(dir: &Path, web: &str) -> PathBuf {
    let conf = dir.join(format!("{web}-proxy.conf"));
    let text = format!(
        "daemon on;\n\
         pid {pid};\n\
         error_log stderr;\n\
         events {{}}\n\
         http {{\n\
         \x20   log_format proxied '$proxy_protocol_addr:$proxy_protocol_port $server_port $remote_addr';\n\
         \x20   access_log {log} proxied;\n\
         \x20   server {{\n\
         \x20       listen {NGINX_V2} proxy_protocol;\n\
         \x20       listen {NGINX_V1} proxy_protocol;\n\
         \x20       location / {{ return 200 \"{web} $proxy_protocol_addr:$proxy_protocol_port\\n\"; }}\n\
         \x20   }}\n\
         }}\n",
        pid = nginx_pid_file(dir, web).display(),
        log = access_log(dir, web).display(),
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

fn nginx_pid_file(dir: &Path, web: &str) -> PathBuf {
    dir.join(format!("{web}-proxy-nginx.pid"))
}

fn access_log(dir: &Path, web: &str) -> PathBuf {
    dir.join(format!("{web}-proxy-access.log"))
}

/// Stops the test's nginx (by the pids in their pid files) when dropped.
struct Nginxes(PathBuf);

impl Drop for Nginxes {
    fn drop(&mut self) {
        for (web, _) in REALS {
            if let Ok(pid) = std::fs::read_to_string(nginx_pid_file(&self.0, web)) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    // SAFETY: plain syscall on the pid our nginx wrote (it
                    // may be gone already: the lab went down first).
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
            }
        }
    }
}

/// A PROXY header as a real read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    version: u8,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    /// When the real had read it.
    at: Instant,
}

/// Reads a PROXY header (v1 or v2, TCP over IPv4) off the start of the
/// stream, checking every byte of it; the stream's own bytes follow.
fn read_header(s: &mut TcpStream) -> Result<Header, String> {
    const SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
    let mut first = [0u8; 16];
    s.read_exact(&mut first[..5]).map_err(|e| e.to_string())?;
    if &first[..5] == b"PROXY" {
        // v1: text up to CRLF, at most 107 bytes.
        let mut line = b"PROXY".to_vec();
        while !line.ends_with(b"\r\n") {
            if line.len() > 107 {
                return Err(format!("v1 line too long: {line:?}"));
            }
            let mut b = [0u8];
            s.read_exact(&mut b).map_err(|e| e.to_string())?;
            line.push(b[0]);
        }
        let text = std::str::from_utf8(&line).map_err(|e| e.to_string())?;
        let words: Vec<&str> = text.trim_end_matches("\r\n").split(' ').collect();
        let [_, "TCP4", src, dst, sport, dport] = words[..] else {
            return Err(format!("v1 header {text:?}"));
        };
        let addr = |a: &str, p: &str| -> Result<SocketAddrV4, String> {
            Ok(SocketAddrV4::new(
                a.parse().map_err(|_| format!("address {a:?}"))?,
                p.parse().map_err(|_| format!("port {p:?}"))?,
            ))
        };
        return Ok(Header {
            version: 1,
            src: addr(src, sport)?,
            dst: addr(dst, dport)?,
            at: Instant::now(),
        });
    }
    s.read_exact(&mut first[5..]).map_err(|e| e.to_string())?;
    if first[..12] != SIG {
        return Err(format!("neither v1 nor v2: {first:02x?}"));
    }
    // Version 2, PROXY command; TCP over IPv4; 12 bytes of addresses.
    if (first[12], first[13], &first[14..16]) != (0x21, 0x11, &[0, 12][..]) {
        return Err(format!("v2 header {first:02x?}"));
    }
    let mut a = [0u8; 12];
    s.read_exact(&mut a).map_err(|e| e.to_string())?;
    let ip = |o: usize| Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]);
    let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
    Ok(Header {
        version: 2,
        src: SocketAddrV4::new(ip(0), port(8)),
        dst: SocketAddrV4::new(ip(4), port(10)),
        at: Instant::now(),
    })
}

/// What the test's servers saw: each connection's header (or why it was
/// refused), by the client port it names.
#[derive(Default)]
struct Seen {
    headers: BTreeMap<u16, Header>,
    errors: Vec<String>,
}

/// The test's servers on both reals, until dropped.
struct Servers {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Servers on `ports` of each of `reals` (node, address); the one on
/// BANNER_V2 speaks first.
fn serve(lab: &Lab, reals: &[(&str, Ipv4Addr)], ports: &[u16]) -> Servers {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for &(web, addr) in reals {
        for &port in ports {
            let listener = in_netns(&lab.netns(web), || {
                TcpListener::bind((addr, port)).unwrap_or_else(|e| panic!("{web}:{port}: {e}"))
            });
            listener.set_nonblocking(true).unwrap();
            let (seen, stop) = (seen.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                accept_loop(listener, port == BANNER_V2, &seen, &stop)
            }));
        }
    }
    Servers {
        seen,
        stop,
        threads,
    }
}

fn accept_loop(listener: TcpListener, banner: bool, seen: &Arc<Mutex<Seen>>, stop: &AtomicBool) {
    let mut conns = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((s, _)) => {
                let seen = seen.clone();
                conns.push(std::thread::spawn(move || connection(s, banner, &seen)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

/// One connection: the header, then (a banner naming the client, then)
/// an echo of everything until the client closes.
fn connection(mut s: TcpStream, banner: bool, seen: &Mutex<Seen>) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let h = match read_header(&mut s) {
        Ok(h) => h,
        Err(e) => {
            seen.lock().unwrap().errors.push(e);
            return;
        }
    };
    let client = h.src;
    seen.lock().unwrap().headers.insert(client.port(), h);
    if banner {
        let hello = format!("220 hello {client}\r\n");
        if s.write_all(hello.as_bytes()).is_err() {
            return;
        }
    }
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
}

/// `len` bytes nobody would confuse with a shifted copy of themselves.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends `data` and reads as much back at the same time (an echo):
/// returns what came back, checked by the caller.
fn echo_through(s: TcpStream, data: &[u8]) -> Vec<u8> {
    echo_staged(s, data, 0)
}

/// [`echo_through`], the first `first` bytes written alone (a first data
/// segment of that size) 100 ms before the rest.
fn echo_staged(mut s: TcpStream, data: &[u8], first: usize) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = s.try_clone().unwrap();
    let back = std::thread::scope(|scope| {
        let w = scope.spawn(|| {
            let (head, rest) = data.split_at(first);
            if !head.is_empty() {
                writer.write_all(head).expect("upload");
                std::thread::sleep(Duration::from_millis(100));
            }
            for chunk in rest.chunks(64 << 10) {
                writer.write_all(chunk).expect("upload");
            }
            writer.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut back = Vec::with_capacity(data.len());
        // What came before a stall is kept: the caller's check says how
        // far the stream got.
        if let Err(e) = s.read_to_end(&mut back) {
            eprintln!("download stopped after {} bytes: {e}", back.len());
        }
        w.join().unwrap();
        back
    });
    back
}

/// The first index where two streams differ, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    if let Some(at) = first_difference(got, want) {
        panic!(
            "{what}: {} bytes back of {}, first difference at byte {at}",
            got.len(),
            want.len()
        );
    }
}

/// The header the real got for client port `port` (waits a little: the
/// server thread records it).
fn header_of(servers: &Servers, port: u16) -> Header {
    wait_until(
        &format!("a header for client port {port}"),
        Duration::from_secs(5),
        || {
            let seen = servers.seen.lock().unwrap();
            seen.headers
                .get(&port)
                .cloned()
                .ok_or_else(|| format!("errors: {:?}", seen.errors))
        },
    )
}

/// One HTTP request to nginx on `port`: the answer's body names the
/// client nginx read from the header.
fn http(client_ns: &str, port: u16) -> (u16, String) {
    let mut s = connect(client_ns, port);
    let local = s.local_addr().unwrap().port();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("the answer");
    (local, answer)
}

/// A connection from the client to `port` of the VIP.
fn connect(client_ns: &str, port: u16) -> TcpStream {
    connect_from(client_ns, (&VIP.to_string(), port))
}

/// nftables for the client: 3% of its segments to the v2 echo lost.
/// (netem would do the same on its egress; nftables also reaches the
/// reals' way in, where the header arrives.)
fn client_loss() -> String {
    format!(
        "table inet proxy_loss {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n    \
         ip daddr {VIP} tcp dport {ECHO_V2} numgen random mod 100 < 3 counter drop comment \"lossy\"\n  }}\n}}\n"
    )
}

/// nftables for a real: 3% of the v2 echo's segments lost each way.
fn real_loss() -> String {
    format!(
        "table inet proxy_loss {{\n  chain in {{\n    type filter hook input priority 0; policy accept;\n    \
         ip saddr 10.255.1.0/24 tcp dport {ECHO_V2} numgen random mod 100 < 3 counter drop comment \"lossy\"\n  }}\n  \
         chain out {{\n    type filter hook output priority 0; policy accept;\n    \
         ip daddr 10.255.1.0/24 tcp sport {ECHO_V2} numgen random mod 100 < 3 counter drop comment \"lossy\"\n  }}\n}}\n"
    )
}

/// nftables for a real: each connection's first segment to ECHO_V2 that
/// begins with a header (v2's signature's first four bytes or v1's
/// "PROX" at the start of the payload) is lost; the connection's
/// conntrack mark says it was, so its retransmissions pass.
fn first_header_loss() -> String {
    format!(
        "table inet proxy_first_header {{\n  chain in {{\n    type filter hook input priority 0; policy accept;\n    \
         ip saddr 10.255.1.0/24 tcp dport {ECHO_V2} @ih,0,32 {{ 0x0d0a0d0a, 0x50524f58 }} ct mark 0 ct mark set 1 counter drop comment \"first header segment\"\n  }}\n}}\n"
    )
}

/// A sysctl as namespace `netns` sees it.
fn sysctl(netns: &str, name: &str) -> String {
    in_netns(netns, || {
        std::fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/"))).unwrap()
    })
    .trim()
    .to_string()
}

#[test]
fn proxy_protocol_carries_the_client_to_fullnat_reals() {
    let (dir, file, lab_dir) = lab_variant("nat", "proxy");
    let lb1 = lab_dir.join("lb1.toml");
    let config = std::fs::read_to_string(&lb1).unwrap() + &services();
    std::fs::write(&lb1, config).unwrap();
    let lab = Lab::up(&file);
    let _nginx = Nginxes(dir.path().to_path_buf());
    for (web, _) in REALS {
        lab.start_nginx(web, &nginx_conf(dir.path(), web));
    }
    let servers = serve(&lab, &REALS, &[ECHO_V2, BANNER_V2, ECHO_V1]);
    lab.wait_nexthops(
        "r1",
        &VIP.to_string(),
        &["10.0.1.11"],
        Duration::from_secs(60),
    );
    lab.wait_nexthops("r1", "10.255.1.1", &["10.0.1.11"], Duration::from_secs(30));
    lab.wait_http("client", &VIP.to_string());
    let client_ns = lab.netns("client");

    // Linux's defaults, which the shift must get right: SACK blocks and
    // timestamps in every segment, scaled windows.
    for ns in [client_ns.clone(), lab.netns("web1"), lab.netns("web2")] {
        for name in [
            "net.ipv4.tcp_sack",
            "net.ipv4.tcp_timestamps",
            "net.ipv4.tcp_window_scaling",
        ] {
            assert_eq!(sysctl(&ns, name), "1", "{ns}: {name}");
        }
    }

    // ipvsadm's listing names the mode where it names toa.
    let listing = text(&lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n"]));
    for (port, mode) in [(NGINX_V2, "proxy-v2"), (NGINX_V1, "proxy-v1")] {
        assert!(
            listing.contains(&format!("TCP  {VIP}:{port} mh {mode}")),
            "{listing}"
        );
    }
    assert!(
        listing.contains(&format!("TCP  {VIP}:80 mh\n")),
        "{listing}"
    );

    // nginx reads the header, v2 and v1: the client's own address and port.
    wait_until("nginx behind the header", Duration::from_secs(20), || {
        let (_, answer) = http(&client_ns, NGINX_V2);
        answer.contains("200 OK").then_some(()).ok_or(answer)
    });
    let mut logged = Vec::new();
    for port in [NGINX_V2, NGINX_V1, NGINX_V2, NGINX_V1] {
        let (local, answer) = http(&client_ns, port);
        let client = format!("{CLIENT}:{local}");
        assert!(answer.contains("200 OK"), "{answer}");
        assert!(answer.contains(&format!(" {client}\n")), "{port}: {answer}");
        logged.push(format!("{client} {port} 10.255.1."));
    }
    let log: String = REALS
        .iter()
        .map(|(web, _)| std::fs::read_to_string(access_log(dir.path(), web)).unwrap_or_default())
        .collect();
    for line in &logged {
        assert!(log.contains(line.as_str()), "no {line:?} in\n{log}");
    }

    // 10 MiB each way through the v2 echo, byte for byte; the header names
    // the client's socket and the VIP.
    let s = connect(&client_ns, ECHO_V2);
    let local = s.local_addr().unwrap().port();
    let data = pattern(TEN_MIB, 1);
    let back = echo_through(s, &data);
    assert_same("10 MiB through proxy-v2", &back, &data);
    let h = header_of(&servers, local);
    assert_eq!(
        (h.version, h.src, h.dst),
        (
            2,
            SocketAddrV4::new(CLIENT, local),
            SocketAddrV4::new(VIP, ECHO_V2)
        )
    );

    // The same through v1.
    let s = connect(&client_ns, ECHO_V1);
    let local = s.local_addr().unwrap().port();
    let data = pattern(1 << 20, 2);
    assert_same("1 MiB through proxy-v1", &echo_through(s, &data), &data);
    let h = header_of(&servers, local);
    assert_eq!(
        (h.version, h.src, h.dst),
        (
            1,
            SocketAddrV4::new(CLIENT, local),
            SocketAddrV4::new(VIP, ECHO_V1)
        )
    );

    // A client that pauses before sending: the header reaches the real
    // with the handshake, before the client's first byte.
    let mut slow = connect(&client_ns, ECHO_V2);
    let local = slow.local_addr().unwrap().port();
    let connected = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let h = header_of(&servers, local);
    assert!(
        h.at < connected + Duration::from_millis(1000),
        "the header came {:?} after the connection, during the pause",
        h.at - connected
    );
    slow.write_all(b"after a pause").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut back = [0u8; 13];
    slow.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"after a pause");
    drop(slow);

    // A server that speaks first: its banner names the client, before
    // the client sends a byte; then the stream goes on both ways.
    let mut talk = connect(&client_ns, BANNER_V2);
    let local = talk.local_addr().unwrap().port();
    talk.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let want = format!("220 hello {CLIENT}:{local}\r\n");
    let mut banner = vec![0u8; want.len()];
    talk.read_exact(&mut banner).expect("the banner, unasked");
    assert_eq!(String::from_utf8_lossy(&banner), want);
    let data = pattern(256 << 10, 3);
    assert_same("after the banner", &echo_through(talk, &data), &data);

    // Counters: headers sent; TOA untouched.
    let headers = lab.dataplane_stat("lb1", "proxy_headers");
    assert!(headers >= 8, "proxy_headers {headers}");
    assert_eq!(lab.dataplane_stat("lb1", "toa_added"), 0);
    assert_eq!(lab.dataplane_stat("lb1", "toa_skipped"), 0);

    // A lossy path, on the client and the reals (frames XDP forwards skip
    // lb1's hooks and qdiscs; netem is not in every kernel, nftables
    // also reaches the reals' way in): 3% of the echo's segments each way,
    // so segments are sent again across the shifted sequence space.
    let load = |node: &str, name: &str, rules: String| {
        let file = dir.path().join(format!("{node}-{name}.nft"));
        std::fs::write(&file, rules).unwrap();
        lab.exec_ok(node, &["nft", "-f", &file.to_string_lossy()]);
    };
    load("client", "loss", client_loss());
    for (web, _) in REALS {
        load(web, "loss", real_loss());
    }
    let s = connect(&client_ns, ECHO_V2);
    let data = pattern(TEN_MIB, 4);
    assert_same("10 MiB over a lossy path", &echo_through(s, &data), &data);
    let lost = |node: &str, (table, chain): (&str, &str), comment: &str| {
        xlvs_tests::loss::dropped_by(&lab, node, (table, chain), comment)
    };
    let reals = |chain: (&str, &str), comment: &str| {
        lost("web1", chain, comment) + lost("web2", chain, comment)
    };
    assert!(lost("client", ("proxy_loss", "out"), "lossy") > 0);
    assert!(reals(("proxy_loss", "out"), "lossy") > 0);
    assert!(reals(("proxy_loss", "in"), "lossy") > 0);

    for node in ["client", "web1", "web2"] {
        lab.exec_ok(node, &["nft", "delete", "table", "inet", "proxy_loss"]);
    }
    let errors = servers.seen.lock().unwrap().errors.clone();
    assert!(
        errors.is_empty(),
        "headers refused by the reals: {errors:?}"
    );

    // A reload changes the mode: an open connection keeps its shift, new
    // ones get the new header.
    let mut open = connect(&client_ns, ECHO_V2);
    let open_port = open.local_addr().unwrap().port();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let roundtrip = |s: &mut TcpStream, seed: u32| {
        let data = pattern(100_000, seed);
        s.write_all(&data).unwrap();
        let mut back = vec![0u8; data.len()];
        s.read_exact(&mut back).unwrap();
        assert_same("the open connection", &back, &data);
    };
    roundtrip(&mut open, 10);
    rewrite(
        &lb1,
        "client_address = \"proxy-v2\"",
        "client_address = \"proxy-v1\"",
    );
    lab.exec_ok("lb1", &["xlvsadm", "--node", "lb1", "reload"]);
    let listing = text(&lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n"]));
    assert!(
        listing.contains(&format!("TCP  {VIP}:{ECHO_V2} mh proxy-v1")),
        "{listing}"
    );
    roundtrip(&mut open, 11);
    assert_eq!(header_of(&servers, open_port).version, 2);
    drop(open);
    let s = connect(&client_ns, ECHO_V2);
    let local = s.local_addr().unwrap().port();
    let data = pattern(100_000, 12);
    assert_same("after the reload", &echo_through(s, &data), &data);
    assert_eq!(header_of(&servers, local).version, 1);
    // (Port ECHO_V2 sends v1 now.) Each connection's first segment with
    // the header lost on
    // the way into the real (the handshake's ACK, which carries it
    // alone): the header must come again with the client's next segment
    // at ISN + 1, a first data segment of 100 bytes, then one of a full
    // MSS (which cannot grow: the header alone, then the data again).
    for (web, _) in REALS {
        load(web, "first-header", first_header_loss());
    }
    for (i, first) in [100, 100, 100, 100, 0, 0, 0, 0].into_iter().enumerate() {
        let s = connect(&client_ns, ECHO_V2);
        let local = s.local_addr().unwrap().port();
        let data = pattern(20_000, 100 + i as u32);
        let t = Instant::now();
        let back = echo_staged(s, &data, first);
        let errors = servers.seen.lock().unwrap().errors.clone();
        let what = format!(
            "header lost, then a first segment of {} (client port {local}, {:?}; the reals' errors: {errors:?})",
            if first > 0 { "100 bytes" } else { "a full MSS" },
            t.elapsed()
        );
        assert_same(&what, &back, &data);
        let h = header_of(&servers, local);
        assert_eq!(h.src, SocketAddrV4::new(CLIENT, local));
    }
    let first_lost = reals(("proxy_first_header", "in"), "first header segment");
    assert_eq!(first_lost, 8, "one lost per connection");
    let errors = servers.seen.lock().unwrap().errors.clone();
    assert!(errors.is_empty(), "{errors:?}");
    drop(servers);
}

/// One round on an open echo connection: `len` bytes out, the same back.
fn round(s: &mut TcpStream, len: usize, seed: u32) -> Result<(), String> {
    let data = pattern(len, seed);
    s.write_all(&data).map_err(|e| format!("write: {e}"))?;
    let mut back = vec![0u8; len];
    s.read_exact(&mut back).map_err(|e| format!("read: {e}"))?;
    match first_difference(&back, &data) {
        None => Ok(()),
        Some(at) => Err(format!("first difference at byte {at} of {len}")),
    }
}

/// With flow sync ([cluster], labs/ecmp-fullnat), a proxied connection
/// whose director is killed goes on through another: the peer installed
/// it with its owner's shift and shifts the same way (a wrong or missing
/// shift would corrupt the echo or stall it).
#[test]
fn proxied_connections_survive_a_director_kill_with_sync() {
    const LBS: [&str; 4] = ["lb1", "lb2", "lb3", "lb4"];
    const PORT: u16 = 9000;
    let vip: Ipv4Addr = ECMP_FULLNAT.vip.parse().unwrap();
    let dir = lab_copy(ECMP_FULLNAT.lab);
    for lb in LBS {
        let file = ECMP_FULLNAT.config(dir.path(), lb);
        let reals: String = ECMP_FULLNAT
            .reals
            .iter()
            .map(|(_, a)| format!("[[service.real]]\naddress = \"{a}\"\n"))
            .collect();
        let service = format!(
            "\n[[service]]\nname = \"proxied\"\nvip = \"{vip}\"\nprotocol = \"tcp\"\nports = [{PORT}]\n\
             scheduler = \"mh\"\nforward = \"fullnat\"\nclient_address = \"proxy-v2\"\n\
             [service.health]\ncheck = \"http\"\nport = 80\npath = \"/\"\nexpect_status = 200\n\
             interval = \"1s\"\ntimeout = \"500ms\"\nrise = 2\nfall = 2\n{reals}"
        );
        let text = std::fs::read_to_string(&file).unwrap() + &service;
        std::fs::write(&file, text).unwrap();
    }
    let lab = ECMP_FULLNAT.up(dir.path());
    let reals: Vec<(&str, Ipv4Addr)> = ECMP_FULLNAT
        .reals
        .iter()
        .map(|(n, a)| (*n, a.parse().unwrap()))
        .collect();
    let servers = serve(&lab, &reals, &[PORT]);
    let client_ns = lab.netns("client");

    // Connections over every director (r1 hashes their ports).
    let mut conns: Vec<(u16, TcpStream)> = (0..24)
        .map(|_| {
            let s = connect_from(&client_ns, (ECMP_FULLNAT.vip, PORT));
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            (s.local_addr().unwrap().port(), s)
        })
        .collect();
    for (i, (port, s)) in conns.iter_mut().enumerate() {
        round(s, 64 << 10, i as u32).unwrap_or_else(|e| panic!("port {port}: {e}"));
        let h = header_of(&servers, *port);
        assert_eq!(
            (h.version, h.src, h.dst),
            (
                2,
                SocketAddrV4::new(CLIENT, *port),
                SocketAddrV4::new(vip, PORT)
            )
        );
    }

    // The director that made the most of them (it lists them without an
    // owner; its peers list them with it).
    let made = |lb: &str| -> Vec<u16> {
        let t = control(&ECMP_FULLNAT.socket(lb), "ipvs.list", &["connections"])
            .unwrap_or_else(|e| panic!("{lb}: {e}"));
        let virt = format!("{vip}:{PORT}");
        t["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .filter(|c| c["virtual"] == virt.as_str() && c.get("owner").is_none())
            .filter_map(|c| c["source"].as_str()?.rsplit(':').next()?.parse().ok())
            .filter(|p| conns.iter().any(|(q, _)| q == p))
            .collect()
    };
    let (victim, moved) = LBS
        .iter()
        .map(|lb| (*lb, made(lb)))
        .max_by_key(|(_, m)| m.len())
        .unwrap();
    assert!(!moved.is_empty(), "no director lists the connections");
    println!("{victim} made {} of the connections: killed", moved.len());
    let pid = ECMP_FULLNAT.xlvsd_pid(&lab, victim);
    signal(pid, libc::SIGKILL);
    let rest: Vec<String> = LBS
        .iter()
        .filter(|lb| **lb != victim)
        .map(|lb| format!("10.0.1.1{}", lb.strip_prefix("lb").unwrap()))
        .collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    lab.wait_nexthops("r1", ECMP_FULLNAT.vip, &rest, Duration::from_secs(30));

    // Through the survivors now, both ways, every connection.
    for r in 0..5 {
        for (i, (port, s)) in conns.iter_mut().enumerate() {
            let moved = if moved.contains(port) { " (moved)" } else { "" };
            round(s, 32 << 10, (100 + r * 24 + i) as u32)
                .unwrap_or_else(|e| panic!("port {port}{moved}, round {r}: {e}"));
        }
    }
    // The survivors installed them with their shift: none left out for
    // the want of one.
    for lb in LBS.iter().filter(|lb| **lb != victim) {
        let sync = control(&ECMP_FULLNAT.socket(lb), "sync", &[]).unwrap();
        let text = sync.to_string();
        assert!(!text.contains("no_proxy_shift"), "{lb}: {sync:#}");
        assert!(!text.contains("not_proxied_here"), "{lb}: {sync:#}");
    }
    let errors = servers.seen.lock().unwrap().errors.clone();
    assert!(errors.is_empty(), "{errors:?}");
    drop(conns);
    drop(servers);
}
