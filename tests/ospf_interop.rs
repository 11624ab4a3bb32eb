//! Our OSPF speaker against real FRR 8.4 ospfd/zebra in namespaces: the
//! router's kernel FIB is the final truth.

use std::time::{Duration, Instant};
use xlvs_tests::{signal, text, wait_until, workspace, Lab};

const VIP: &str = "192.0.2.10";
const VIP2: &str = "192.0.2.11";

fn lab(file: &str) -> Lab {
    Lab::up(&workspace().join("labs").join(file))
}

/// Waits until FRR on `router` has exactly `want` (router ids) Full.
fn wait_full(lab: &Lab, router: &str, want: &[&str], limit: Duration) {
    wait_until(&format!("{router}: {want:?} Full"), limit, || {
        let n = lab.frr_neighbors(router);
        let full: Vec<&str> = n
            .iter()
            .filter(|(_, s)| s == "Full")
            .map(|(r, _)| r.as_str())
            .collect();
        if full == want {
            Ok(())
        } else {
            Err(format!("{n:?}"))
        }
    });
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

/// FRR's copy of a router's Router-LSA: (sequence number, age), and how
/// many instances it holds.
fn frr_router_lsa(lab: &Lab, rid: &str) -> ((u32, u64), usize) {
    let v = lab
        .json(
            "r1",
            &[
                "vtysh",
                "-c",
                &format!("show ip ospf database router {rid} json"),
            ],
        )
        .unwrap();
    let list = v["routerLinkStates"]["areas"]["0.0.0.0"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let first = list.first().cloned().unwrap_or_default();
    let seq = first["lsaSeqNumber"]
        .as_str()
        .map(|s| u32::from_str_radix(s, 16).unwrap())
        .unwrap_or(0);
    ((seq, first["lsaAge"].as_u64().unwrap_or(0)), list.len())
}

#[test]
fn broadcast_segment_with_frr_as_dr() {
    let lab = lab("ospf-broadcast.clab.yml");
    let long = Duration::from_secs(60);
    // FRR waits a dead interval (12 s) before it elects itself DR.
    wait_full(&lab, "r1", &["10.255.0.11", "10.255.0.12"], long);
    for vip in [VIP, VIP2] {
        wait_nexthops(
            &lab,
            vip,
            &["10.0.1.11", "10.0.1.12"],
            Duration::from_secs(30),
        );
    }
    // Our side of the story, through the control socket.
    let ours = lab
        .json(
            "lb1",
            &["xlvsadm", "--node", "lb1", "--json", "ospf", "neighbors"],
        )
        .unwrap();
    let r1 = ours
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["router_id"] == "10.255.0.1")
        .unwrap();
    assert_eq!(
        (r1["state"].as_str(), r1["role"].as_str()),
        (Some("Full"), Some("DR")),
        "{ours:#}"
    );

    // Withdraw one VIP at runtime: only that VIP loses lb1.
    let out = lab.exec(
        "lb1",
        &["xlvsadm", "--node", "lb1", "ospf", "withdraw", VIP2],
    );
    assert!(out.status.success(), "{}", text(&out));
    wait_nexthops(&lab, VIP2, &["10.0.1.12"], Duration::from_secs(15));
    assert_eq!(
        lab.nexthops("r1", VIP),
        ["10.0.1.11", "10.0.1.12"],
        "other VIP untouched"
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
    let ((_, age), count) = frr_router_lsa(&lab, "10.255.0.12");
    assert!(
        count == 0 || age == 3600,
        "lb2's Router-LSA flushed: age {age}"
    );

    // kill -9 lb1: nothing is flushed; the route goes after the dead interval.
    let ((seq_before, _), _) = frr_router_lsa(&lab, "10.255.0.11");
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
    wait_until(
        "FRR holds lb1's new Router-LSA",
        Duration::from_secs(20),
        || {
            let ((seq, age), count) = frr_router_lsa(&lab, "10.255.0.11");
            if count == 1 && seq > seq_before && age < 3600 {
                Ok(())
            } else {
                Err(format!(
                    "seq {seq:#x} (before {seq_before:#x}), {count} instances"
                ))
            }
        },
    );
    let db = lab
        .json(
            "lb1",
            &["xlvsadm", "--node", "lb1", "--json", "ospf", "database"],
        )
        .unwrap();
    let ours = db
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "router" && l["adv_router"] == "10.255.0.11")
        .unwrap()["seq"]
        .as_str()
        .unwrap()
        .to_string();
    let ((frr_seq, _), _) = frr_router_lsa(&lab, "10.255.0.11");
    assert_eq!(
        ours,
        format!("{frr_seq:#010x}"),
        "both hold the same instance"
    );
}

#[test]
fn point_to_point_with_md5() {
    let lab = lab("ospf-p2p.clab.yml");
    wait_full(&lab, "r1", &["10.255.0.11"], Duration::from_secs(30));
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
    wait_full(&lab, "r1", &all, Duration::from_secs(60));
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
    let mut config = std::fs::read_to_string(p2p.join("lb1.toml")).unwrap();
    config = config.replace("[ospf]\n", "[ospf]\nannounce_as = \"external\"\n");
    // 1000 tables of 65537 slots would take 256 MiB: use small tables.
    config = config.replace(
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nmaglev_table_size = 251",
    );
    config.truncate(config.find("[[service]]").unwrap());
    for i in 0..1000 {
        config.push_str(&format!(
            "[[service]]\nname = \"s{i}\"\nvip = \"198.18.{}.{}\"\nports = [80]\nforward = \"tun\"\n\
             [service.health]\ncheck = \"none\"\n[[service.real]]\naddress = \"10.0.9.21\"\n",
            i / 250,
            1 + i % 250
        ));
    }
    std::fs::write(dir.path().join("lb1.toml"), config).unwrap();
    let topo = std::fs::read_to_string(workspace().join("labs/ospf-p2p.clab.yml"))
        .unwrap()
        .replace("name: ospf-p2p", "name: ospf-1000")
        .replace("ospf-p2p/lb1.toml", "lb1.toml")
        .replace("ospf-p2p/", &format!("{}/", p2p.display()));
    let file = dir.path().join("lab.clab.yml");
    std::fs::write(&file, topo).unwrap();
    let lab = Lab::up(&file);
    wait_full(&lab, "r1", &["10.255.0.11"], Duration::from_secs(30));
    wait_until(
        "1000 VIP routes in r1's FIB",
        Duration::from_secs(60),
        || {
            let routes = lab.json("r1", &["ip", "-j", "route", "show", "proto", "ospf"])?;
            let vips = routes
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["dst"].as_str().is_some_and(|d| d.starts_with("198.18.")))
                .count();
            if vips == 1000 {
                Ok(())
            } else {
                Err(format!("{vips} routes"))
            }
        },
    );
}
