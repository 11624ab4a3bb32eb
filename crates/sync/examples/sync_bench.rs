//! What the sync core costs on one core: publishing (batching, encoding,
//! HMAC), receiving (size checks, HMAC verification, replay window,
//! decoding, Install events), the bytes an entry takes on the wire, and a
//! table transfer between two cores in memory. Figures only; nothing is
//! asserted. See docs/benchmarks.md.
//!
//! `cargo run --release -p xlvs-sync --example sync_bench [ENTRIES] [ROUNDS]`
//! (default 1,000,000 entries, 5 rounds; `taskset -c 1` in front keeps it
//! on one CPU).
//!
//! Every core runs the same Instant-based API as in xlvsd, with the real
//! clock; datagrams go from one core's `poll_transmit` to the other's
//! `handle_datagram` in memory. Not measured: the sockets (a `send_to` and
//! a `recv_from` per datagram), reading the data plane's ring, and what
//! xlvsd does with an Install (weigh it with `decide`, write the BPF map):
//! the lab figures in docs/benchmarks.md include those.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};
use xlvs_sync::config::DEFAULT_PORT;
use xlvs_sync::wire::datagram::{bulk_entries_capacity, entries_capacity, OVERHEAD};
use xlvs_sync::wire::{Header, Key, ENTRY_LEN};
use xlvs_sync::{
    Config, Entry, Event, FlowKey, FlowSync, Forward, Mode, NodeState, Op, Proto, Transmit,
};

const KEY: &[u8] = b"sync_bench key, 32 random bytes!";
/// IPv4 and UDP headers, on top of the datagram.
const IP_UDP: usize = 28;

fn addr(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, i)
}

fn from(i: u8) -> SocketAddrV4 {
    SocketAddrV4::new(addr(i), DEFAULT_PORT)
}

/// Director `me` of `n` (1-based addresses 10.0.0.1..n), every other one
/// a unicast peer, with the defaults (1472-byte datagrams) unless
/// `max_datagram` says otherwise.
fn core(me: u8, n: u8, state: NodeState, max_datagram: usize, now: Instant) -> FlowSync {
    let peers = (1..=n).filter(|&i| i != me).map(addr).collect();
    let mut c = Config::new(addr(me), Mode::Unicast(peers), KEY);
    c.name = format!("lb{me}");
    c.state = state;
    c.max_datagram = max_datagram;
    FlowSync::new(c, now, 1_000_000 + u64::from(me)).expect("valid config")
}

/// `n` distinct entries owned by `owner`, like a director's table: TCP,
/// every fourth FULLNAT (with a local address and port).
fn entries(n: usize, owner: Ipv4Addr) -> Vec<Entry> {
    (0..n as u32)
        .map(|i| {
            let fullnat = i % 4 == 3;
            Entry {
                op: Op::Upsert,
                key: FlowKey {
                    kind: xlvs_sync::FlowKind::Connection,
                    proto: Proto::Tcp,
                    client: Ipv4Addr::from(0xc633_0000 + (i >> 16)),
                    client_port: (i & 0xffff) as u16,
                    vip: Ipv4Addr::new(192, 0, 2, 50),
                    vport: 80,
                },
                forward: if fullnat {
                    Forward::FullNat
                } else {
                    Forward::Dr
                },
                state: 1,
                real: Ipv4Addr::new(10, 0, 3, 21 + (i % 4) as u8),
                real_port: 80,
                local_addr: if fullnat {
                    Ipv4Addr::new(10, 255, 1, 1)
                } else {
                    Ipv4Addr::UNSPECIFIED
                },
                local_port: if fullnat {
                    1024 + (i % 60000) as u16
                } else {
                    0
                },
                owner,
                idle_secs: 0,
                proxy: None,
            }
        })
        .collect()
}

/// One publishing run: every entry published by director 1 of `n`, the
/// clock read every 64 entries (xlvsd reads it once per drain of the
/// data plane's ring), every datagram taken as it is ready. Returns the
/// time and the datagrams addressed to director 2 (the Hello first).
fn publish(table: &[Entry], n: u8) -> (Duration, Vec<Transmit>) {
    let mut a = core(1, n, NodeState::Ready, 1472, Instant::now());
    let to_b = SocketAddrV4::new(addr(2), DEFAULT_PORT);
    let mut out = Vec::with_capacity(table.len() / 30);
    let start = Instant::now();
    let mut now = start;
    for (i, e) in table.iter().enumerate() {
        if i % 64 == 0 {
            now = Instant::now();
        }
        a.publish(now, *e);
        while let Some(t) = a.poll_transmit(now) {
            if t.to == to_b {
                out.push(t);
            } else {
                black_box(t);
            }
        }
    }
    // The last, partly filled datagram leaves at its flush delay.
    let later = Instant::now() + Duration::from_millis(3);
    while let Some(t) = a.poll_transmit(later) {
        if t.to == to_b {
            out.push(t);
        }
    }
    (start.elapsed(), out)
}

