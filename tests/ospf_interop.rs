//! Our OSPF speaker against real FRR 8.4 ospfd/zebra in namespaces: the
//! router's kernel FIB is the final truth.

use std::time::{Duration, Instant};
use xlvs_tests::{signal, text, wait_until, workspace, Lab};

const VIP: &str = "192.0.2.10";
const VIP2: &str = "192.0.2.11";

fn lab(file: &str) -> Lab {
    Lab::up(&workspace().join("labs").join(file))
}

fn wait_nexthops(lab: &Lab, prefix: &str, want: &[&str], limit: Duration) -> Duration {
    let start = Instant::now();
    wait_until(&format!("r1: {prefix} via {want:?}"), limit, || {
        let hops = lab.nexthops("r1", prefix);
        if hops == want {
            Ok(())
        } else {
            Err(format!("{hops:?}"))
        }
    });
    start.elapsed()
}

#[test]
fn broadcast_segment_with_frr_as_dr() {
    let lab = lab("ospf-broadcast.clab.yml");
    let long = Duration::from_secs(60);
    // FRR waits a dead interval (12 s) before it elects itself DR.
    lab.wait_full("r1", &["10.255.0.11", "10.255.0.12"], long);
    for vip in [VIP, VIP2] {
        wait_nexthops(
            &lab,
            vip,
            &["10.0.1.11", "10.0.1.12"],
            Duration::from_secs(30),
        );
    }
    // Our side of the story, through the control socket.
    assert_eq!(
        lab.seen_by("lb1", "10.255.0.1"),
        Ok(("Full".into(), "DR".into()))
    );

    // Withdraw one VIP at runtime: only that VIP loses lb1.
    lab.withdraw("lb1", VIP2);
    wait_nexthops(&lab, VIP2, &["10.0.1.12"], Duration::from_secs(15));
    assert_eq!(
        lab.nexthops("r1", VIP),
        ["10.0.1.11", "10.0.1.12"],
        "other VIP untouched"
    );
    // ...and announced again.
    let out = lab.exec(
        "lb1",
        &["xlvsadm", "--node", "lb1", "ospf", "announce", VIP2],
    );
    assert!(out.status.success(), "announce {VIP2}: {}", text(&out));
    wait_nexthops(
        &lab,
        VIP2,
        &["10.0.1.11", "10.0.1.12"],
        Duration::from_secs(15),
    );

    // SIGTERM lb2: it flushes its LSA, so its next hop goes well before
    // the 12 s dead interval.
    signal(lab.pid_of("lb2", "xlvsd"), libc::SIGTERM);
    let took = wait_nexthops(&lab, VIP, &["10.0.1.11"], Duration::from_secs(12));
    println!("SIGTERM: next hop gone after {took:?} (dead interval 12 s)");
    assert!(
        took < Duration::from_secs(6),
        "took {took:?}: flushed, not timed out"
    );
    // Flushed: gone, or kept at MaxAge until FRR's MaxAge walker runs.
    let lsas = lab.router_lsas("r1", "10.255.0.12");
    assert!(
        lsas.iter().all(|&(_, age)| age == 3600),
        "lb2's Router-LSA flushed: {lsas:?}"
    );

    // kill -9 lb1: nothing is flushed; the route goes after the dead interval.
    let (seq_before, _) = lab.router_lsas("r1", "10.255.0.11")[0];
    let killed = Instant::now();
    signal(lab.pid_of("lb1", "xlvsd"), libc::SIGKILL);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        lab.nexthops("r1", VIP),
        ["10.0.1.11"],
        "still there within the dead interval"
    );
    wait_nexthops(&lab, VIP, &[], Duration::from_secs(30));
    println!(
        "kill -9: next hop gone after {:?} (dead interval 12 s)",
        killed.elapsed()
    );
    assert!(killed.elapsed() >= Duration::from_secs(10));

    // Restart lb1: back in the FIB, and FRR holds one current instance of
    // its Router-LSA, newer than before the kill (we took it over).
    let config = workspace().join("labs/ospf-broadcast/lb1.toml");
    let _restarted = xlvs_tests::start_xlvsd("clab-ospf-bcast-lb1", &config);
    wait_nexthops(&lab, VIP, &["10.0.1.11"], long);
    lab.wait_lsa_taken_over("r1", "lb1", "10.255.0.11", seq_before);
}

#[test]
fn point_to_point_with_md5() {
    let lab = lab("ospf-p2p.clab.yml");
    lab.wait_full("r1", &["10.255.0.11"], Duration::from_secs(30));
    wait_nexthops(&lab, VIP, &["10.0.2.1"], Duration::from_secs(20));
    let stats = lab
        .json(
            "lb1",
            &["xlvsadm", "--node", "lb1", "--json", "ospf", "stats"],
        )
        .unwrap();
    assert_eq!(stats["auth_failures"], 0, "{stats:#}");
}

#[test]
fn eight_directors_give_eight_next_hops() {
    let lab = lab("ospf-ecmp8.clab.yml");
    let all: Vec<String> = (1..=8).map(|n| format!("10.255.0.1{n}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    lab.wait_full("r1", &all, Duration::from_secs(60));
    let hops: Vec<String> = (1..=8).map(|n| format!("10.0.1.1{n}")).collect();
    let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
    wait_nexthops(&lab, VIP, &hops, Duration::from_secs(30));
}

/// More VIPs than one Router-LSA can carry: with announce_as = "external"
/// each is an AS-external LSA, and all of them reach the router.
#[test]
fn a_thousand_vips_as_external_lsas() {
    let dir = tempfile::tempdir().unwrap();
    let p2p = workspace().join("labs/ospf-p2p");
    let config =
        xlvs_tests::thousand_vips_config(&std::fs::read_to_string(p2p.join("lb1.toml")).unwrap());
    std::fs::write(dir.path().join("lb1.toml"), config).unwrap();
    let topo = std::fs::read_to_string(workspace().join("labs/ospf-p2p.clab.yml"))
        .unwrap()
        .replace("name: ospf-p2p", "name: ospf-1000")
        .replace("ospf-p2p/lb1.toml", "lb1.toml")
        .replace("ospf-p2p/", &format!("{}/", p2p.display()));
    let file = dir.path().join("lab.clab.yml");
    std::fs::write(&file, topo).unwrap();
    let lab = Lab::up(&file);
    lab.wait_full("r1", &["10.255.0.11"], Duration::from_secs(30));
    wait_until(
        "1000 VIP routes in r1's FIB",
        Duration::from_secs(60),
        || {
            let vips = lab.count_routes("r1", "ospf", "198.18.")?;
            if vips == 1000 {
                Ok(())
            } else {
                Err(format!("{vips} routes"))
            }
        },
    );
}
