//! Losing chosen OSPF packets of a director, so that retransmissions must
//! happen: nftables in the director's namespace drops exactly one packet
//! of a kind (`limit rate 1/hour burst 1 packets`: the first match is
//! within the limit and dropped, the rest are not), counted, so a test
//! knows the retransmission was needed.

use crate::{rewrite, text, Lab};
use std::path::Path;

/// OSPF packet types, as the second byte of the OSPF header.
pub const DBD: u8 = 2;
pub const LSU: u8 = 4;

/// An nftables rule that drops the first OSPF packet of `kind` leaving
/// eth1, counted under `comment`.
fn drop_first(kind: u8, comment: &str) -> String {
    format!(
        "oifname \"eth1\" ip protocol ospf @th,8,8 {kind} \
         limit rate 1/hour burst 1 packets counter drop comment \"{comment}\""
    )
}

/// Makes a lab's directors lose their first DBD and their first LSU: the
/// ruleset is loaded before each director's `exec` line `addr_line` sets
/// its address (xlvsd sends nothing on an interface without one).
pub fn lose_first_packets(lab_file: &Path, addr_lines: &[&str]) {
    let ruleset = lab_file.with_file_name("loss.nft");
    let rules = format!(
        "table inet xlvs_loss {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n    {}\n    {}\n  }}\n}}\n",
        drop_first(DBD, "first DBD"),
        drop_first(LSU, "first LSU")
    );
    std::fs::write(&ruleset, rules).unwrap();
    for line in addr_lines {
        let load = format!("\"nft -f {}\", \"{line}\"", ruleset.display());
        rewrite(lab_file, &format!("\"{line}\""), &load);
    }
}

/// Packets dropped so far by the rule with `comment` in `node`.
pub fn dropped(lab: &Lab, node: &str, comment: &str) -> u64 {
    dropped_by(lab, node, ("xlvs_loss", "out"), comment)
}

/// Packets dropped so far by the rule with `comment` in `node`'s chain
/// (table, chain) of family inet.
pub fn dropped_by(lab: &Lab, node: &str, (table, chain): (&str, &str), comment: &str) -> u64 {
    let v = lab
        .json(node, &["nft", "-j", "list", "chain", "inet", table, chain])
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
        .unwrap_or_else(|| panic!("{node}: no rule {comment:?} in {chain}: {v:#}"))
}

/// Each of `lbs` lost its first DBD and its first LSU, once.
pub fn assert_first_packets_lost(lab: &Lab, lbs: &[&str]) {
    for lb in lbs {
        for rule in ["first DBD", "first LSU"] {
            assert_eq!(dropped(lab, lb, rule), 1, "{lb}: {rule} lost");
        }
    }
}

/// `lb` withdraws `vip` and loses the first LSU that says so; the caller
/// waits for the router's FIB, then checks [`dropped`] under
/// "withdrawal LSU".
pub fn withdraw_losing_the_first_lsu(lab: &Lab, lb: &str, vip: &str) {
    // nft joins its arguments: the rule goes as one.
    let rule = drop_first(LSU, "withdrawal LSU");
    let add = ["nft", "add", "rule", "inet", "xlvs_loss", "out", &rule];
    let out = lab.exec(lb, &add);
    assert!(out.status.success(), "{lb}: nft add rule: {}", text(&out));
    let out = lab.exec(lb, &["xlvsadm", "--node", lb, "ospf", "withdraw", vip]);
    assert!(out.status.success(), "{}", text(&out));
}
