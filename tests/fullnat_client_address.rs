//! FULLNAT reals learn the client's address from a TOA option
//! (client_address = "toa"): labs/nat.clab.yml with lb1's service set to
//! send it, real TCP clients (Linux: timestamps, SACK and window scaling
//! on), and a packet socket on each real that sees what arrives. The
//! option carries the client's address and port on the handshake's ACK and
//! the first data segment, never on a SYN nor later; every checksum holds;
//! a first segment too big to grow goes without it (counted) and the
//! connection works all the same.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use xlvs_tests::{connect_from, in_netns, lab_variant, rewrite, text, Lab};

const VIP: &str = "192.0.2.20";
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const TOA_KIND: u8 = 254;

/// A packet socket (every protocol) opened in namespace `netns`: it keeps
/// seeing that namespace's frames.
fn packet_socket(netns: &str) -> OwnedFd {
    in_netns(netns, || {
        let all = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, all) };
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: fd is a fresh socket nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let size: libc::c_int = 8 << 20;
        // SAFETY: setsockopt with a c_int of the size given.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        fd
    })
}

/// Every frame queued on a packet socket (bounded: it stops at an empty
/// queue or after 100,000 frames).
fn drain(fd: &OwnedFd) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..100_000 {
        // SAFETY: recv into a buffer of the length given.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            break;
        }
        frames.push(buf[..n as usize].to_vec());
    }
    frames
}

fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A TCP segment as the real received it.
#[derive(Debug)]
struct Seg {
    src: (Ipv4Addr, u16),
    flags: u8,
    seq: u32,
    payload: usize,
    /// The TOA option: the client's address and port.
    toa: Option<(Ipv4Addr, u16)>,
    /// The kinds of its options (NOPs left out).
    kinds: Vec<u8>,
}

