//! MD5 adjacencies with a real router when packets are lost, so that
//! retransmissions must happen (RFC 2328 D.5.2: a receiver drops a packet
//! whose cryptographic sequence number went back).
//!
//! nftables in each director's namespace drops exactly one packet of a
//! kind (`limit rate 1/hour burst 1 packets`: the first match passes the
//! limit and is dropped, the rest are not), counted, so each test knows
//! the retransmission was needed. The router's kernel FIB is the final
//! truth.

use std::path::Path;
use std::time::Duration;
use xlvs_tests::{lab_copy, text, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const VIP2: &str = "192.0.2.11";
/// OSPF packet types, as the second byte of the OSPF header.
const DBD: u8 = 2;
const LSU: u8 = 4;

/// An nftables rule that drops the first OSPF packet of `kind` leaving
/// eth1, counted under `comment`.
fn drop_first(kind: u8, comment: &str) -> String {
    format!(
        "oifname \"eth1\" ip protocol ospf @th,8,8 {kind} \
         limit rate 1/hour burst 1 packets counter drop comment \"{comment}\""
    )
}

/// The ruleset a director starts with: its first DBD and first LSU lost.
fn loss_ruleset() -> String {
    format!(
        "table inet xlvs_loss {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n    {}\n    {}\n  }}\n}}\n",
        drop_first(DBD, "first DBD"),
        drop_first(LSU, "first LSU")
    )
}

/// Makes the lab's directors load the loss ruleset before their address
/// is set (xlvsd sends nothing on an interface without one).
fn lose_first_packets(dir: &Path, topo: &str, lbs: &[(&str, &str)]) {
    let ruleset = dir.join("loss.nft");
    std::fs::write(&ruleset, loss_ruleset()).unwrap();
    let file = dir.join(topo);
    let mut yaml = std::fs::read_to_string(&file).unwrap();
    for (_, addr_line) in lbs {
        let with = format!("\"nft -f {}\", \"{addr_line}\"", ruleset.display());
        let before = yaml.clone();
        yaml = yaml.replace(&format!("\"{addr_line}\""), &with);
        assert_ne!(yaml, before, "{addr_line} in {topo}");
    }
    std::fs::write(&file, yaml).unwrap();
}

/// Packets dropped so far by the rule with `comment` in `node`.
fn dropped(lab: &Lab, node: &str, comment: &str) -> u64 {
    let v = lab
        .json(
            node,
            &["nft", "-j", "list", "chain", "inet", "xlvs_loss", "out"],
        )
        .unwrap_or_else(|e| panic!("{node}: nft list: {e}"));
    v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("rule"))
        .find(|r| r["comment"] == comment)
        .and_then(|r| {
            r["expr"]
                .as_array()?
                .iter()
                .find_map(|e| e["counter"]["packets"].as_u64())
        })
        .unwrap_or_else(|| panic!("{node}: no rule {comment:?}: {v:#}"))
}

/// Adds a rule dropping `node`'s next OSPF packet of `kind`.
fn drop_next(lab: &Lab, node: &str, kind: u8, comment: &str) {
    let rule = drop_first(kind, comment);
    // nft joins its arguments: the rule goes as one.
    let cmd = ["nft", "add", "rule", "inet", "xlvs_loss", "out", &rule];
    let out = lab.exec(node, &cmd);
    assert!(out.status.success(), "{node}: nft add rule: {}", text(&out));
}

/// Waits until our speaker on `lb` has `router` Full.
fn wait_full_here(lab: &Lab, lb: &str, router: &str) {
    wait_until(
        &format!("{lb}: {router} Full"),
        Duration::from_secs(60),
        || {
            let v = lab.json(
                lb,
                &["xlvsadm", "--node", lb, "--json", "ospf", "neighbors"],
            )?;
            let state = v
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| n["router_id"] == router)
                .map(|n| n["state"].clone());
            match state {
                Some(s) if s == "Full" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    );
}

/// Our speaker dropped nothing for authentication, and the router's log
/// (FRR's ospfd writes one per lab node) has no sequence-number complaint.
fn assert_no_auth_failures(lab: &Lab, lbs: &[&str], router: &str) {
    for lb in lbs {
        let stats = lab
            .json(lb, &["xlvsadm", "--node", lb, "--json", "ospf", "stats"])
            .unwrap();
        assert_eq!(stats["auth_failures"], 0, "{lb}: {stats:#}");
    }
    let log = Path::new("/run/xlvs-lab")
        .join(&lab.name)
        .join(router)
        .join("ospfd.log");
    let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        !log.contains("bad sequence"),
        "the router dropped packets of ours as replays:\n{log}"
    );
}

