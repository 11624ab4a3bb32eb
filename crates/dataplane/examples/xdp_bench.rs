//! Per-packet cost of each XDP path, measured with BPF_PROG_TEST_RUN next
//! to a baseline program (parse Ethernet, swap MACs, XDP_TX) in the same
//! run, so the ratio is stable on a noisy machine.
//!
//!   sudo cargo run --release -p xlvs-dataplane --example xdp_bench [REPEAT]
//!
//! `XLVS_BENCH_LOADS=N` runs each table N times, each with the program and
//! its maps loaded afresh, and prints each row's medians and the spread of
//! its ratio: from one load to the next the tables land elsewhere in
//! memory, and on a VM that moves a row by 10-20%, far more than the
//! rounds within one load do.
//!
//! Needs root. TUN, NAT and FULLNAT look up routes: the bench makes a
//! network namespace of its own (a veth pair, routes and permanent
//! neighbours), runs there as if packets arrived on the veth, and deletes
//! it at the end.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;
use xlvs_dataplane::abi::Globals;
use xlvs_dataplane::floor::Floor;
use xlvs_dataplane::sched_model::{CountKind, SequenceKind};
use xlvs_dataplane::{
    Dataplane, Forward, HashOn, Limits, NextHop, Protocol, ProxyVersion, RealSpec, Scheduling,
    ServiceSpec, XDP_TX,
};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// The MAC test frames are addressed to (d0's, for the program).
const D0_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

/// Ethernet + IPv4 + TCP (checksums do not matter to the program).
fn frame(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0xfe, 0x08, 0x00];
    let mut iph = vec![0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0];
    iph.extend_from_slice(&src.octets());
    iph.extend_from_slice(&dst.octets());
    f.extend_from_slice(&iph);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.resize(14 + 60, 0);
    f
}

struct Netns {
    /// Ours alone: xlvs-bench-<pid>.
    name: String,
    /// The interface packets "arrive" on (d0).
    ifindex: u32,
}