/// The TCP segments to port `port` of `real` among `frames`, each with
/// its IP and TCP checksums verified.
fn segments(frames: &[Vec<u8>], real: Ipv4Addr, port: u16) -> Vec<Seg> {
    let mut out = Vec::new();
    for f in frames {
        if f.len() < 14 + 40 || f[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &f[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        // From lb1's local addresses: what XDP sent (lb1's own health
        // checks come from its address, with checksums left to offload).
        if ip[9] != 6 || dst != real || total > ip.len() || src.octets()[..3] != [10, 255, 1] {
            continue;
        }
        let tcp = &ip[ihl..total];
        if u16::from_be_bytes([tcp[2], tcp[3]]) != port {
            continue;
        }
        assert_eq!(csum(&ip[..ihl]), 0, "IP checksum of {f:02x?}");
        let mut pseudo = ip[12..20].to_vec();
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(tcp);
        assert_eq!(csum(&pseudo), 0, "TCP checksum of {f:02x?}");
        let doff = usize::from(tcp[12] >> 4) * 4;
        let mut toa = None;
        let mut kinds = Vec::new();
        let mut opts = &tcp[20..doff];
        while let [kind, rest @ ..] = opts {
            match *kind {
                0 => break,
                1 => opts = rest,
                _ => {
                    kinds.push(*kind);
                    let len = usize::from(rest[0]).max(2);
                    if *kind == TOA_KIND {
                        assert_eq!(len, 8, "TOA length");
                        let port = u16::from_be_bytes([opts[2], opts[3]]);
                        toa = Some((Ipv4Addr::new(opts[4], opts[5], opts[6], opts[7]), port));
                    }
                    opts = &opts[len.min(opts.len())..];
                }
            }
        }
        out.push(Seg {
            src: (src, u16::from_be_bytes([tcp[0], tcp[1]])),
            flags: tcp[13],
            seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
            payload: tcp.len() - doff,
            toa,
            kinds,
        });
    }
    out
}

/// The segments the reals got for the client's connection from
/// `client_port`: the flow (local address and port) whose TOA names it.
fn flow_of(segs: &[Seg], client_port: u16) -> Vec<&Seg> {
    let want = Some((CLIENT, client_port));
    let flow = segs
        .iter()
        .find(|s| s.toa == want)
        .unwrap_or_else(|| panic!("no TOA for client port {client_port}: {segs:#?}"))
        .src;
    segs.iter().filter(|s| s.src == flow).collect()
}

/// Asserts what the docs promise about one connection's segments: the SYN
/// bare, the handshake's ACK and the first data segment (unless
/// `first_too_big`) with the client, everything after without.
fn assert_toa_on_first_packets(flow: &[&Seg], client_port: u16, first_too_big: bool) {
    let want = Some((CLIENT, client_port));
    let syn = flow.iter().find(|s| s.flags & 0x02 != 0).expect("the SYN");
    assert_eq!(syn.toa, None, "never on a SYN: {flow:#?}");
    // Linux's defaults: MSS, SACK, timestamps, window scaling.
    for kind in [2, 3, 4, 8] {
        assert!(
            syn.kinds.contains(&kind),
            "option {kind} on the SYN: {flow:#?}"
        );
    }
    let first = syn.seq.wrapping_add(1);
    let ack = flow
        .iter()
        .find(|s| s.flags & 0x02 == 0 && s.payload == 0)
        .expect("the handshake's ACK");
    assert_eq!((ack.seq, ack.toa), (first, want), "{flow:#?}");
    assert!(ack.kinds.contains(&8), "after the timestamps: {flow:#?}");
    let data = flow.iter().find(|s| s.payload > 0).expect("a data segment");
    assert_eq!(data.seq, first, "{flow:#?}");
    if first_too_big {
        assert_eq!(data.toa, None, "no room in a full segment: {flow:#?}");
    } else {
        assert_eq!(data.toa, want, "the first data segment: {flow:#?}");
    }
    for s in flow.iter().filter(|s| s.seq != first) {
        assert_eq!(s.toa, None, "past the first segment: {flow:#?}");
    }
}

fn read_all(mut s: TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("the answer");
    got
}

#[test]
fn toa_carries_the_client_to_fullnat_reals() {
    let (_dir, file, lab_dir) = lab_variant("nat", "toa");
    rewrite(
        &lab_dir.join("lb1.toml"),
        "forward = \"fullnat\"\n",
        "forward = \"fullnat\"\nclient_address = \"toa\"\n",
    );
    let lab = Lab::up(&file);
    lab.wait_nexthops("r1", VIP, &["10.0.1.11"], Duration::from_secs(60));
    lab.wait_nexthops("r1", "10.255.1.1", &["10.0.1.11"], Duration::from_secs(30));
    lab.wait_http("client", VIP);
    lab.wait_echo("client", VIP);

    let reals = [
        ("web1", Ipv4Addr::new(10, 0, 1, 21)),
        ("web2", Ipv4Addr::new(10, 0, 1, 22)),
    ];
    let sockets: Vec<OwnedFd> = reals
        .iter()
        .map(|(w, _)| packet_socket(&lab.netns(w)))
        .collect();
    for s in &sockets {
        drain(s);
    }
    let client_ns = lab.netns("client");

    // An HTTP request in the first data segment.
    let mut http = connect_from(&client_ns, (VIP, 80));
    let http_port = http.local_addr().unwrap().port();
    http.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let answer = String::from_utf8(read_all(http)).unwrap();
    assert!(
        answer.contains("200 OK") && answer.contains("web"),
        "{answer}"
    );

    // A client that pauses before its request.
    let mut slow = connect_from(&client_ns, (VIP, 80));
    let slow_port = slow.local_addr().unwrap().port();
    std::thread::sleep(Duration::from_secs(1));
    slow.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let answer = String::from_utf8(read_all(slow)).unwrap();
    assert!(answer.contains("200 OK"), "{answer}");

    // A first segment of a full MSS: 8 bytes more would pass the MTU.
    let mut big = connect_from(&client_ns, (VIP, 7));
    let big_port = big.local_addr().unwrap().port();
    let sent: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
    big.write_all(&sent).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut back = vec![0u8; sent.len()];
    big.read_exact(&mut back).expect("the echo");
    assert!(back == sent, "echoed byte for byte");
    drop(big);
    std::thread::sleep(Duration::from_millis(500));

    let mut http_segs = Vec::new();
    let mut echo_segs = Vec::new();
    for ((_, addr), s) in reals.iter().zip(&sockets) {
        let frames = drain(s);
        http_segs.extend(segments(&frames, *addr, 80));
        echo_segs.extend(segments(&frames, *addr, 7));
    }
    assert_toa_on_first_packets(&flow_of(&http_segs, http_port), http_port, false);
    assert_toa_on_first_packets(&flow_of(&http_segs, slow_port), slow_port, false);
    let big_flow = flow_of(&echo_segs, big_port);
    assert!(big_flow.iter().any(|s| s.payload >= 1400), "{big_flow:#?}");
    assert_toa_on_first_packets(&big_flow, big_port, true);

    let added = lab.dataplane_stat("lb1", "toa_added");
    let skipped = lab.dataplane_stat("lb1", "toa_skipped");
    assert!(added >= 5, "toa_added {added}");
    assert!(skipped >= 1, "toa_skipped {skipped}");

    // Through the flow cache and the counters, connections carry on as
    // before: many requests, each answered.
    let answers: BTreeMap<String, usize> = lab.http_answers("client", VIP, 20);
    assert_eq!(answers.values().sum::<usize>(), 20);
    lab.echo_checks("client", VIP, &["1", "1048576"]);

    // ipvsadm's listing names it.
    let listing = lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n"]);
    let listing = text(&listing);
    assert!(
        listing.contains(&format!("TCP  {VIP}:80 mh toa")),
        "{listing}"
    );
}