/// The MD5 lines FRR needs on an interface, after `after` in frr.conf.
fn frr_md5(conf: &Path, after: &str) {
    let text = std::fs::read_to_string(conf).unwrap();
    let md5 = format!(
        "{after}\n ip ospf authentication message-digest\n ip ospf message-digest-key 7 md5 xlvs-lab-key"
    );
    assert!(text.contains(after), "{after} in {}", conf.display());
    std::fs::write(conf, text.replacen(after, &md5, 1)).unwrap();
}

/// Our MD5 key, on the director's OSPF interface.
fn xlvs_md5(config: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let after = "dead_interval = \"12s\"";
    assert!(text.contains(after), "{after} in {}", config.display());
    let md5 = format!("{after}\nauth = {{ type = \"md5\", key_id = 7, key = \"xlvs-lab-key\" }}");
    std::fs::write(config, text.replacen(after, &md5, 1)).unwrap();
}

/// A broadcast segment whose DR is FRR, two directors (DROther) with MD5,
/// each losing its first DBD and its first LSU; then a withdrawal whose
/// first LSU is lost.
#[test]
fn md5_on_a_broadcast_segment_with_frr_as_dr_survives_lost_packets() {
    let dir = lab_copy("ospf-broadcast");
    let d = dir.path().join("ospf-broadcast");
    frr_md5(&d.join("r1/frr.conf"), " ip ospf dead-interval 12");
    xlvs_md5(&d.join("lb1.toml"));
    xlvs_md5(&d.join("lb2.toml"));
    lose_first_packets(
        dir.path(),
        "ospf-broadcast.clab.yml",
        &[
            ("lb1", "ip addr add 10.0.1.11/24 dev eth1"),
            ("lb2", "ip addr add 10.0.1.12/24 dev eth1"),
        ],
    );
    let lab = Lab::up(&dir.path().join("ospf-broadcast.clab.yml"));
    for lb in ["lb1", "lb2"] {
        wait_full_here(&lab, lb, "10.255.0.1");
    }
    let both = ["10.0.1.11", "10.0.1.12"];
    for vip in [VIP, VIP2] {
        lab.wait_nexthops("r1", vip, &both, Duration::from_secs(30));
    }
    for lb in ["lb1", "lb2"] {
        for rule in ["first DBD", "first LSU"] {
            assert_eq!(dropped(&lab, lb, rule), 1, "{lb}: {rule} lost");
        }
    }

    // A withdrawal whose first LSU is lost still reaches the FIB, by
    // retransmission.
    drop_next(&lab, "lb1", LSU, "withdrawal LSU");
    let out = lab.exec(
        "lb1",
        &["xlvsadm", "--node", "lb1", "ospf", "withdraw", VIP2],
    );
    assert!(out.status.success(), "{}", text(&out));
    lab.wait_nexthops("r1", VIP2, &["10.0.1.12"], Duration::from_secs(30));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    assert_eq!(lab.nexthops("r1", VIP), both, "the other VIP untouched");
    assert_no_auth_failures(&lab, &["lb1", "lb2"], "r1");
}

/// The same on a point-to-point link (labs/ospf-p2p runs MD5 already).
#[test]
fn md5_on_point_to_point_survives_lost_packets() {
    let dir = lab_copy("ospf-p2p");
    lose_first_packets(
        dir.path(),
        "ospf-p2p.clab.yml",
        &[("lb1", "ip addr add 10.0.2.1/31 dev eth1")],
    );
    let lab = Lab::up(&dir.path().join("ospf-p2p.clab.yml"));
    wait_full_here(&lab, "lb1", "10.255.0.1");
    lab.wait_nexthops("r1", VIP, &["10.0.2.1"], Duration::from_secs(30));
    for rule in ["first DBD", "first LSU"] {
        assert_eq!(dropped(&lab, "lb1", rule), 1, "{rule} lost");
    }

    drop_next(&lab, "lb1", LSU, "withdrawal LSU");
    let out = lab.exec(
        "lb1",
        &["xlvsadm", "--node", "lb1", "ospf", "withdraw", VIP],
    );
    assert!(out.status.success(), "{}", text(&out));
    lab.wait_nexthops("r1", VIP, &[], Duration::from_secs(30));
    assert_eq!(dropped(&lab, "lb1", "withdrawal LSU"), 1);
    assert_no_auth_failures(&lab, &["lb1"], "r1");
}
