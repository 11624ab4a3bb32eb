//! OSPF graceful restart (RFC 3623) with FRR as the helper, under traffic:
//! the quickstart lab (FRR r1, two DR directors, two reals) with r1 set to
//! help. A graceful restart of a director moves no flow: its next hop never
//! leaves r1's FIB, every long connection lives on, and r1's ECMP picks
//! the same director for each flow before and after. A restart longer than
//! the grace period falls back to a withdrawal, and the late start is a
//! plain one.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use xlvs_tests::cluster::Cluster;
use xlvs_tests::{control, lab_copy, pid_alive, text, wait_until, Lab, WaitBounded};

const QUICKSTART: Cluster = Cluster {
    lab: "quickstart",
    vip: "192.0.2.10",
    router: "r1",
    directors: 2,
    socket_prefix: "/run/xlvs/",
    pin_prefix: "/run/xlvs/bpf/quickstart-",
    sources: &["10.0.0.2"],
    reals: &[("web1", "10.0.1.21"), ("web2", "10.0.1.22")],
};
const BOTH: [&str; 2] = ["10.0.1.11", "10.0.1.12"];
const STREAMS: usize = 40;

/// r1 helps restarting neighbors (FRR needs opaque LSAs for grace-LSAs).
fn frr_helps(labs: &Path) {
    let conf = labs.join("quickstart/r1/frr.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let anchor = " ospf router-id 10.255.0.1\n";
    assert!(text.contains(anchor));
    let helper = format!("{anchor} capability opaque\n graceful-restart helper enable\n");
    std::fs::write(&conf, text.replacen(anchor, &helper, 1)).unwrap();
}

/// `xlvsadm restart --graceful` on `lb`, which must succeed.
fn restart_gracefully(lab: &Lab, lb: &str, grace_period: u32) {
    let period = grace_period.to_string();
    let cmd = [
        "xlvsadm",
        "--node",
        lb,
        "restart",
        "--graceful",
        "--grace-period",
        &period,
    ];
    let out = lab.exec(lb, &cmd);
    assert!(out.status.success(), "{lb}: {}", text(&out));
    println!("{lb}: {}", text(&out).trim());
}

/// The echo connections the reals hold, as the client's ADDR:PORT.
fn flows(lab: &Lab) -> Vec<String> {
    wait_until(
        &format!("{STREAMS} echo connections"),
        Duration::from_secs(30),
        || {
            let all: Vec<String> = QUICKSTART
                .echo_connections(lab)
                .into_values()
                .flatten()
                .collect();
            let n = all.len();
            (n == STREAMS).then_some(all).ok_or(format!("{n}"))
        },
    )
}

/// r1's FIB for the VIP, sampled every 100 ms while `during` runs: every
/// set of next hops seen.
fn fib_while(lab: &Lab, during: impl FnOnce()) -> BTreeSet<Vec<String>> {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watch = scope.spawn(|| {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::Relaxed) {
                seen.insert(lab.nexthops("r1", QUICKSTART.vip));
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        during();
        done.store(true, Ordering::Relaxed);
        watch.join().expect("FIB watch")
    })
}

/// How long FRR's route to the VIP has been as it is (zebra's uptime).
fn route_age(lab: &Lab) -> Duration {
    let cmd = format!("show ip route {}/32 json", QUICKSTART.vip);
    let v = lab.json("r1", &["vtysh", "-c", &cmd]).unwrap();
    let uptime = v[format!("{}/32", QUICKSTART.vip)][0]["uptime"]
        .as_str()
        .unwrap_or_else(|| panic!("no uptime: {v:#}"))
        .to_string();
    let hms: Vec<u64> = uptime.split(':').map(|n| n.parse().unwrap()).collect();
    let [h, m, s] = hms[..] else {
        panic!("uptime {uptime:?}")
    };
    Duration::from_secs(h * 3600 + m * 60 + s)
}

#[test]
fn graceful_restart_with_frr_as_helper_moves_no_flow() {
    let labs = lab_copy("quickstart");
    frr_helps(labs.path());
    let lab = QUICKSTART.up(labs.path());
    let streams = QUICKSTART.streams(STREAMS, 300, 3);
    let flows = flows(&lab);
    let before = QUICKSTART.router_picks(&lab, &flows);
    assert!(
        before.iter().any(|p| p == "lb1"),
        "lb1 carries flows: {before:?}"
    );

    // lb1 restarts gracefully: it exits (the lab's xlvsd), we start it again.
    let restart = Instant::now();
    let mut lb1 = None;
    let seen = fib_while(&lab, || {
        let pid = QUICKSTART.xlvsd_pid(&lab, "lb1");
        restart_gracefully(&lab, "lb1", 60);
        wait_until("lb1's xlvsd exited", Duration::from_secs(10), || {
            (!pid_alive(pid)).then_some(()).ok_or("running".into())
        });
        lb1 = Some(QUICKSTART.start_xlvsd(labs.path(), "lb1"));
        wait_until(
            "lb1's graceful restart done",
            Duration::from_secs(30),
            || match control(&QUICKSTART.socket("lb1"), "ospf.graceful", &[]) {
                Ok(serde_json::Value::Null) => Ok(()),
                other => Err(format!("{other:?}")),
            },
        );
    });
    let both: Vec<String> = BOTH.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, BTreeSet::from([both]), "r1's next hops for the VIP");
    // Not even a change shorter than a sample: FRR's route is older than
    // the restart.
    let age = route_age(&lab);
    assert!(age > restart.elapsed(), "r1's route is {age:?} old");
    let helper = lab.exec(
        "r1",
        &["vtysh", "-c", "show ip ospf graceful-restart helper detail"],
    );
    assert!(
        text(&helper).contains("Last Helper exit Reason :Successful graceful restart"),
        "{}",
        text(&helper)
    );
    let after = QUICKSTART.router_picks(&lab, &flows);
    assert_eq!(before, after, "every flow stays with its director");
    let report = streams.stop();
    println!("graceful restart under traffic: {}", report.summary);
    assert!(report.lost.is_empty(), "{:?}", report.lost);

    // Longer than the grace period: r1 stops helping and drops lb1's next
    // hop (a withdrawal by the dead neighbor, nothing flushed); the late
    // start is a plain one, and lb1 comes back.
    let mut lb1 = lb1.expect("restarted");
    restart_gracefully(&lab, "lb1", 5);
    let exited = lb1.0.wait_with_output_bounded(Duration::from_secs(10));
    assert_eq!(
        exited.status.code(),
        Some(75),
        "the graceful restart's status"
    );
    let gone = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        lab.nexthops("r1", QUICKSTART.vip),
        BOTH,
        "kept within the grace period"
    );
    lab.wait_nexthops(
        "r1",
        QUICKSTART.vip,
        &["10.0.1.12"],
        Duration::from_secs(30),
    );
    println!(
        "restart past the grace period (5 s): next hop gone after {:?}",
        gone.elapsed()
    );
    let _late = QUICKSTART.start_xlvsd(labs.path(), "lb1");
    lab.wait_nexthops("r1", QUICKSTART.vip, &BOTH, Duration::from_secs(30));
    let log = std::env::temp_dir().join(format!("clab-{}-lb1-xlvsd.log", QUICKSTART.lab));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("grace period is over"), "{log}");
}
