//! A reload changes `[cluster] peers` on a running director
//! (docs/sync.md, "Reload"): quickstart's two DR directors, lb1 first
//! configured with a peer that does not exist. lb2's datagrams are counted
//! as from an unknown sender on lb1 and installed nowhere; once a reload
//! names lb2, entries go both ways; a reload naming lb1 itself is refused
//! and changes nothing; a reload that drops lb2 again stops lb1 from
//! installing what lb2 sends.

use std::path::{Path, PathBuf};
use std::time::Duration;
use xlvs_tests::{cluster_toml, control, quickstart_copy, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const LB1: &str = "10.0.1.11";
const LB2: &str = "10.0.1.12";
/// On the lab's segment, answered by nobody.
const NOBODY: &str = "10.0.1.99";
const KEY: &str = "quickstart-sync-reload-key";

fn socket(lb: &str) -> PathBuf {
    PathBuf::from(format!("/run/xlvs/{lb}.sock"))
}

fn sync(lb: &str) -> serde_json::Value {
    control(&socket(lb), "sync", &[]).unwrap_or_else(|e| panic!("{lb}: sync: {e}"))
}

fn count(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The peers `lb` has, and whether each is up.
fn peers(lb: &str) -> Vec<(String, bool)> {
    let r = sync(lb);
    let list = r["protocol"]["peers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|p| {
            (
                p["addr"].as_str().unwrap_or("").to_string(),
                p["up"] == true,
            )
        })
        .collect()
}

fn wait_peer_up(lb: &str, addr: &str) {
    wait_until(
        &format!("{lb}: peer {addr} up"),
        Duration::from_secs(20),
        || {
            let p = peers(lb);
            p.iter()
                .any(|(a, up)| a == addr && *up)
                .then_some(())
                .ok_or(format!("{p:?}"))
        },
    );
}

/// The sources of the VIP's flows on `lb` whose owner is `owner` ("" for
/// its own).
fn flows_owned_by(lb: &str, owner: &str) -> Vec<String> {
    let t = control(&socket(lb), "ipvs.list", &["connections"]).unwrap();
    let conns = t["connections"].as_array().cloned().unwrap_or_default();
    conns
        .iter()
        .filter(|c| c["virtual"].as_str().is_some_and(|v| v.starts_with(VIP)))
        .filter(|c| c["owner"].as_str().unwrap_or_default() == owner)
        .map(|c| c["source"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Rewrites lb1's `[cluster]` with these peers.
fn set_peers(config: &Path, peers: &[&str]) {
    let text = std::fs::read_to_string(config).unwrap();
    let start = text.find("\n[cluster]").expect("[cluster]");
    let end = start
        + text[start..]
            .find("\n[[service]]")
            .expect("a service after it");
    let cluster = with_short_bulk(&cluster_toml("eth1", peers, KEY));
    std::fs::write(
        config,
        format!("{}{cluster}{}", &text[..start], &text[end..]),
    )
    .unwrap();
}

/// A starting director waits this long for a table nobody will send.
fn with_short_bulk(cluster: &str) -> String {
    format!("{cluster}bulk_timeout = \"2s\"\n")
}

#[test]
fn a_reload_adds_and_removes_sync_peers() {
    let dir = quickstart_copy();
    let config = |lb: &str| dir.path().join(format!("quickstart/{lb}.toml"));
    for (lb, peer) in [("lb1", NOBODY), ("lb2", LB1)] {
        let text = std::fs::read_to_string(config(lb)).unwrap();
        let at = text.find("\n[[service]]").expect("a service");
        let cluster = with_short_bulk(&cluster_toml("eth1", &[peer], KEY));
        std::fs::write(
            config(lb),
            format!("{}{cluster}{}", &text[..at], &text[at..]),
        )
        .unwrap();
    }
    let lab = Lab::up(&dir.path().join("quickstart.clab.yml"));
    lab.wait_http("client", VIP);

    // lb2 is not lb1's peer: what it sends is dropped, unknown.
    lab.http_answers("client", VIP, 10);
    wait_until("lb1 drops lb2's datagrams", Duration::from_secs(10), || {
        let n = count(&sync("lb1")["protocol"]["unknown_drops"]["unknown_peer"]);
        (n > 0).then_some(()).ok_or(format!("{n}"))
    });
    assert_eq!(count(&sync("lb1")["table"]["installed"]), 0);
    assert!(flows_owned_by("lb2", LB1).is_empty(), "lb1 sends to nobody");
    println!("before the reload: lb1 peers {:?}", peers("lb1"));

    // A reload names lb2: both ways now, for the flows made from then on
    // (older ones reach a new peer with their next refresh).
    let before = [flows_owned_by("lb1", ""), flows_owned_by("lb2", "")].concat();
    set_peers(&config("lb1"), &[LB2]);
    control(&socket("lb1"), "reload", &[]).expect("reload with lb2 as peer");
    wait_peer_up("lb1", LB2);
    wait_peer_up("lb2", LB1);
    assert!(
        !peers("lb1").iter().any(|(a, _)| a == NOBODY),
        "the old peer is gone: {:?}",
        peers("lb1")
    );
    lab.http_answers("client", VIP, 20);
    wait_until(
        "each holds the other's flows",
        Duration::from_secs(10),
        || {
            let new = |lb| -> Vec<String> {
                let own = flows_owned_by(lb, "");
                own.into_iter().filter(|f| !before.contains(f)).collect()
            };
            let (own1, own2) = (new("lb1"), new("lb2"));
            let (from1, from2) = (flows_owned_by("lb2", LB1), flows_owned_by("lb1", LB2));
            let ok = !own1.is_empty()
                && !own2.is_empty()
                && own1.iter().all(|f| from1.contains(f))
                && own2.iter().all(|f| from2.contains(f));
            ok.then_some(()).ok_or(format!(
                "lb1 own {own1:?} on lb2 {from1:?}; lb2 own {own2:?} on lb1 {from2:?}"
            ))
        },
    );
    println!("after adding lb2: lb1 peers {:?}", peers("lb1"));

    // A reload naming lb1 itself is refused; the peer stays.
    set_peers(&config("lb1"), &[LB1]);
    let err = control(&socket("lb1"), "reload", &[]).expect_err("own address as a peer");
    println!("refused as it should be: {err}");
    assert!(err.to_string().contains("peers"), "{err}");
    assert_eq!(peers("lb1"), [(LB2.to_string(), true)]);

    // A reload drops lb2: what lb2 sends is no longer installed.
    set_peers(&config("lb1"), &[NOBODY]);
    control(&socket("lb1"), "reload", &[]).expect("reload without lb2");
    assert!(
        !peers("lb1").iter().any(|(a, _)| a == LB2),
        "{:?}",
        peers("lb1")
    );
    let installed = count(&sync("lb1")["table"]["installed"]);
    let unknown = count(&sync("lb1")["protocol"]["unknown_drops"]["unknown_peer"]);
    let published = count(&sync("lb2")["table"]["published"]);
    lab.http_answers("client", VIP, 20);
    wait_until("lb2 publishes more", Duration::from_secs(10), || {
        let now = count(&sync("lb2")["table"]["published"]);
        (now > published).then_some(()).ok_or(format!("{now}"))
    });
    wait_until("lb1 drops them as unknown", Duration::from_secs(10), || {
        let now = count(&sync("lb1")["protocol"]["unknown_drops"]["unknown_peer"]);
        (now > unknown).then_some(()).ok_or(format!("{now}"))
    });
    assert_eq!(
        count(&sync("lb1")["table"]["installed"]),
        installed,
        "nothing from a former peer is installed"
    );
}
