//! labs/frr-triangle.clab.yml on real FRR: every adjacency Full, every
//! loopback reachable from every router, and `down` leaves nothing.

use serde_json::Value;
use std::time::Duration;
use xlvs_tests::{leftovers, pid_alive, text, wait_until, workspace, Lab};

const ROUTERS: [&str; 3] = ["r1", "r2", "r3"];

fn loopback(router: &str) -> String {
    format!("10.255.0.{}", &router[1..])
}

/// Neighbor states from `show ip ospf neighbor json`.
fn neighbor_states(lab: &Lab, router: &str) -> Result<Vec<String>, String> {
    let out = lab.exec(router, &["vtysh", "-c", "show ip ospf neighbor json"]);
    if !out.status.success() {
        return Err(text(&out));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let mut states = Vec::new();
    for list in v["neighbors"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for n in list.as_array().into_iter().flatten() {
            states.push(n["converged"].as_str().unwrap_or("?").to_string());
        }
    }
    Ok(states)
}

#[test]
fn triangle_comes_up_full_routes_loopbacks_and_leaves_nothing() {
    let file = workspace().join("labs/frr-triangle.clab.yml");
    // ospfd writes this outside its pathspace; down must remove it too.
    let gr_file = std::path::Path::new("/var/run/frr/ospfd-gr.json");
    let gr_file_before = gr_file.exists();
    let lab = Lab::up(&file);

    let status = lab.status();
    assert_eq!(status["up"], true, "{status:#}");
    let pids = lab.pids();
    // zebra, staticd and ospfd on each router
    assert_eq!(pids.len(), 9, "{status:#}");
    assert!(pids.iter().all(|&p| pid_alive(p)));

    for r in ROUTERS {
        wait_until(
            &format!("{r}: two Full adjacencies"),
            Duration::from_secs(40),
            || {
                let states = neighbor_states(&lab, r)?;
                if states.len() == 2 && states.iter().all(|s| s == "Full") {
                    Ok(())
                } else {
                    Err(format!("{states:?}"))
                }
            },
        );
    }
    for from in ROUTERS {
        for to in ROUTERS {
            let (src, dst) = (loopback(from), loopback(to));
            wait_until(
                &format!("{from} reaches {dst}"),
                Duration::from_secs(20),
                || {
                    let out = lab.exec(from, &["ping", "-c", "1", "-W", "1", "-I", &src, &dst]);
                    out.status.success().then_some(()).ok_or_else(|| text(&out))
                },
            );
        }
    }
    // Routes to the remote loopbacks came from OSPF into the kernel FIB.
    let out = lab.exec("r1", &["ip", "-j", "route", "show", "proto", "ospf"]);
    let routes: Value = serde_json::from_slice(&out.stdout).expect("ip -j route");
    let dsts: Vec<&str> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["dst"].as_str())
        .collect();
    for r in ["r2", "r3"] {
        assert!(dsts.contains(&loopback(r).as_str()), "r1 routes: {dsts:?}");
    }

    let out = lab.down();
    assert!(out.status.success(), "down failed: {}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
    // Only the last lab down removes it: skip when someone else's lab runs.
    let others = std::fs::read_dir("/run/xlvs-lab")
        .map(|d| d.count())
        .unwrap_or(0);
    if others == 0 {
        assert_eq!(gr_file.exists(), gr_file_before, "{}", gr_file.display());
    }
    let alive: Vec<i32> = pids.into_iter().filter(|&p| pid_alive(p)).collect();
    assert!(alive.is_empty(), "still running after down: {alive:?}");
}
