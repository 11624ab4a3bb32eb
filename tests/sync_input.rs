//! Flow sync takes no orders from bad input: datagrams that are cut,
//! too long, of another version, garbage, signed with another key,
//! replayed, of an ended session or from a sender that is not a peer are
//! dropped and counted by reason, install nothing, and leave the director
//! forwarding, in OSPF and in sync with its real peer.
//!
//! labs/quickstart (two DR directors, lb1 10.0.1.11 and lb2 10.0.1.12,
//! behind FRR r1), copied with a `[cluster]` on both directors. The
//! datagrams are written by tests/fixtures/sync_forge.py from
//! docs/sync.md alone (HMAC-SHA256 by python's hmac module), sent from
//! lb2's network namespace, so their source is a configured peer, and
//! one from web1's, which is not.
//!
//! lb1 also lists a peer that does not exist, 10.0.1.99: the test signs a
//! datagram as that peer with the right key and a fresh sequence number,
//! and lb1 installs its entry. That proves the forged datagrams are
//! well-formed and their flow installable, so when the bad ones install
//! nothing it is the checks that refused them, not their layout; and it
//! does so without touching lb2's replay state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xlvs_tests::{control, lab_copy, run, text, wait_until, workspace, Child, Lab, WaitBounded};

const VIP: &str = "192.0.2.10";
const LB1: &str = "10.0.1.11";
const LB2: &str = "10.0.1.12";
/// In lb1's peers only; no node has this address.
const PHANTOM: &str = "10.0.1.99";
/// web1's address: not a peer.
const STRANGER: &str = "10.0.1.21";
const KEY: &str = "sync-input-lab-key-0123456789abcdef";
const WRONG_KEY: &str = "sync-input-lab-key-0123456789abcdeF";
const SYNC_PORT: &str = "8849";
/// The client of every forged flow: inside the lab's client subnet, and
/// used by no node. Each datagram names its own client port.
const FORGED_CLIENT: &str = "10.0.0.77";

const LB1_SOCK: &str = "/run/xlvs/lb1.sock";
const LB2_SOCK: &str = "/run/xlvs/lb2.sock";

fn ns(node: &str) -> String {
    format!("clab-quickstart-{node}")
}

fn forge_script() -> PathBuf {
    workspace().join("tests/fixtures/sync_forge.py")
}

/// Appends a `[cluster]` to each director's config in the copy.
fn add_cluster(labs: &Path) {
    for (lb, peers) in [("lb1", [LB2, PHANTOM].as_slice()), ("lb2", &[LB1])] {
        let path = labs.join("quickstart").join(format!("{lb}.toml"));
        let mut config = std::fs::read_to_string(&path).unwrap();
        assert!(!config.contains("[cluster]"), "{}", path.display());
        config.push_str(&xlvs_tests::cluster_toml("eth1", peers, KEY));
        std::fs::write(&path, config).unwrap();
    }
}

/// A director's `sync` report.
fn sync(sock: &str) -> serde_json::Value {
    control(Path::new(sock), "sync", &[]).unwrap_or_else(|e| panic!("{sock}: sync: {e}"))
}

/// One peer's stats in a `sync` report.
fn peer<'a>(report: &'a serde_json::Value, addr: &str) -> &'a serde_json::Value {
    report["protocol"]["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|p| p["addr"] == addr)
        .unwrap_or_else(|| panic!("no peer {addr}: {report:#}"))
}

fn counts(v: &serde_json::Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("a count")))
        .collect()
}

/// Drops by reason charged to peer `addr`.
fn peer_drops(report: &serde_json::Value, addr: &str) -> BTreeMap<String, u64> {
    counts(&peer(report, addr)["counters"]["drops"])
}

/// Drops by reason from senders that are not peers.
fn unknown_drops(report: &serde_json::Value) -> BTreeMap<String, u64> {
    counts(&report["protocol"]["unknown_drops"])
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, n)| (k.clone(), n - before.get(k).copied().unwrap_or(0)))
        .collect()
}

/// Every reason at zero but the ones given.
fn only(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = [
        "truncated",
        "oversized",
        "bad_version",
        "bad_format",
        "auth",
        "replay",
        "stale_session",
        "unknown_peer",
    ]
    .iter()
    .map(|r| (r.to_string(), 0))
    .collect();
    for (r, n) in counts {
        *m.get_mut(*r).unwrap_or_else(|| panic!("no reason {r}")) = *n;
    }
    m
}

/// The connection table of a director (`ipvs.list connections`).
fn connections(sock: &str) -> Vec<serde_json::Value> {
    let t = control(Path::new(sock), "ipvs.list", &["connections"])
        .unwrap_or_else(|e| panic!("{sock}: ipvs.list: {e}"));
    t["connections"].as_array().expect("connections").clone()
}