/// Director 2 receives `datagrams` from director 1 and its events are
/// taken after each (as xlvsd does after each turn). Returns the time and
/// the Install events.
fn receive(datagrams: &[Transmit]) -> (Duration, usize) {
    let mut b = core(2, 2, NodeState::Ready, 1472, Instant::now());
    let mut installs = 0;
    let start = Instant::now();
    for t in datagrams {
        b.handle_datagram(Instant::now(), from(1), &t.bytes);
        while let Some(ev) = b.poll_event() {
            if let Event::Install { entry, .. } = ev {
                black_box(entry);
                installs += 1;
            }
        }
    }
    (start.elapsed(), installs)
}

struct Transfer {
    time: Duration,
    /// Datagrams from the server (Hello, BulkEntries, BulkEnd).
    datagrams: usize,
    bytes: usize,
    installs: usize,
}

/// Director 2 starts and fetches the table of director 1 (Ready, holding
/// `table`): from `start_bulk` to BulkFinished, the datagrams handed over
/// one by one and the events taken after each. The server's driver
/// answers BulkRequested with a copy of its table (xlvsd reads it from
/// the BPF map instead: not measured here).
fn transfer(table: &[Entry], max_datagram: usize) -> Transfer {
    let now = Instant::now();
    let mut a = core(1, 2, NodeState::Ready, max_datagram, now);
    let mut b = core(2, 2, NodeState::Joining, max_datagram, now);
    let (mut datagrams, mut bytes, mut installs) = (0, 0, 0);
    let start = Instant::now();
    b.start_bulk(start, start + Duration::from_secs(600));
    let done = 'run: loop {
        let now = Instant::now();
        while let Some(t) = b.poll_transmit(now) {
            a.handle_datagram(now, from(2), &t.bytes);
        }
        while let Some(ev) = a.poll_event() {
            if let Event::BulkRequested { from, transfer } = ev {
                a.serve_bulk(now, from, transfer, table.iter().copied());
            }
        }
        while let Some(t) = a.poll_transmit(now) {
            datagrams += 1;
            bytes += t.bytes.len();
            b.handle_datagram(now, from(1), &t.bytes);
            while let Some(ev) = b.poll_event() {
                match ev {
                    Event::Install { entry, .. } => {
                        black_box(entry);
                        installs += 1;
                    }
                    Event::BulkFinished { entries, .. } => {
                        assert_eq!(entries as usize, table.len());
                        break 'run start.elapsed();
                    }
                    Event::BulkFailed { reason } => panic!("transfer failed: {reason:?}"),
                    _ => {}
                }
            }
            // Hellos and requests from b on the way, as a real loop would.
            if datagrams % 64 == 0 {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the transfer did not finish"
        );
    };
    Transfer {
        time: done,
        datagrams,
        bytes,
        installs,
    }
}

/// HMAC-SHA256 alone, over the signed bytes of a full 1472-byte Entries
/// datagram (its header and 39 records), `datagrams` times: what one
/// datagram's tag costs to make (and about as much to verify).
fn hmac_alone(datagrams: usize) -> Duration {
    let key = Key::new(KEY);
    let signed = vec![0x5au8; entries_capacity(1472) * ENTRY_LEN + 32];
    let start = Instant::now();
    for _ in 0..datagrams {
        black_box(key.sign(black_box(&signed)));
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0])
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:.2} M", n as f64 / d.as_secs_f64() / 1e6)
}

fn ns(n: usize, d: Duration) -> String {
    format!("{:.0}", d.as_nanos() as f64 / n as f64)
}

