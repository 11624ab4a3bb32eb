//! Real traffic through NAT and FULLNAT (labs/nat.clab.yml): a client
//! behind an FRR router reaches nginx and a TCP echo service on two reals
//! through lb1 (FULLNAT) and lb2 (NAT); both directions are rewritten in
//! XDP, replies included.

use std::collections::BTreeMap;
use std::time::Duration;
use xlvs_tests::{text, workspace, Lab};

const FULLNAT_VIP: &str = "192.0.2.20";
const NAT_VIP: &str = "192.0.2.30";

#[test]
fn fullnat_and_nat_carry_real_connections_both_ways() {
    let lab = Lab::up(&workspace().join("labs/nat.clab.yml"));
    for (vip, lb) in [(FULLNAT_VIP, "10.0.1.11"), (NAT_VIP, "10.0.1.12")] {
        lab.wait_nexthops("r1", vip, &[lb], Duration::from_secs(60));
    }
    // FULLNAT's local addresses are announced too: replies find lb1.
    lab.wait_nexthops("r1", "10.255.1.1", &["10.0.1.11"], Duration::from_secs(30));
    for vip in [FULLNAT_VIP, NAT_VIP] {
        lab.wait_http("client", vip);
    }

    // FULLNAT: both reals answer, and each saw one of lb1's local
    // addresses, never the client.
    let full = lab.http_answers("client", FULLNAT_VIP, 30);
    let mut reals = std::collections::BTreeSet::new();
    for line in full.keys() {
        let (real, seen) = line.trim().split_once(' ').expect("`webN ADDR`");
        reals.insert(real.to_string());
        assert!(
            seen == "10.255.1.1" || seen == "10.255.1.2",
            "FULLNAT: the real saw {seen}: {full:?}"
        );
    }
    assert_eq!(reals.len(), 2, "both reals used: {full:?}");

    // NAT: both reals answer, and each saw the client itself.
    let nat = lab.http_answers("client", NAT_VIP, 30);
    let keys: Vec<&str> = nat.keys().map(String::as_str).collect();
    assert_eq!(keys, ["web1 10.0.0.2\n", "web2 10.0.0.2\n"], "{nat:?}");

    // Byte for byte both ways, up to 4 MB, through each mode.
    for vip in [FULLNAT_VIP, NAT_VIP] {
        lab.echo_checks("client", vip, &["1", "65536", "4194304"]);
    }

    // The packets went through XDP both ways, not through the kernel.
    assert!(lab.dataplane_stat("lb1", "tx_fullnat") > 100);
    assert!(lab.dataplane_stat("lb1", "tx_reply") > 100);
    assert!(lab.dataplane_stat("lb2", "tx_nat") > 100);
    assert!(lab.dataplane_stat("lb2", "tx_reply") > 100);
    // Most of them from the flow cache, which the echo checks above
    // show changes no byte.
    for lb in ["lb1", "lb2"] {
        assert!(lab.dataplane_stat(lb, "flow_cache_hit") > 100, "{lb}");
    }
    // The reals are on the directors' segment: new flows (and packets the
    // flow cache missed) went by the real's next hop entry, without a FIB
    // lookup (docs/dataplane.md#next-hop-per-real).
    for lb in ["lb1", "lb2"] {
        assert!(lab.dataplane_stat(lb, "next_hop_hit") >= 60, "{lb}");
    }

    // ipvsadm's view: forward method and both directions counted.
    for (lb, vip, method) in [("lb1", FULLNAT_VIP, "FullNat"), ("lb2", NAT_VIP, "Masq")] {
        let listing = lab.exec(lb, &["xlvsadm", "--node", lb, "-L", "-n"]);
        let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
        assert!(listing.contains(&format!("TCP  {vip}:80 mh")), "{listing}");
        assert!(
            listing.contains(&format!("  -> 10.0.1.21:80                 {method}")),
            "{listing}"
        );
        let http = lab.listed_service(lb, 80);
        assert!(http["stats"]["conns"].as_u64().unwrap() >= 30, "{http:#}");
        assert!(
            http["stats"]["out_pkts"].as_u64().unwrap() >= 60,
            "{http:#}"
        );
    }
}

/// The client ports of the fault test's new connections.
const FIRST_NEW: u16 = 20000;
const LAST_NEW: u16 = 20199;
const NEW_PORTS: std::ops::RangeInclusive<u16> = FIRST_NEW..=LAST_NEW;