/// The table's entries for client `FORGED_CLIENT`: (source, owner).
fn forged_entries(sock: &str) -> Vec<(String, String)> {
    connections(sock)
        .iter()
        .filter(|c| {
            c["source"]
                .as_str()
                .is_some_and(|s| s.starts_with(&format!("{FORGED_CLIENT}:")))
        })
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["owner"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

/// The sources of the HTTP entries a director made itself (no owner),
/// and of those installed from peer `owner`.
fn http_sources(sock: &str, owner: Option<&str>) -> Vec<String> {
    let http = format!("{VIP}:80");
    connections(sock)
        .iter()
        .filter(|c| c["virtual"] == http.as_str())
        .filter(|c| c["owner"].as_str() == owner)
        .map(|c| c["source"].as_str().expect("source").to_string())
        .collect()
}

/// The fields of a forged flow's datagram: sender, session, seq and key
/// given, the flow client `FORGED_CLIENT`:`cport` to the VIP's port 80,
/// DR to web1.
fn flow(sender: &str, session: u64, seq: u64, key: &str, cport: u16) -> Vec<String> {
    vec![
        format!("sender={sender}"),
        format!("session={session}"),
        format!("seq={seq}"),
        format!("key={key}"),
        format!("client={FORGED_CLIENT}"),
        format!("cport={cport}"),
        format!("vip={VIP}"),
        "vport=80".into(),
        "real=10.0.1.21".into(),
        "rport=80".into(),
    ]
}

/// Sends one datagram from `node`'s namespace to lb1's sync port: case
/// `case` of sync_forge.py with `params`; returns what it sent (hex).
fn send(node: &str, case: &str, params: &[String]) -> String {
    let script = forge_script();
    let ns = ns(node);
    let mut args: Vec<&str> = vec![
        "netns",
        "exec",
        &ns,
        "python3",
        script.to_str().unwrap(),
        "send",
        LB1,
        SYNC_PORT,
        case,
    ];
    args.extend(params.iter().map(String::as_str));
    let out = run(Path::new("ip"), &args);
    assert!(out.status.success(), "{case}: {}", text(&out));
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    println!("{node}: sent {case}, {} bytes", sent["bytes"]);
    sent["hex"].as_str().expect("hex").to_string()
}

/// Sends `hex` byte for byte from `node`'s namespace to lb1's sync port.
fn send_raw(node: &str, hex: &str) {
    let script = forge_script();
    let ns = ns(node);
    let args = [
        "netns",
        "exec",
        &ns,
        "python3",
        script.to_str().unwrap(),
        "raw",
        LB1,
        SYNC_PORT,
        hex,
    ];
    let out = run(Path::new("ip"), &args);
    assert!(out.status.success(), "raw: {}", text(&out));
}

fn be_u64(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().expect("8 bytes"))
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Waits until the drops charged by `read` grew by `want` in total, then
/// a little longer (a datagram counted twice would show), and returns
/// the growth by reason.
fn drops_grown(
    what: &str,
    want: &BTreeMap<String, u64>,
    read: impl Fn() -> BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    let total: u64 = want.values().sum();
    wait_until(what, Duration::from_secs(10), || {
        let d = read();
        (d.values().sum::<u64>() >= total)
            .then_some(())
            .ok_or(format!("{d:?}"))
    });
    std::thread::sleep(Duration::from_secs(1));
    read()
}

/// A director's DR transmissions so far.
fn tx_dr(sock: &str) -> u64 {
    let s = control(Path::new(sock), "dataplane.stats", &[]).expect("dataplane.stats");
    s["tx_dr"].as_u64().expect("tx_dr")
}

#[test]
fn bad_sync_input_installs_nothing_and_the_director_serves_on() {
    let began = Instant::now();
    let dir = lab_copy("quickstart");
    add_cluster(dir.path());
    let lab = Lab::up(&dir.path().join("quickstart.clab.yml"));
    lab.wait_nexthops("r1", VIP, &[LB1, LB2], Duration::from_secs(60));
    lab.wait_http("client", VIP);

    // Sync works: each director has the other up...
    wait_until(
        "lb1 and lb2 up in each other's sync",
        Duration::from_secs(30),
        || {
            let (a, b) = (sync(LB1_SOCK), sync(LB2_SOCK));
            let up = peer(&a, LB2)["up"] == true && peer(&b, LB1)["up"] == true;
            up.then_some(()).ok_or(format!(
                "lb1 sees lb2: {}, lb2 sees lb1: {}",
                peer(&a, LB2),
                peer(&b, LB1)
            ))
        },
    );
    // ...and the entries each makes for HTTP connections through the VIP
    // appear on the other, with the maker as owner.
    wait_until(
        "HTTP entries of each director on the other",
        Duration::from_secs(30),
        || {
            lab.http_answers("client", VIP, 4);
            for (maker, maker_sock, other_sock) in
                [(LB1, LB1_SOCK, LB2_SOCK), (LB2, LB2_SOCK, LB1_SOCK)]
            {
                let own = http_sources(maker_sock, None);
                let copies = http_sources(other_sock, Some(maker));
                let synced = own.iter().filter(|s| copies.contains(s)).count();
                if synced == 0 {
                    return Err(format!("{maker}: {own:?} made, {copies:?} on the other"));
                }
                println!(
                    "{maker}: {synced} of its {} HTTP entries on the other",
                    own.len()
                );
            }
            Ok(())
        },
    );
    println!("lab up, sync working, after {:.0?}", began.elapsed());

    // A real Entries datagram of lb2's, as lb1 received it: HTTP
    // connections until ECMP gives lb2 one (each has a new source port).
    let capture = {
        let script = forge_script();
        Child(
            Command::new("ip")
                .args(["netns", "exec", &ns("lb1"), "python3"])
                .arg(&script)
                .args(["capture", "eth1", LB2, "2", "30"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the capture"),
        )
    };
    let mut capture = capture;
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..40 {
        if capture.0.try_wait().expect("wait").is_some() {
            break;
        }
        lab.http_answers("client", VIP, 1);
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = capture.0.wait_with_output_bounded(Duration::from_secs(35));
    assert!(
        out.status.success(),
        "no Entries datagram of lb2's captured: {}",
        text(&out)
    );
    let captured = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let bytes = hex_bytes(&captured);
    let (captured_session, captured_seq) = (be_u64(&bytes[12..20]), be_u64(&bytes[20..28]));
    println!(
        "captured lb2's Entries datagram: {} bytes, session {captured_session}, seq {captured_seq}",
        bytes.len()
    );

    // Quiet: the HTTP connections' last reports have arrived.
    std::thread::sleep(Duration::from_secs(2));
    let s0 = sync(LB1_SOCK);
    let lb2_session = peer(&s0, LB2)["session"].as_u64().expect("lb2's session");
    assert_eq!(
        captured_session, lb2_session,
        "the capture is of lb2's current run"
    );

    // The control: the same kind of datagram, from a configured peer (the
    // phantom), right key, fresh sequence number: installed.
    let good = send("lb2", "entries", &flow(PHANTOM, 1, 1, KEY, 40000));
    let installed_before = s0["table"]["installed"].as_u64().unwrap();
    wait_until(
        "the control entry installed",
        Duration::from_secs(10),
        || {
            let installed = sync(LB1_SOCK)["table"]["installed"].as_u64().unwrap();
            let entries = forged_entries(LB1_SOCK);
            let want = [(format!("{FORGED_CLIENT}:40000"), PHANTOM.to_string())];
            (installed == installed_before + 1 && entries == want)
                .then_some(())
                .ok_or(format!(
                    "installed {installed_before} -> {installed}, entries {entries:?}"
                ))
        },
    );
    // The very same bytes again: a replay, counted against the phantom.
    let phantom_before = peer_drops(&sync(LB1_SOCK), PHANTOM);
    send_raw("lb2", &good);
    let grown = drops_grown(
        "the control's replay counted",
        &only(&[("replay", 1)]),
        || delta(&peer_drops(&sync(LB1_SOCK), PHANTOM), &phantom_before),
    );
    assert_eq!(grown, only(&[("replay", 1)]), "the phantom's drops");
    println!("control: installed once, its replay dropped");

    // Every bad datagram, from lb2's namespace (a configured peer's
    // source), each naming a flow of its own.
    let s1 = sync(LB1_SOCK);
    let lb2_before = peer_drops(&s1, LB2);
    let unknown_before = unknown_drops(&s1);
    let right = |session, seq, cport| flow(LB2, session, seq, KEY, cport);
    let mut bad_ports = Vec::new();
    let mut port = |p: u16| {
        bad_ports.push(p);
        p
    };
    // Shorter than a header; a header whose payload is cut.
    send(
        "lb2",
        "truncated_short",
        &right(lb2_session, 1 << 40, port(40001)),
    );
    send(
        "lb2",
        "truncated_cut",
        &right(lb2_session, 1 << 40, port(40002)),
    );
    // 9100 bytes, as its header says.
    send(
        "lb2",
        "oversized",
        &right(lb2_session, 1 << 40, port(40003)),
    );
    // Version 2, otherwise well-formed and signed with the right key.
    let mut v2 = right(lb2_session, 1 << 40, port(40004));
    v2.push("version=2".into());
    send("lb2", "entries", &v2);
    send("lb2", "garbage", &[]);
    // Another key, and a session far ahead: were the tag checked after
    // the replay state moved, lb2 would be locked out from now on.
    send(
        "lb2",
        "entries",
        &flow(LB2, lb2_session + 1_000_000, 1, WRONG_KEY, port(40005)),
    );
    // The right key, but lb2's (session, seq) of the captured datagram...
    send(
        "lb2",
        "entries",
        &right(lb2_session, captured_seq, port(40006)),
    );
    // ...and the captured datagram itself, byte for byte.
    send_raw("lb2", &captured);
    // The right key, a session before lb2's current one.
    send("lb2", "entries", &right(lb2_session - 1, 1, port(40007)));
    // From web1, which is no peer, the right key and its own address.
    send("web1", "entries", &flow(STRANGER, 1, 1, KEY, port(40008)));

    let want_lb2 = only(&[
        ("truncated", 2),
        ("oversized", 1),
        ("bad_version", 1),
        ("bad_format", 1),
        ("auth", 1),
        ("replay", 2),
        ("stale_session", 1),
    ]);
    let grown = drops_grown("lb2's drops counted", &want_lb2, || {
        delta(&peer_drops(&sync(LB1_SOCK), LB2), &lb2_before)
    });
    let s2 = sync(LB1_SOCK);
    let grown_unknown = delta(&unknown_drops(&s2), &unknown_before);
    println!("drops charged to lb2: {grown:?}; from unknown senders: {grown_unknown:?}");
    assert_eq!(grown, want_lb2, "drops charged to lb2, by reason");
    assert_eq!(
        grown_unknown,
        only(&[("unknown_peer", 1)]),
        "drops from senders that are not peers"
    );

    // Nothing installed, refreshed, removed or even weighed.
    for field in ["installed", "refreshed", "removed", "not_installed"] {
        assert_eq!(
            s2["table"][field], s1["table"][field],
            "table.{field} moved: {} -> {}",
            s1["table"], s2["table"]
        );
    }
    let counters = |s: &serde_json::Value| {
        let c = &peer(s, LB2)["counters"];
        (c["installs"].clone(), c["removes"].clone())
    };
    assert_eq!(counters(&s2), counters(&s1), "lb2's installs and removes");
    let entries = forged_entries(LB1_SOCK);
    assert_eq!(
        entries,
        [(format!("{FORGED_CLIENT}:40000"), PHANTOM.to_string())],
        "only the control's forged flow is in lb1's table (bad ones: ports {bad_ports:?})"
    );
    assert!(
        !sync(LB1_SOCK)["protocol"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["addr"] == STRANGER),
        "the stranger became a peer"
    );
    assert_eq!(
        peer(&s2, LB2)["session"].as_u64(),
        Some(lb2_session),
        "lb2's session as lb1 knows it moved"
    );

    // lb1 serves on: OSPF Full with r1, both next hops, HTTP through the
    // VIP with lb1 forwarding its share...
    lab.wait_full(
        "r1",
        &["10.255.0.11", "10.255.0.12"],
        Duration::from_secs(10),
    );
    lab.wait_nexthops("r1", VIP, &[LB1, LB2], Duration::from_secs(10));
    let tx_before = tx_dr(LB1_SOCK);
    // ...and sync with lb2: both up, lb2's new entries installed on lb1.
    let installed_before = s2["table"]["installed"].as_u64().unwrap();
    let copies_before = http_sources(LB1_SOCK, Some(LB2));
    wait_until(
        "lb1 forwards and installs lb2's new entries",
        Duration::from_secs(30),
        || {
            lab.http_answers("client", VIP, 4);
            let s = sync(LB1_SOCK);
            let installed = s["table"]["installed"].as_u64().unwrap();
            let new_copies = http_sources(LB1_SOCK, Some(LB2))
                .into_iter()
                .filter(|c| !copies_before.contains(c))
                .count();
            let tx = tx_dr(LB1_SOCK);
            (installed > installed_before && new_copies > 0 && tx > tx_before)
                .then_some(())
                .ok_or(format!(
                    "installed {installed_before} -> {installed}, {new_copies} new entries of lb2's, tx_dr {tx_before} -> {tx}"
                ))
        },
    );
    let (a, b) = (sync(LB1_SOCK), sync(LB2_SOCK));
    assert_eq!(peer(&a, LB2)["up"], true, "lb1 sees lb2: {}", peer(&a, LB2));
    assert_eq!(peer(&b, LB1)["up"], true, "lb2 sees lb1: {}", peer(&b, LB1));
    assert_eq!(
        peer_drops(&a, LB2),
        peer_drops(&s2, LB2),
        "lb2's own datagrams dropped after the bad ones"
    );
    println!("done after {:.0?}", began.elapsed());
}