/// The records of a datagram, from its header.
fn records(bytes: &[u8]) -> usize {
    Header::parse(bytes).map_or(0, |h| usize::from(h.count))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("ENTRIES"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("ROUNDS"));
    assert!(n > 0 && rounds > 0);
    let table = entries(n, addr(1));
    println!(
        "sync_bench: {n} entries, {rounds} rounds, median (best) per row; one thread; \
         1472-byte datagrams unless said\n"
    );
    println!(
        "| what | datagrams | median s | entries/s, median | ns/entry, median | best entries/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|");

    // Publishing, to one peer and to three (one encoding and one HMAC a
    // datagram, a copy per peer).
    let mut sent = Vec::new();
    for peers in [1u8, 3] {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let (t, out) = publish(&table, peers + 1);
            times.push(t);
            sent = out;
        }
        let (med, best) = median(times);
        let with_entries = sent.iter().filter(|t| records(&t.bytes) > 0).count();
        println!(
            "| publish: batch, encode, HMAC; {peers} peer{} | {with_entries} | {:.3} | {} | {} | {} |",
            if peers == 1 { "" } else { "s (a copy each)" },
            med.as_secs_f64(),
            rate(n, med),
            ns(n, med),
            rate(n, best),
        );
    }

    let datagrams = n.div_ceil(entries_capacity(1472));
    let (med, best) = median((0..rounds).map(|_| hmac_alone(datagrams)).collect());
    println!(
        "| of which: HMAC-SHA256 of each full datagram alone | {datagrams} | {:.3} | {} | {} | {} |",
        med.as_secs_f64(),
        rate(n, med),
        ns(n, med),
        rate(n, best),
    );

    // Receiving what was published to one peer.
    let mut times = Vec::new();
    for _ in 0..rounds {
        let (t, installs) = receive(&sent);
        assert_eq!(installs, n, "every entry installed");
        times.push(t);
    }
    let (med, best) = median(times);
    println!(
        "| receive: sizes, HMAC verify, replay, decode, Install events | {} | {:.3} | {} | {} | {} |",
        sent.len(),
        med.as_secs_f64(),
        rate(n, med),
        ns(n, med),
        rate(n, best),
    );

    // A table transfer between two cores.
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let t = transfer(&table, 1472);
        assert_eq!(t.installs, n);
        times.push(t.time);
        last = Some(t);
    }
    let (med, best) = median(times);
    let t = last.expect("a round");
    println!(
        "| table transfer of {n} entries: request, serve, receive (server's datagrams) | {} | {:.3} | {} | {} | {} |",
        t.datagrams,
        med.as_secs_f64(),
        rate(n, med),
        ns(n, med),
        rate(n, best),
    );
    let jumbo = transfer(&table, 9000);
    println!(
        "| the same at 9000-byte datagrams (one round) | {} | {:.3} | {} | {} | |",
        jumbo.datagrams,
        jumbo.time.as_secs_f64(),
        rate(n, jumbo.time),
        ns(n, jumbo.time),
    );

    // Bytes on the wire, from what was sent.
    println!(
        "\n| datagram | records | bytes (UDP payload) | bytes per entry | with IPv4+UDP headers |"
    );
    let full = sent
        .iter()
        .find(|t| records(&t.bytes) == entries_capacity(1472))
        .expect("a full Entries datagram");
    println!("|---|---:|---:|---:|---:|");
    // `datagrams` of `bytes` in all carrying `records`.
    let row = |what: &str, datagrams: usize, records: usize, bytes: usize| {
        println!(
            "| {what} | {records} | {bytes} | {:.2} | {:.2} |",
            bytes as f64 / records as f64,
            (bytes + datagrams * IP_UDP) as f64 / records as f64
        );
    };
    row(
        "Entries, full, 1472",
        1,
        records(&full.bytes),
        full.bytes.len(),
    );
    let live: usize = sent.iter().map(|t| t.bytes.len()).sum();
    row(
        "all live datagrams of the receive row (Hello included)",
        sent.len(),
        n,
        live,
    );
    row(
        "the table transfer at 1472 (Hello, BulkEnd included)",
        t.datagrams,
        n,
        t.bytes,
    );
    for max in [1472, 9000] {
        let per = bulk_entries_capacity(max);
        row(
            &format!("BulkEntries, full, {max}"),
            1,
            per,
            OVERHEAD + 4 + per * ENTRY_LEN,
        );
    }
    let per = entries_capacity(9000);
    row("Entries, full, 9000", 1, per, OVERHEAD + per * ENTRY_LEN);
    row(
        "Entries, one entry alone (flushed after 2 ms)",
        1,
        1,
        OVERHEAD + ENTRY_LEN,
    );
}
