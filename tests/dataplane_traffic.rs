//! Real traffic through the XDP data plane: a client behind an FRR router
//! talks to a VIP served by two DR directors and two real servers (labs/
//! quickstart.clab.yml): nginx over HTTP, and a TCP echo checked byte for
//! byte in both directions.

use std::collections::BTreeMap;
use std::time::Duration;
use xlvs_tests::{text, wait_until, workspace, Lab};

const VIP: &str = "192.0.2.10";

#[test]
fn dr_through_two_directors_to_two_reals() {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    wait_until("two next hops for the VIP", Duration::from_secs(60), || {
        let hops = lab.nexthops("r1", VIP);
        if hops == ["10.0.1.11", "10.0.1.12"] {
            Ok(())
        } else {
            Err(format!("{hops:?}"))
        }
    });
    // The first request may race the directors' ARP for the reals.
    wait_until("first HTTP answer", Duration::from_secs(20), || {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "2", &format!("http://{VIP}/")],
        );
        out.status.success().then_some(()).ok_or_else(|| text(&out))
    });

    // Many connections (each from a new source port): every one answered
    // in full by one of the reals, and both reals used.
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..40 {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
        );
        assert!(out.status.success(), "{}", text(&out));
        *answers
            .entry(String::from_utf8_lossy(&out.stdout).into_owned())
            .or_default() += 1;
    }
    let keys: Vec<&str> = answers.keys().map(String::as_str).collect();
    assert_eq!(keys, ["web1\n", "web2\n"], "{answers:?}");

    // Both directions byte for byte, through a real TCP service.
    for size in ["1", "65536", "4194304"] {
        let out = lab.exec(
            "client",
            &["python3", "/usr/local/bin/echo.py", "check", VIP, "7", size],
        );
        assert!(out.status.success(), "echo {size}: {}", text(&out));
    }

    // ECMP spread the flows over both directors, and each forwarded by DR.
    for lb in ["lb1", "lb2"] {
        let stats = lab
            .json(lb, &["xlvsadm", "--node", lb, "--json", "dataplane"])
            .unwrap();
        let tx = stats["tx_dr"].as_u64().unwrap_or(0);
        assert!(tx > 0, "{lb} forwarded nothing: {stats:#}");
        assert_eq!(stats["drop_no_real"], 0, "{lb}: {stats:#}");
    }
}