/// Client port -> real address of the director's connections to `vip`.
fn reals_by_client_port(lab: &Lab, lb: &str, vip: &str) -> BTreeMap<u16, String> {
    let table = lab
        .json(lb, &["xlvsadm", "--node", lb, "--json", "-L", "-n", "-c"])
        .unwrap();
    let mut out = BTreeMap::new();
    for c in table["connections"].as_array().expect("connections") {
        let virt = c["virtual"].as_str().unwrap();
        if !virt.starts_with(&format!("{vip}:")) {
            continue;
        }
        let source: std::net::SocketAddrV4 = c["source"].as_str().unwrap().parse().unwrap();
        let dest: std::net::SocketAddrV4 = c["destination"].as_str().unwrap().parse().unwrap();
        out.insert(source.port(), dest.ip().to_string());
    }
    out
}

/// The issue's fault case: under a steady stream of new connections and
/// 60 long ones, the backend set changes (web3 added, web2 removed, by
/// ipvsadm commands on the running director). Every connection to an
/// unchanged real (web1) survives, and every connection that failed was
/// one to the removed real.
#[test]
fn replacing_backends_under_traffic_breaks_only_the_removed_ones() {
    let lab = Lab::up(&workspace().join("labs/nat.clab.yml"));
    lab.wait_nexthops("r1", NAT_VIP, &["10.0.1.12"], Duration::from_secs(60));
    lab.wait_echo("client", NAT_VIP);

    let long = xlvs_tests::streams(
        "clab-nat-client",
        &[NAT_VIP, "7", "60", "20", "--stall", "3"],
    );
    // New connections, one every 50 ms from known ports below the
    // kernel's ephemeral range (where the long ones get theirs): "FAIL
    // PORT" for each that did not get a full answer.
    let script = format!(
        "for p in $(seq {FIRST_NEW} {LAST_NEW}); do \
           curl -s -m 2 --local-port $p http://{NAT_VIP}/ >/dev/null || echo FAIL $p; \
           sleep 0.05; \
         done"
    );
    let new = xlvs_tests::Child(
        std::process::Command::new("ip")
            .args(["netns", "exec", "clab-nat-client", "bash", "-c", &script])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the new-connection loop"),
    );
    std::thread::sleep(Duration::from_secs(4));
    // Who is where before the change (a connection that breaks is
    // scheduled again in mid-stream, so later listings move it).
    let before = reals_by_client_port(&lab, "lb2", NAT_VIP);

    let adm = |args: &[&str]| {
        let mut full = vec!["xlvsadm", "--node", "lb2"];
        full.extend_from_slice(args);
        let out = lab.exec("lb2", &full);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    };
    for port in ["80", "7"] {
        let vs = format!("{NAT_VIP}:{port}");
        adm(&["-a", "-t", &vs, "-r", &format!("10.0.1.23:{port}"), "-m"]);
        adm(&["-d", "-t", &vs, "-r", &format!("10.0.1.22:{port}")]);
    }

    use xlvs_tests::WaitBounded;
    let mut long = long;
    let long_out = long.0.wait_with_output_bounded(Duration::from_secs(60));
    let mut new = new;
    let new_out = new.0.wait_with_output_bounded(Duration::from_secs(90));
    let after = reals_by_client_port(&lab, "lb2", NAT_VIP);

    // Long connections: the lost ones were all on web2.
    let lost: Vec<u16> = String::from_utf8_lossy(&long_out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("lost ")?.split(':').next()?.parse().ok())
        .collect();
    let on = |port: &u16| before.get(port).cloned().unwrap_or_else(|| "?".into());
    for p in &lost {
        assert_eq!(on(p), "10.0.1.22", "long connection from port {p} lost");
    }
    let web1_long = before
        .iter()
        .filter(|(p, r)| !NEW_PORTS.contains(*p) && *r == "10.0.1.21")
        .count();
    assert!(web1_long > 5, "some long connections on web1: {before:?}");

    // New connections: every failure was one scheduled to web2 before
    // the change.
    let failed: Vec<u16> = String::from_utf8_lossy(&new_out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL ")?.parse().ok())
        .collect();
    for p in &failed {
        assert_eq!(on(p), "10.0.1.22", "new connection from port {p} failed");
    }
    // ... and after the change new connections went to web1 and web3 only.
    let late: std::collections::BTreeSet<&String> = after
        .iter()
        .filter(|(p, _)| NEW_PORTS.contains(*p) && **p >= LAST_NEW - 50)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        late.into_iter().cloned().collect::<Vec<_>>(),
        ["10.0.1.21", "10.0.1.23"],
        "{after:?}"
    );
    eprintln!(
        "long lost {} of 60 (all on the removed real), new failed {} of 200",
        lost.len(),
        failed.len()
    );
}