impl Netns {
    fn enter() -> Netns {
        let name = format!("xlvs-bench-{}", std::process::id());
        ip(&["netns", "add", &name]);
        // From here on, dropping the guard removes the namespace.
        let mut guard = Netns {
            name: name.clone(),
            ifindex: 0,
        };
        let n = |a: &[&str]| {
            let mut v = vec!["-n", &name];
            v.extend_from_slice(a);
            ip(&v);
        };
        n(&["link", "set", "lo", "up"]);
        // bpf_fib_lookup answers only where forwarding is on.
        ip(&[
            "netns",
            "exec",
            &name,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.forwarding=1",
        ]);
        // (veth: some kernels lack the dummy device)
        n(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
        n(&["link", "set", "d0", "up"]);
        n(&["link", "set", "d1", "up"]);
        n(&["addr", "add", "10.0.1.1/24", "dev", "d0"]);
        for r in 21..29 {
            n(&[
                "neigh",
                "add",
                &format!("10.0.1.{r}"),
                "lladdr",
                &format!("02:aa:00:00:00:{r:02x}"),
                "dev",
                "d0",
                "nud",
                "permanent",
            ]);
        }
        // Clients are behind a router (for NAT and FULLNAT replies).
        n(&[
            "neigh",
            "add",
            "10.0.1.254",
            "lladdr",
            "02:00:00:00:00:fe",
            "dev",
            "d0",
            "nud",
            "permanent",
        ]);
        n(&["route", "add", "198.18.0.0/15", "via", "10.0.1.254"]);
        n(&["route", "add", "203.0.113.0/24", "via", "10.0.1.254"]);
        let f = std::fs::File::open(format!("/run/netns/{name}")).expect("netns file");
        // SAFETY: setns on a namespace descriptor we opened; this
        // process is single-threaded here.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        // (not /sys: it shows the namespace it was mounted in)
        // SAFETY: a NUL-terminated name; looked up in our new namespace.
        guard.ifindex = unsafe { libc::if_nametoindex(c"d0".as_ptr()) };
        assert_ne!(guard.ifindex, 0, "d0 not found");
        guard
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// How a path is measured: the same packet repeated in the kernel, or one
/// run per call with the packet `make(i)` for call i (paths that change
/// the packet's size or addresses, which the kernel would feed to the next
/// repetition, and new flows, which need a new flow each time).
enum Mode {
    Repeat(Vec<u8>),
    Once(Box<dyn Fn(u32) -> Vec<u8>>),
    /// `flows` flows to `port` from clients counted up from `base`, made
    /// with a SYN each before the row's first round (not timed); then one
    /// ACK per call, each of another flow, spread over the whole set the
    /// way a busy director's traffic is: the table cache-cold, as Katran's
    /// "ACK round-robin over established flows" row.
    Spread {
        flows: u32,
        port: u16,
        base: Ipv4Addr,
    },
}

/// What a row changes while it is measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    Default,
    /// Flow-state sync on (the sync ring written).
    Sync,
    /// The next hop map off: the FIB answers every new flow.
    Fib,
    /// The NAT service removed (no packet needs a look at its source).
    NoNat,
    /// The early exit for traffic to no service off (bpf/addrs.h): as
    /// before it existed.
    NoExit,
    /// Both.
    NoExitNoNat,
}
use Setting::{Default as Plain, Fib, NoExit, NoExitNoNat, NoNat, Sync};

/// Flow `i` of a set counted up from `base` (new-flow rows, and
/// [`Mode::Spread`]): its client and source port.
fn spread_flow(base: Ipv4Addr, i: u32) -> (Ipv4Addr, u16) {
    (
        Ipv4Addr::from(u32::from(base) + i / 50_000),
        1024 + (i % 50_000) as u16,
    )
}

/// Floor rows' flows: their own clients, the same in every design.
fn floor_spread(flows: u32) -> Mode {
    let base = if flows > 100_000 {
        [198, 25, 0, 0]
    } else {
        [198, 24, 0, 0]
    };
    Mode::Spread {
        flows,
        port: 79,
        base: Ipv4Addr::from(base),
    }
}

/// Whether any floor row is wanted (they load 2 GiB of tables).
fn floor_rows() -> bool {
    std::env::var("XLVS_BENCH_ONLY").map_or(true, |o| {
        "  of which: insert alone, floor: ACKs over".contains(o.as_str()) || o.contains("floor")
    })
}

fn main() {
    let repeat: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // The per-CPU floor designs find a flow only on the CPU that stored
    // it: the whole run stays on one CPU (as Katran's harness does).
    if floor_rows() {
        let cpu: usize = std::env::var("XLVS_BENCH_CPU")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        // SAFETY: a zeroed cpu_set_t is valid; the call only reads it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            let r = libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
            assert_eq!(r, 0, "pin to CPU {cpu}");
        }
        println!("(on CPU {cpu})");
    }
    let loads: usize = std::env::var("XLVS_BENCH_LOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let ns = Netns::enter();
    println!("flow cache on (the default):");
    print_rows(
        &(0..loads)
            .map(|_| table(&ns, repeat, Limits::default().flow_cache))
            .collect::<Vec<_>>(),
    );
    println!("\nflow cache off (every packet looks up its service and connection, and the FIB):");
    print_rows(
        &(0..loads)
            .map(|_| table(&ns, repeat, 0))
            .collect::<Vec<_>>(),
    );
}

/// One path's figures from one load.
struct Row {
    name: &'static str,
    /// ns per packet, its ratio to the baseline measured the same way, and
    /// ns with the per-call overhead taken off.
    ns: f64,
    ratio: f64,
    net: f64,
    action: u32,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Prints the rows of one or more loads of a table: each figure the
/// median of the loads, and with more than one the ratio's spread.
fn print_rows(loads: &[Vec<Row>]) {
    println!(
        "{:<56} {:>10} {:>8} {:>8} {:>8}",
        "path", "ns/packet", "x base", "net ns", "action"
    );
    let names = ["ABORTED", "DROP", "PASS", "TX", "REDIRECT"];
    for (i, row) in loads[0].iter().enumerate() {
        let of = |f: fn(&Row) -> f64| loads.iter().map(|l| f(&l[i])).collect::<Vec<_>>();
        let ratios = of(|r| r.ratio);
        let spread = if loads.len() > 1 {
            let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
            let hi = ratios.iter().copied().fold(0.0, f64::max);
            format!("   [{lo:.2}-{hi:.2}]")
        } else {
            String::new()
        };
        println!(
            "{:<56} {:>10.1} {:>8.2} {:>8.1} {:>8}{spread}",
            row.name,
            median(of(|r| r.ns)),
            median(ratios),
            median(of(|r| r.net)),
            names.get(row.action as usize).unwrap_or(&"?")
        );
    }
}

/// Loads the program with `flow_cache` entries per CPU and measures each
/// path.
fn table(ns: &Netns, repeat: u32, flow_cache: u32) -> Vec<Row> {
    // Room for the million flows of the largest spread row next to what
    // the new-flow rows add, so that LRU eviction never takes one of them.
    let limits = Limits {
        flow_cache,
        conntrack: 1 << 22,
        ..Limits::default()
    };
    let mut dp = Dataplane::load(limits).expect("load (are you root?)");
    dp.set_globals(Globals {
        tun_src: [10, 0, 1, 1],
        ..dp.globals().unwrap()
    })
    .unwrap();
    // Frames arrive addressed to d0, as on a real interface.
    dp.set_interface_mac(ns.ifindex, D0_MAC).unwrap();
    // Four, so that the FULLNAT rows' flows (several hundred thousand)
    // find free local ports at their first tries.
    let laddrs: Vec<Ipv4Addr> = (100..104).map(|n| Ipv4Addr::new(10, 0, 1, n)).collect();
    dp.set_local_addresses(&laddrs).unwrap();
    let reals: Vec<RealSpec> = (21..29)
        .map(|n| RealSpec {
            addr: Ipv4Addr::new(10, 0, 1, n),
            port: 0,
            weight: 1,
            mac: [2, 0xaa, 0, 0, 0, n],
        })
        .collect();
    let service = |id, port, forward| ServiceSpec {
        id,
        vip: VIP,
        protocol: Protocol::Tcp,
        ports: vec![port],
        forward,
        scheduler: Scheduling::Maglev(HashOn::Flow),
        persistence: None,
        toa: None,
        proxy: None,
        reals: reals.clone(),
    };
    dp.set_service(&service(1, 80, Forward::Dr)).unwrap();
    dp.set_service(&service(2, 443, Forward::Tun)).unwrap();
    dp.set_service(&service(3, 8443, Forward::Fullnat)).unwrap();
    // (Removed while the "no NAT service" rows run.)
    let nat_service = service(4, 8080, Forward::Nat);
    dp.set_service(&nat_service).unwrap();
    // Each real's next hop, as xlvsd keeps it from rtnetlink (bpf/fib.h):
    // new TUN, NAT and FULLNAT flows skip the FIB lookup; rows marked
    // "FIB lookup" turn the map off.
    for r in &reals {
        let hop = NextHop {
            ifindex: ns.ifindex,
            dmac: r.mac,
            smac: D0_MAC,
            mtu: 1500,
        };
        dp.set_next_hop(r.addr, Some(hop)).unwrap();
    }
    dp.set_next_hop_cache(true).unwrap();
    // New DR flows under the per-director schedulers, each a service of
    // its own with the same reals as the mh row (port 80).
    for (id, port, scheduler) in [
        (7, 9001, Scheduling::Sequence(SequenceKind::Rr)),
        (8, 9002, Scheduling::Sequence(SequenceKind::Wrr)),
        (9, 9003, Scheduling::Counts(CountKind::Lc)),
        (10, 9004, Scheduling::Counts(CountKind::Wlc)),
    ] {
        dp.set_service(&ServiceSpec {
            scheduler,
            ..service(id, port, Forward::Dr)
        })
        .unwrap();
    }
    // FULLNAT's new flows with sync on: a service of their own, so the
    // flows of the row without sync leave its local ports free (a port is
    // taken per local address, real and real port).
    dp.set_service(&service(6, 8444, Forward::Fullnat)).unwrap();
    // The reader of the sync ring, drained after every run of a row with
    // sync on (outside the time the kernel measures), as by a daemon that
    // keeps up: the ring never fills, and the program wakes the reader as
    // it would wake a daemon (at most once a tick per CPU, bpf/sync.h).
    let mut events = dp.take_sync_events().expect("the sync ring");
    // Repeated runs feed the program its own output: for the DR row, a
    // real whose MAC is d0's, so every repetition arrives for us.
    dp.set_service(&ServiceSpec {
        reals: vec![RealSpec {
            mac: D0_MAC,
            ..reals[0]
        }],
        ..service(5, 81, Forward::Dr)
    })
    .unwrap();
    let client = Ipv4Addr::new(203, 0, 113, 5);
    // The new-flow floor's designs of per-flow state (bpf/floor.c), in
    // the first table only (they do not use the flow cache).
    let floor = (flow_cache != 0 && floor_rows()).then(|| Floor::load().expect("load bpf/floor.c"));
    let run = |dp: &Dataplane, prog: &str, pkt: &[u8], n: u32| match &floor {
        Some(f) if prog.starts_with("floor_") => f.run_on(prog, pkt, n, ns.ifindex).unwrap(),
        _ => dp.run_on(prog, pkt, n, ns.ifindex).unwrap(),
    };
    // FULLNAT with TOA (bpf/toa.h): only when its rows run, since the
    // first such service makes every FULLNAT flow's slow path look for a
    // TOA (G_F_TOA), which the plain rows would then pay for.
    let toa_rows = std::env::var("XLVS_BENCH_ONLY")
        .map(|o| "fullnat+toa".contains(o.as_str()) || o.contains("toa"))
        .unwrap_or(true);
    // (client port, packet at the sequence number after the SYN's)
    let at_first_seq = |sport: u16| {
        let mut f = frame(client, VIP, sport, 8445, 0x10);
        f[38..42].copy_from_slice(&2u32.to_be_bytes());
        f
    };
    if toa_rows {
        dp.set_service(&ServiceSpec {
            toa: Some(254),
            ..service(11, 8445, Forward::Fullnat)
        })
        .unwrap();
        // A flow due its TOA (the SYN's sequence number is 1), and one
        // past it (an ACK at 1 ends it).
        for sport in [40000, 40001] {
            run(&dp, "xlvs", &frame(client, VIP, sport, 8445, 0x02), 1);
        }
        run(&dp, "xlvs", &frame(client, VIP, 40001, 8445, 0x10), 1);
    }
    // FULLNAT with the PROXY protocol (bpf/proxy.h), likewise only when
    // its rows run (G_F_PROXY sends every FULLNAT flow's slow path to the
    // step after it, as G_F_TOA does).
    let proxy_rows = std::env::var("XLVS_BENCH_ONLY")
        .map(|o| "fullnat+proxy-v2".contains(o.as_str()) || o.contains("proxy"))
        .unwrap_or(true);
    // The real's ACK of flow 40001's header and 100 bytes (its SYN's
    // sequence number is 1: the header is at 2..30), as the reply row.
    let mut proxy_reply = Vec::new();
    if proxy_rows {
        dp.set_service(&ServiceSpec {
            proxy: Some(ProxyVersion::V2),
            ..service(12, 8446, Forward::Fullnat)
        })
        .unwrap();
        // Flow 40000 stays due its header; flow 40001's is acknowledged.
        run(&dp, "xlvs", &frame(client, VIP, 40000, 8446, 0x02), 1);
        let out = run(&dp, "xlvs", &frame(client, VIP, 40001, 8446, 0x02), 1).packet;
        let ip = &out[14..34];
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let sport = u16::from_be_bytes([out[34], out[35]]);
        let dport = u16::from_be_bytes([out[36], out[37]]);
        proxy_reply = frame(dst, src, dport, sport, 0x10);
        proxy_reply[42..46].copy_from_slice(&(2u32 + 28 + 100).to_be_bytes());
        run(&dp, "xlvs", &proxy_reply, 1);
    }
    let at_proxy_seq = |sport: u16| {
        let mut f = frame(client, VIP, sport, 8446, 0x10);
        f[38..42].copy_from_slice(&2u32.to_be_bytes());
        f
    };
    // Establish the flows the "hit" and "reply" paths use; note where the
    // FULLNAT and NAT ones went.
    let mut way_back = Vec::new();
    run(&dp, "xlvs", &frame(client, VIP, 40000, 81, 0x02), 1);
    for port in [80, 443, 8443, 8080] {
        let out = run(&dp, "xlvs", &frame(client, VIP, 40000, port, 0x02), 1).packet;
        let ip = &out[14..34];
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let sport = u16::from_be_bytes([out[34], out[35]]);
        let dport = u16::from_be_bytes([out[36], out[37]]);
        // The real's answer: from where it was sent to, to where from.
        way_back.push(frame(dst, src, dport, sport, 0x10));
    }
    // Rows with sync on take their clients from 198.19/16, so their flows
    // are new too.
    let new_flow_from = |port: u16, base: Ipv4Addr| -> Box<dyn Fn(u32) -> Vec<u8>> {
        Box::new(move |i| {
            let (c, sport) = spread_flow(base, i);
            frame(c, VIP, sport, port, 0x02)
        })
    };
    let new_flow = |port: u16| new_flow_from(port, Ipv4Addr::new(198, 18, 0, 0));
    let new_synced_flow = |port: u16| new_flow_from(port, Ipv4Addr::new(198, 19, 0, 0));
    let same = |pkt: Vec<u8>| -> Box<dyn Fn(u32) -> Vec<u8>> { Box::new(move |_| pkt.clone()) };
    let ack = |port| frame(client, VIP, 40000, port, 0x10);
    let new_fib_flow = |port: u16| new_flow_from(port, Ipv4Addr::new(198, 22, 0, 0));
    let not_vip = frame(client, Ipv4Addr::new(192, 0, 2, 99), 40000, 80, 0x10);
    // (name, program, how, what it changes)
    let paths: Vec<(&str, &str, Mode, Setting)> = vec![
        (
            "baseline (swap MACs, XDP_TX)",
            "baseline",
            Mode::Repeat(ack(80)),
            Plain,
        ),
        ("dr, known flow", "xlvs", Mode::Repeat(ack(81)), Plain),
        (
            "dr, SYN again (known flow)",
            "xlvs",
            Mode::Repeat(frame(client, VIP, 40000, 81, 0x02)),
            Plain,
        ),
        (
            "not a VIP (XDP_PASS)",
            "xlvs",
            Mode::Repeat(not_vip.clone()),
            Plain,
        ),
        (
            "not a VIP (XDP_PASS), no NAT service",
            "xlvs",
            Mode::Repeat(not_vip.clone()),
            NoNat,
        ),
        (
            "not a VIP (XDP_PASS), early exit off",
            "xlvs",
            Mode::Repeat(not_vip.clone()),
            NoExit,
        ),
        (
            "not a VIP (XDP_PASS), early exit off, no NAT service",
            "xlvs",
            Mode::Repeat(not_vip.clone()),
            NoExitNoNat,
        ),
        (
            "once: baseline",
            "baseline",
            Mode::Once(same(ack(80))),
            Plain,
        ),
        ("dr, known flow", "xlvs", Mode::Once(same(ack(80))), Plain),
        (
            "dr, new flow (SYN)",
            "xlvs",
            Mode::Once(new_flow(80)),
            Plain,
        ),
        (
            "dr, new flow (SYN), rr",
            "xlvs",
            Mode::Once(new_flow(9001)),
            Plain,
        ),
        (
            "dr, new flow (SYN), wrr",
            "xlvs",
            Mode::Once(new_flow(9002)),
            Plain,
        ),
        (
            "dr, new flow (SYN), lc",
            "xlvs",
            Mode::Once(new_flow(9003)),
            Plain,
        ),
        (
            "dr, new flow (SYN), wlc",
            "xlvs",
            Mode::Once(new_flow(9004)),
            Plain,
        ),
        (
            "  of which: insert alone",
            "ct_insert",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        // Twins of the row above, each inserting into a design of its own
        // (bpf/floor.c; "parse only" is their parser alone).
        (
            "  of which: insert alone, floor: parse only",
            "floor_parse_only",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, LRU hash",
            "floor_lru",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, LRU per-CPU lists",
            "floor_lru_percpu",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, plain hash",
            "floor_hash",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, 8-way array",
            "floor_sa",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, 8-way PERCPU_ARRAY",
            "floor_sa_percpu",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "  of which: insert alone, 8-way per-CPU slices",
            "floor_sa_sliced",
            Mode::Once(new_flow(79)),
            Plain,
        ),
        (
            "dr, new flow (SYN), sync on",
            "xlvs",
            Mode::Once(new_synced_flow(80)),
            Sync,
        ),
        ("tun, known flow", "xlvs", Mode::Once(same(ack(443))), Plain),
        (
            "tun, new flow (SYN)",
            "xlvs",
            Mode::Once(new_flow(443)),
            Plain,
        ),
        (
            "tun, new flow (SYN), sync on",
            "xlvs",
            Mode::Once(new_synced_flow(443)),
            Sync,
        ),
        (
            "tun, new flow (SYN), FIB lookup",
            "xlvs",
            Mode::Once(new_fib_flow(443)),
            Fib,
        ),
        (
            "fullnat, known flow",
            "xlvs",
            Mode::Once(same(ack(8443))),
            Plain,
        ),
        (
            "fullnat, new flow (SYN)",
            "xlvs",
            Mode::Once(new_flow(8443)),
            Plain,
        ),
        (
            "fullnat, new flow (SYN), sync on",
            "xlvs",
            Mode::Once(new_synced_flow(8444)),
            Sync,
        ),
        (
            "fullnat, new flow (SYN), FIB lookup",
            "xlvs",
            Mode::Once(new_fib_flow(8443)),
            Fib,
        ),
        (
            "fullnat, reply",
            "xlvs",
            Mode::Once(same(way_back[2].clone())),
            Plain,
        ),
        (
            "fullnat+toa, known flow",
            "xlvs",
            Mode::Once(same(frame(client, VIP, 40001, 8445, 0x10))),
            Plain,
        ),
        (
            "fullnat+toa, new flow (SYN)",
            "xlvs",
            Mode::Once(new_flow(8445)),
            Plain,
        ),
        (
            "fullnat+toa, TOA added",
            "xlvs",
            Mode::Once(same(at_first_seq(40000))),
            Plain,
        ),
        (
            "fullnat+proxy-v2, known flow",
            "xlvs",
            Mode::Once(same(frame(client, VIP, 40001, 8446, 0x10))),
            Plain,
        ),
        (
            "fullnat+proxy-v2, first data packet",
            "xlvs",
            Mode::Once(same(at_proxy_seq(40000))),
            Plain,
        ),
        (
            "fullnat+proxy-v2, reply",
            "xlvs",
            Mode::Once(same(proxy_reply.clone())),
            Plain,
        ),
        (
            "dr, ACKs over 20,000 flows",
            "xlvs",
            Mode::Spread {
                flows: 20_000,
                port: 80,
                base: Ipv4Addr::new(198, 20, 0, 0),
            },
            Plain,
        ),
        (
            "dr, ACKs over 1,000,000 flows",
            "xlvs",
            Mode::Spread {
                flows: 1_000_000,
                port: 80,
                base: Ipv4Addr::new(198, 21, 0, 0),
            },
            Plain,
        ),
        (
            "tun, ACKs over 20,000 flows",
            "xlvs",
            Mode::Spread {
                flows: 20_000,
                port: 443,
                base: Ipv4Addr::new(198, 20, 0, 0),
            },
            Plain,
        ),
        (
            "tun, ACKs over 20,000 flows, FIB lookup",
            "xlvs",
            Mode::Spread {
                flows: 20_000,
                port: 443,
                base: Ipv4Addr::new(198, 20, 0, 0),
            },
            Fib,
        ),
        (
            "tun, ACKs over 1,000,000 flows",
            "xlvs",
            Mode::Spread {
                flows: 1_000_000,
                port: 443,
                base: Ipv4Addr::new(198, 21, 0, 0),
            },
            Plain,
        ),
        (
            "tun, ACKs over 1,000,000 flows, FIB lookup",
            "xlvs",
            Mode::Spread {
                flows: 1_000_000,
                port: 443,
                base: Ipv4Addr::new(198, 21, 0, 0),
            },
            Fib,
        ),
        (
            "fullnat, ACKs over 20,000 flows",
            "xlvs",
            Mode::Spread {
                flows: 20_000,
                port: 8443,
                base: Ipv4Addr::new(198, 20, 0, 0),
            },
            Plain,
        ),
        (
            "fullnat, ACKs over 20,000 flows, FIB lookup",
            "xlvs",
            Mode::Spread {
                flows: 20_000,
                port: 8443,
                base: Ipv4Addr::new(198, 20, 0, 0),
            },
            Fib,
        ),
        // A lookup hit in each floor design, cold: its flows made with a
        // SYN each first (the parse-only row makes none).
        (
            "floor: ACKs over 20,000 flows",
            "floor_parse_only",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, LRU hash",
            "floor_lru",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, LRU per-CPU lists",
            "floor_lru_percpu",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, plain hash",
            "floor_hash",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, 8-way array",
            "floor_sa",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, 8-way PERCPU_ARRAY",
            "floor_sa_percpu",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 20,000 flows, 8-way per-CPU slices",
            "floor_sa_sliced",
            floor_spread(20_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows",
            "floor_parse_only",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, LRU hash",
            "floor_lru",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, LRU per-CPU lists",
            "floor_lru_percpu",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, plain hash",
            "floor_hash",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, 8-way array",
            "floor_sa",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, 8-way PERCPU_ARRAY",
            "floor_sa_percpu",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "floor: ACKs over 1,000,000 flows, 8-way per-CPU slices",
            "floor_sa_sliced",
            floor_spread(1_000_000),
            Plain,
        ),
        (
            "nat, known flow",
            "xlvs",
            Mode::Once(same(ack(8080))),
            Plain,
        ),
        (
            "nat, reply",
            "xlvs",
            Mode::Once(same(way_back[3].clone())),
            Plain,
        ),
    ];
    let calls = (repeat / 50).max(1000);
    let mut base = 0.0;
    // A run per call costs more than a repetition (copying the packet in
    // and out, the syscall): the baselines' difference.
    let mut repeat_base = 0.0;
    let mut per_call = 0.0;
    let mut synced = 0u64;
    let mut rows = Vec::new();
    let only = std::env::var("XLVS_BENCH_ONLY").ok();
    let wanted = |name: &str, prog: &str| {
        (prog == "baseline" || only.as_ref().is_none_or(|o| name.contains(o.as_str())))
            && (toa_rows || !name.contains("toa"))
            && (proxy_rows || !name.contains("proxy"))
            && (floor.is_some() || !prog.starts_with("floor_"))
    };
    // One round of a path: its time per packet and its last action. Rows
    // with sync on drain the ring after every run.
    let mut measure =
        |dp: &mut Dataplane, prog: &str, mode: &Mode, setting: Setting, round: u32| {
            let sync = setting == Sync;
            if setting == Fib {
                dp.set_next_hop_cache(false).unwrap();
            }
            if matches!(setting, NoExit | NoExitNoNat) {
                dp.set_early_exit(false).unwrap();
            }
            if matches!(setting, NoNat | NoExitNoNat) {
                dp.remove_service(&nat_service).unwrap();
            }
            if sync {
                // (Only around its rows: the others make no ring call at all.
                // Known flows would be reported again after a minute.)
                dp.set_sync(Some(Duration::from_secs(60))).unwrap();
            }
            let out = match mode {
                Mode::Repeat(pkt) => {
                    let r = run(dp, prog, pkt, repeat);
                    (r.duration.as_nanos() as f64, r.action)
                }
                Mode::Spread { flows, port, base } => {
                    let made = |dp: &Dataplane| {
                        dp.stats()
                            .unwrap()
                            .into_iter()
                            .find(|(k, _)| *k == "conntrack_new")
                            .map_or(0, |(_, v)| v)
                    };
                    if round == 0 {
                        for i in 0..*flows {
                            let (c, sport) = spread_flow(*base, i);
                            run(dp, prog, &frame(c, VIP, sport, *port, 0x02), 1);
                        }
                    }
                    let before = made(dp);
                    let mut total = 0.0;
                    let mut act = 0;
                    let mut missed = 0u32;
                    for i in 0..calls {
                        // A stride prime to the set size visits every flow.
                        let n = ((u64::from(round * calls + i) * 7919) % u64::from(*flows)) as u32;
                        let (c, sport) = spread_flow(*base, n);
                        let r = run(dp, prog, &frame(c, VIP, sport, *port, 0x10), 1);
                        total += r.duration.as_nanos() as f64;
                        if r.action == XDP_TX {
                            act = r.action;
                        } else {
                            missed += 1;
                        }
                    }
                    // Every ACK must have found its flow (none made a new
                    // entry), or the row measured something else. A
                    // set-associative table evicts a few of a million
                    // flows from its fullest buckets (under 1% with its
                    // share per CPU): said, and counted (under 2%).
                    assert_eq!(made(dp), before, "ACKs that missed their entry");
                    if missed > 0 {
                        let few = prog.starts_with("floor_sa") && missed * 50 < calls;
                        assert!(few, "{prog}: {missed} of {calls} ACKs missed");
                        eprintln!("({prog}, {flows} flows: {missed} of {calls} ACKs missed)");
                    }
                    (total / f64::from(calls), act)
                }
                Mode::Once(make) => {
                    let mut total = 0.0;
                    let mut act = 0;
                    for i in 0..calls {
                        let r = run(dp, prog, &make(round * calls + i), 1);
                        total += r.duration.as_nanos() as f64;
                        act = r.action;
                        if sync {
                            synced += events.drain().count() as u64;
                        }
                    }
                    (total / f64::from(calls), act)
                }
            };
            if sync {
                dp.set_sync(None).unwrap();
            }
            if setting == Fib {
                dp.set_next_hop_cache(true).unwrap();
            }
            if matches!(setting, NoExit | NoExitNoNat) {
                dp.set_early_exit(true).unwrap();
            }
            if matches!(setting, NoNat | NoExitNoNat) {
                dp.set_service(&nat_service).unwrap();
            }
            out
        };
    // Best times of rows measured with their twin, by name.
    let mut measured: Vec<(&str, (f64, u32))> = Vec::new();
    for (name, prog, mode, setting) in &paths {
        if !wanted(name, prog) {
            continue;
        }
        // The variants of a new-flow row (", sync on", ", rr", ...) are
        // measured round for round with it: each new flow adds an entry
        // to the table, and a row measured after another would pay for a
        // fuller table.
        let twins: Vec<_> = paths
            .iter()
            .filter(|(n, p, ..)| n.starts_with(&format!("{name}, ")) && wanted(n, p))
            .collect();
        let done = measured.iter().position(|(n, _)| n == name);
        let (best, action) = if let Some(i) = done {
            measured.remove(i).1
        } else {
            // Take the best of five runs: the machine's noise only adds
            // time.
            let mut best = vec![f64::MAX; twins.len() + 1];
            let mut action = vec![0; twins.len() + 1];
            for round in 0..5u32 {
                let (ns, act) = measure(&mut dp, prog, mode, *setting, round);
                best[0] = best[0].min(ns);
                action[0] = act;
                for (t, (_, p, m, s)) in twins.iter().enumerate() {
                    let (ns, act) = measure(&mut dp, p, m, *s, round);
                    best[t + 1] = best[t + 1].min(ns);
                    action[t + 1] = act;
                }
            }
            for (t, (n, ..)) in twins.iter().enumerate() {
                measured.push((n, (best[t + 1], action[t + 1])));
            }
            (best[0], action[0])
        };
        // Paths measured one run per call compare with the baseline
        // measured the same way.
        if *prog == "baseline" {
            base = best;
            match mode {
                Mode::Repeat(_) => repeat_base = best,
                Mode::Once(_) | Mode::Spread { .. } => per_call = best - repeat_base,
            }
        }
        rows.push(Row {
            name,
            ns: best,
            ratio: best / base,
            net: best - per_call,
            action,
        });
    }
    if std::env::var_os("XLVS_BENCH_STATS").is_some() {
        for (k, v) in dp.stats().unwrap() {
            println!("{k:<20} {v}");
        }
        println!("{:<20} {synced}", "sync_events_read");
    }
    rows
}
