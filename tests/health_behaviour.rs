//! What failing and recovering reals do to forwarding and announcements,
//! with real FRR, nginx and the echo server: sorry server, inhibit on
//! failure, alpha, quorum hysteresis, slow start, the SIGTERM grace
//! period, and the JSON log that records them. Each test runs the
//! quickstart lab (labs/quickstart.clab.yml) copied with a third real
//! (web3, 10.0.1.23) and a sorry server (sorry, 10.0.1.29, answering
//! "sorry"), and both directors configured by the test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xlvs_tests::{control, pid_alive, signal, text, wait_until, Lab, WaitBounded};

const VIP: &str = "192.0.2.10";
const BOTH: [&str; 2] = ["10.0.1.11", "10.0.1.12"];
const WEB1: &str = "10.0.1.21";
const SORRY: &str = "10.0.1.29";
const LBS: [&str; 2] = ["lb1", "lb2"];

/// The extra nodes: like web1 and web2 (VIP on lo, nginx), on the switch.
const EXTRA_NODES: &str = r#"    web3:
      <<: *web
      binds:
        - quickstart/web3/nginx.conf:/etc/nginx/nginx.conf
        - quickstart/echo.py:/usr/local/bin/echo.py
      exec:
        - ip addr add 10.0.1.23/24 dev eth1
        - ip addr add 192.0.2.10/32 dev lo
        - ip route add default via 10.0.1.1
        - nginx -c /etc/nginx/nginx.conf
        - bash -c "python3 /usr/local/bin/echo.py serve 7 >/dev/null 2>&1 &"
    sorry:
      <<: *web
      binds: [quickstart/sorry/nginx.conf:/etc/nginx/nginx.conf]
      exec:
        - ip addr add 10.0.1.29/24 dev eth1
        - ip addr add 192.0.2.10/32 dev lo
        - ip route add default via 10.0.1.1
        - nginx -c /etc/nginx/nginx.conf
"#;
const EXTRA_LINKS: &str = r#"    - endpoints: ["web3:eth1", "sw:p5"]
    - endpoints: ["sorry:eth1", "sw:p6"]
"#;

/// A health check that notices a stopped nginx after 2 s.
const HTTP_CHECK: &str = r#"
[service.health]
check = "http"
port = 80
interval = "1s"
timeout = "500ms"
rise = 2
fall = 2
"#;

/// The lab, up, with `node` added to both directors' `[node]` and
/// `service` (a whole `[[service]]` with its tables) as their only
/// service. Dropped in reverse: the lab goes down before its files.
struct HealthLab {
    lab: Lab,
    dir: tempfile::TempDir,
}

fn sock(lb: &str) -> PathBuf {
    PathBuf::from(format!("/run/xlvs/{lb}.sock"))
}

impl HealthLab {
    fn up(node: &str, service: &str) -> HealthLab {
        let dir = xlvs_tests::quickstart_copy();
        let q = dir.path().join("quickstart");
        let yml = dir.path().join("quickstart.clab.yml");
        let topo = std::fs::read_to_string(&yml).unwrap();
        assert!(topo.contains("  links:\n"), "{topo}");
        let topo = topo.replace("  links:\n", &format!("{EXTRA_NODES}  links:\n"));
        std::fs::write(&yml, format!("{topo}{EXTRA_LINKS}")).unwrap();
        let web1 = std::fs::read_to_string(q.join("web1/nginx.conf")).unwrap();
        for web in ["web3", "sorry"] {
            std::fs::create_dir_all(q.join(web)).unwrap();
            std::fs::write(q.join(web).join("nginx.conf"), web1.replace("web1", web)).unwrap();
        }
        for lb in LBS {
            let path = q.join(format!("{lb}.toml"));
            let original = std::fs::read_to_string(&path).unwrap();
            let head = &original[..original.find("[[service]]").expect("a service")];
            let head = head.replacen("[node]\n", &format!("[node]\n{node}\n"), 1);
            std::fs::write(&path, format!("{head}{service}")).unwrap();
        }
        let lab = Lab::up(&yml);
        HealthLab { lab, dir }
    }

    fn config(&self, lb: &str) -> PathBuf {
        self.dir.path().join(format!("quickstart/{lb}.toml"))
    }

    fn start_nginx(&self, web: &str) {
        let conf = self.dir.path().join(format!("quickstart/{web}/nginx.conf"));
        self.lab.start_nginx(web, &conf);
    }

    /// One HTTP request through the VIP: the body, or "" on failure.
    fn ask(&self) -> String {
        let out = self.lab.exec(
            "client",
            &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn routed(&self, want: &[&str], limit: u64) {
        self.lab
            .wait_nexthops("r1", VIP, want, Duration::from_secs(limit));
    }

    /// `xlvsadm health` of a director: the row of `real` on `port`.
    fn health_of(&self, lb: &str, real: &str, port: u16) -> serde_json::Value {
        let rows = control(&sock(lb), "health", &[]).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["real"] == real && r["port"] == port)
            .unwrap_or_else(|| panic!("{lb}: no row for {real} port {port}: {rows:#}"))
            .clone()
    }

    /// Waits until the directors `lbs` see `real` (probed on port 80)
    /// usable or not.
    fn wait_usable(&self, lbs: &[&str], real: &str, usable: bool) {
        for lb in lbs {
            let what = format!("{lb}: {real} usable = {usable}");
            wait_until(&what, Duration::from_secs(15), || {
                let row = self.health_of(lb, real, 80);
                (row["usable"] == usable)
                    .then_some(())
                    .ok_or(row.to_string())
            });
        }
    }

    /// A director's view of the VIP: (ready, why lines joined).
    fn vip_status(&self, lb: &str) -> (bool, String) {
        let status = control(&sock(lb), "status", &[]).unwrap();
        let vip = &status["vips"][0];
        let why: Vec<&str> = vip["why"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        (vip["ready"] == true, why.join("; "))
    }

    /// Waits until both directors' VIP status lines contain `text`, or do
    /// not; `also` runs at every look.
    fn wait_status(&self, text: &str, contains: bool, mut also: impl FnMut()) {
        for lb in LBS {
            let what = format!("{lb}: status with {text:?} = {contains}");
            wait_until(&what, Duration::from_secs(15), || {
                also();
                let (_, why) = self.vip_status(lb);
                (why.contains(text) == contains).then_some(()).ok_or(why)
            });
        }
    }

    /// A director's reals as listed (`xlvsadm -L -n --json`), of every
    /// port, in listing order.
    fn listed(&self, lb: &str, real: &str) -> Vec<serde_json::Value> {
        let table = control(&sock(lb), "ipvs.list", &[]).unwrap();
        table["services"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["reals"].as_array().unwrap().clone())
            .filter(|r| r["address"] == real)
            .collect()
    }

    /// The listed weight of `real` on every port.
    fn weights(&self, lb: &str, real: &str) -> Vec<u64> {
        let listed = self.listed(lb, real);
        listed
            .iter()
            .map(|r| r["weight"].as_u64().unwrap())
            .collect()
    }

    /// lb1's xlvsd log (xlvs-lab keeps it beside the node's exec logs).
    fn lb1_log(&self) -> String {
        std::fs::read_to_string("/run/xlvs-lab/quickstart/lb1/xlvsd.log").unwrap_or_default()
    }
}

/// A service of web1 and web2 on ports 80 and 7 (DR), plus `extra` keys.
fn service(extra: &str, reals: &[&str]) -> String {
    let mut s = format!(
        "[[service]]\nname = \"web\"\nvip = \"{VIP}\"\nports = [80, 7]\nforward = \"dr\"\n{extra}\n{HTTP_CHECK}"
    );
    for r in reals {
        s.push_str(&format!("[[service.real]]\naddress = \"{r}\"\n"));
    }
    s
}

#[test]
fn sorry_server_takes_the_traffic_when_every_real_fails() {
    let h = HealthLab::up(
        "",
        &service("sorry_server = \"10.0.1.29\"", &["10.0.1.21", "10.0.1.22"]),
    );
    h.routed(&BOTH, 60);
    wait_until("the reals answer", Duration::from_secs(20), || {
        let got = h.ask();
        (got == "web1\n" || got == "web2\n")
            .then_some(())
            .ok_or(got)
    });
    let serving = "sorry server 10.0.1.29 takes the new flows";
    for lb in LBS {
        let (ready, why) = h.vip_status(lb);
        assert!(ready && !why.contains(serving), "{lb}: {why}");
    }

    h.lab.stop_nginx("web1");
    h.lab.stop_nginx("web2");
    // The VIP stays announced all along.
    let announced = || assert_eq!(h.lab.nexthops("r1", VIP), BOTH, "VIP withdrawn");
    h.wait_status(serving, true, announced);
    for _ in 0..10 {
        assert_eq!(h.ask(), "sorry\n", "every new connection");
    }
    announced();
    let (ready, why) = h.vip_status("lb1");
    assert!(ready, "{why}");
    assert!(
        why.contains(&format!(
            "0 of 2 reals usable, quorum 1, quorum lost: {serving}"
        )),
        "{why}"
    );
    let sorry = h.health_of("lb1", "10.0.1.29", 80);
    assert_eq!(sorry["sorry_server"], true, "{sorry:#}");
    assert_eq!(sorry["usable"], true, "{sorry:#}");
    assert_eq!(h.weights("lb1", WEB1), [0, 0]);
    // Listed like a real, at the weight the data plane gives it, with
    // the flows it took (each went through one of the two directors).
    assert_eq!(h.weights("lb1", SORRY), [1, 1]);
    let listed: Vec<_> = LBS.iter().flat_map(|lb| h.listed(lb, SORRY)).collect();
    for entry in &listed {
        assert_eq!(entry["sorry_server"], true, "{entry:#}");
        assert_eq!(entry["forward"], "Route", "{entry:#}");
    }
    let conns: u64 = listed
        .iter()
        .filter(|e| e["port"] == 80)
        .map(|e| e["stats"]["conns"].as_u64().unwrap())
        .sum();
    assert!(conns >= 10, "{listed:#?}");
    let out = h.lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n"]);
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("  -> 10.0.1.29:80 "))
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "));
    assert_eq!(
        line.as_deref(),
        Some("-> 10.0.1.29:80 Route 1"),
        "{}",
        text(&out)
    );
    let out = h.lab.exec("lb1", &["xlvsadm", "--node", "lb1", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(serving),
        "{}",
        text(&out)
    );
    assert!(h.lb1_log().contains("the sorry server takes the new flows"));

    // One real back: the quorum (1) is met, the reals take over again.
    h.start_nginx("web1");
    h.wait_status(serving, false, announced);
    for _ in 0..10 {
        assert_eq!(h.ask(), "web1\n", "no more sorry page");
    }
    let (ready, why) = h.vip_status("lb1");
    assert!(ready && !why.contains("sorry"), "{why}");
    assert_eq!(h.health_of("lb1", "10.0.1.29", 80)["usable"], false);
    // Standing by: out of the data plane, still listed, at weight 0.
    assert_eq!(h.weights("lb1", SORRY), [0, 0]);
    announced();
}

/// `[node] log_format = "json"`: a real daemon's whole log, start-up and
/// a real going down included, is one JSON object per line.
#[test]
fn json_log_is_one_object_per_line() {
    let h = HealthLab::up(
        "log_format = \"json\"",
        &service("", &["10.0.1.21", "10.0.1.22"]),
    );
    h.routed(&BOTH, 60);
    h.lab.stop_nginx("web1");
    h.wait_usable(&["lb1"], WEB1, false);

    let log = h.lb1_log();
    // Only whole lines: xlvsd may be writing the next one.
    let whole = &log[..log.rfind('\n').map_or(0, |end| end + 1)];
    let lines: Vec<serde_json::Value> = whole
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n--- log:\n{log}"));
            assert!(v["level"].is_string(), "no level: {line}");
            assert!(v["fields"]["message"].is_string(), "no message: {line}");
            v
        })
        .collect();
    let down = lines
        .iter()
        .find(|v| v["fields"]["message"] == "real is down")
        .unwrap_or_else(|| panic!("no `real is down` in\n{log}"));
    assert_eq!(down["level"], "WARN", "{down}");
    assert_eq!(down["fields"]["real"], "web/10.0.1.21", "{down}");
    assert!(down["fields"]["reason"].is_string(), "{down}");
    let start = lines
        .iter()
        .find(|v| v["fields"]["message"] == "xlvsd running")
        .unwrap_or_else(|| panic!("no start-up line in\n{log}"));
    assert_eq!(start["fields"]["node"], "lb1", "{start}");
}

#[test]
fn inhibit_on_failure_keeps_established_connections() {
    let h = HealthLab::up(
        "",
        &service("inhibit_on_failure = true", &["10.0.1.21", "10.0.1.22"]),
    );
    h.routed(&BOTH, 60);
    h.lab.wait_echo("client", VIP);
    // Long echo connections on port 7, spread over both reals.
    let mut streams = xlvs_tests::streams("clab-quickstart-client", &[VIP, "7", "30", "15"]);
    std::thread::sleep(Duration::from_secs(3));

    // web1's HTTP check fails; its echo server (port 7) still runs.
    h.lab.stop_nginx("web1");
    for lb in LBS {
        wait_until(
            &format!("{lb}: web1 at weight 0"),
            Duration::from_secs(10),
            || {
                let w = h.weights(lb, WEB1);
                (w == [0, 0]).then_some(()).ok_or(format!("{w:?}"))
            },
        );
        assert_eq!(h.weights(lb, "10.0.1.22"), [1, 1]);
    }
    let row = h.health_of("lb1", WEB1, 7);
    assert_eq!(
        (&row["usable"], &row["why"], &row["weight"]),
        (
            &serde_json::json!(false),
            &serde_json::json!("failing its health check"),
            &serde_json::json!(0)
        ),
        "{row:#}"
    );
    // Still in the table with its connections (summed over directors:
    // each counts the flows the router sent it). A removed real would
    // have none: its connections would be scheduled again.
    let active: u64 = LBS
        .iter()
        .flat_map(|lb| h.listed(lb, WEB1))
        .map(|r| r["active_conns"].as_u64().unwrap())
        .sum();
    assert!(active > 0, "no established connection on web1");
    let listing = h.lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n"]);
    assert!(
        String::from_utf8_lossy(&listing.stdout)
            .contains("  -> 10.0.1.21:7                  Route   0"),
        "{}",
        text(&listing)
    );
    // New connections go to the other real...
    for _ in 0..10 {
        assert_eq!(h.ask(), "web2\n");
    }
    // ...and none of the established ones broke.
    let out = streams.0.wait_with_output_bounded(Duration::from_secs(60));
    assert!(
        out.status.success(),
        "connections to the failed real were lost: {}",
        text(&out)
    );
}

#[test]
fn alpha_starts_a_real_down_until_its_first_passing_check() {
    // rise 20: without alpha a real would need 20 s of passes.
    let svc = service("", &["10.0.1.21", "10.0.1.22"])
        .replace("rise = 2", "rise = 20")
        .replace("fall = 2", "fall = 2\nalpha = true");
    let h = HealthLab::up("", &svc);
    h.routed(&BOTH, 60);
    h.lab.stop_nginx("web1");
    h.wait_usable(&LBS, WEB1, false);

    // Restart lb1's xlvsd while web1 fails: it starts with web1 down
    // (without alpha it would count as up for fall x interval).
    let pid = h.lab.pid_of("lb1", "xlvsd");
    signal(pid, libc::SIGTERM);
    wait_until("old xlvsd gone", Duration::from_secs(10), || {
        (!pid_alive(pid)).then_some(()).ok_or("running".into())
    });
    let _xlvsd = xlvs_tests::start_xlvsd("clab-quickstart-lb1", &h.config("lb1"));
    let row = wait_until("lb1 answers", Duration::from_secs(10), || {
        control(&sock("lb1"), "health", &[]).map(|_| h.health_of("lb1", WEB1, 80))
    });
    assert_eq!(row["usable"], false, "{row:#}");
    assert_eq!(
        row["why"], "waiting for its first passing check (alpha)",
        "{row:#}"
    );
    assert_eq!(h.weights("lb1", WEB1), [0, 0]);
    // web2 passes its first check: up at once, rise or not.
    h.wait_usable(&["lb1"], "10.0.1.22", true);
    // Failing checks keep web1 waiting, not up.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(h.health_of("lb1", WEB1, 80)["usable"], false);

    // One pass is enough (rise 20 would take 20 s).
    h.start_nginx("web1");
    let started = Instant::now();
    h.wait_usable(&["lb1"], WEB1, true);
    println!("web1 up {:?} after nginx started", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "alpha: the first pass brings a real up, not rise passes"
    );
    assert_eq!(h.weights("lb1", WEB1), [1, 1]);
    // lb2 did not restart: web1 went down there after it was up, so it
    // needs its rise of 20 passes.
    assert_eq!(h.health_of("lb2", WEB1, 80)["usable"], false);
}

#[test]
fn quorum_hysteresis_delays_withdrawal_and_return() {
    // quorum 2, hysteresis 1: withdrawn below 1 usable real, back at 3.
    let h = HealthLab::up(
        "",
        &service(
            "quorum = 2\nquorum_hysteresis = 1",
            &["10.0.1.21", "10.0.1.22", "10.0.1.23"],
        ),
    );
    h.routed(&BOTH, 60);
    let check_announced = |want: bool| {
        for lb in LBS {
            let (ready, why) = h.vip_status(lb);
            assert_eq!(ready, want, "{lb}: {why}");
        }
        let routed: &[&str] = if want { &BOTH } else { &[] };
        assert_eq!(h.lab.nexthops("r1", VIP), routed);
    };

    // Down to one usable real: still announced (without hysteresis it
    // would be withdrawn: 1 < quorum 2).
    h.lab.stop_nginx("web1");
    h.lab.stop_nginx("web2");
    h.wait_usable(&LBS, WEB1, false);
    h.wait_usable(&LBS, "10.0.1.22", false);
    check_announced(true);
    // None: withdrawn, and the log says why.
    h.lab.stop_nginx("web3");
    h.routed(&[], 15);
    let (_, why) = h.vip_status("lb1");
    assert!(
        why.contains(
            "0 of 3 reals usable, quorum 2 (hysteresis 1: lost below 1, back at 3), quorum lost"
        ),
        "{why}"
    );
    let log = h.lb1_log();
    let line = log
        .lines()
        .find(|l| l.contains("withdrawing VIP"))
        .unwrap_or_else(|| panic!("no withdrawal logged:\n{log}"));
    assert!(
        line.contains("reason=") && line.contains("quorum lost"),
        "{line}"
    );

    // Back to two: still withdrawn (without hysteresis: announced at 2).
    h.start_nginx("web1");
    h.start_nginx("web2");
    h.wait_usable(&LBS, WEB1, true);
    h.wait_usable(&LBS, "10.0.1.22", true);
    std::thread::sleep(Duration::from_secs(2));
    check_announced(false);
    // Three: announced again.
    h.start_nginx("web3");
    h.routed(&BOTH, 20);
    check_announced(true);
}

#[test]
fn slow_start_ramps_a_recovered_real_up() {
    let svc = service("slow_start = \"12s\"", &["10.0.1.21", "10.0.1.22"])
        .replace(
            "address = \"10.0.1.21\"\n",
            "address = \"10.0.1.21\"\nweight = 10\n",
        )
        .replace(
            "address = \"10.0.1.22\"\n",
            "address = \"10.0.1.22\"\nweight = 10\n",
        );
    let h = HealthLab::up("", &svc);
    h.routed(&BOTH, 60);
    // Reals up from the start get their weight at once.
    wait_until("full weights", Duration::from_secs(10), || {
        let w = h.weights("lb1", WEB1);
        (w == [10, 10]).then_some(()).ok_or(format!("{w:?}"))
    });
    h.lab.stop_nginx("web1");
    h.wait_usable(&["lb1"], WEB1, false);
    assert_eq!(h.weights("lb1", WEB1), [0, 0]);

    h.start_nginx("web1");
    // Watch the listed weight (port 80) go from 0 to 10.
    let mut seen: Vec<u64> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) {
        let w = h.weights("lb1", WEB1)[0];
        if seen.last() != Some(&w) {
            seen.push(w);
        }
        if w == 10 {
            break;
        }
        if w > 0 {
            let why = h.health_of("lb1", WEB1, 80)["why"].clone();
            assert!(
                why.as_str().unwrap().starts_with("slow start: weight") || why == "",
                "{why}"
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    println!("weights seen: {seen:?}");
    assert_eq!(seen.last(), Some(&10), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let ramp: Vec<u64> = seen
        .iter()
        .copied()
        .filter(|w| (1..10).contains(w))
        .collect();
    assert!(ramp.first().is_some_and(|w| *w <= 2), "{seen:?}");
    assert!(ramp.len() >= 4, "a ramp, not a jump: {seen:?}");
    assert_eq!(h.weights("lb1", "10.0.1.22"), [10, 10]);
}

/// lb1's XDP attachment on eth1 (what `ip link` shows).
fn xdp_attached(lab: &Lab) -> bool {
    let link = lab.exec("lb1", &["ip", "link", "show", "eth1"]);
    String::from_utf8_lossy(&link.stdout).contains("xdp")
}

#[test]
fn sigterm_withdraws_at_once_and_forwards_through_the_grace_period() {
    let grace = Duration::from_secs(8);
    let h = HealthLab::up(
        "shutdown_grace = \"8s\"",
        &service("", &["10.0.1.21", "10.0.1.22"]),
    );
    h.routed(&BOTH, 60);
    // Without --cleanup the pinned data plane outlives the process: no
    // grace, SIGTERM exits right after the flush.
    let pid = h.lab.pid_of("lb1", "xlvsd");
    let t = Instant::now();
    signal(pid, libc::SIGTERM);
    wait_until("xlvsd gone", Duration::from_secs(10), || {
        (!pid_alive(pid)).then_some(()).ok_or("running".into())
    });
    assert!(t.elapsed() < grace, "no grace without --cleanup");
    assert!(xdp_attached(&h.lab));

    let start = |h: &HealthLab| {
        let child =
            xlvs_tests::start_xlvsd_with("clab-quickstart-lb1", &h.config("lb1"), &["--cleanup"]);
        h.routed(&BOTH, 30);
        child
    };
    let mut xlvsd = start(&h);
    h.lab.wait_echo("client", VIP);
    let mut streams = xlvs_tests::streams("clab-quickstart-client", &[VIP, "7", "30", "20"]);
    std::thread::sleep(Duration::from_secs(3));

    let pid = xlvsd.0.id() as i32;
    let t = Instant::now();
    signal(pid, libc::SIGTERM);
    // The route goes at once (flushed, not timed out)...
    h.routed(&["10.0.1.12"], 5);
    println!("withdrawn {:?} after SIGTERM", t.elapsed());
    // ...while the data plane forwards on, and the daemon says so.
    assert!(pid_alive(pid) && xdp_attached(&h.lab));
    let status = control(&sock("lb1"), "status", &[]).unwrap();
    assert_eq!(status["stopping"], true, "{status:#}");
    assert_eq!(status["announced"], serde_json::json!([]), "{status:#}");
    std::thread::sleep(grace.saturating_sub(t.elapsed() + Duration::from_secs(2)));
    assert!(pid_alive(pid), "exited before the grace period ended");
    let out = xlvsd.0.wait_with_output_bounded(Duration::from_secs(10));
    println!("exited {:?} after SIGTERM", t.elapsed());
    assert!(out.status.success(), "{:?}", out.status);
    assert!(t.elapsed() >= grace);
    // --cleanup: XDP and pins gone after the grace period.
    assert!(!xdp_attached(&h.lab));
    assert!(!Path::new("/run/xlvs/bpf/quickstart-lb1/reals").exists());
    let out = streams.0.wait_with_output_bounded(Duration::from_secs(60));
    assert!(
        out.status.success(),
        "connections lost over the shutdown: {}",
        text(&out)
    );

    // A second SIGTERM during the grace period: exit at once.
    let xlvsd = start(&h);
    let pid = xlvsd.0.id() as i32;
    signal(pid, libc::SIGTERM);
    h.routed(&["10.0.1.12"], 5);
    assert!(pid_alive(pid));
    let t = Instant::now();
    signal(pid, libc::SIGTERM);
    wait_until("xlvsd gone", Duration::from_secs(5), || {
        (!pid_alive(pid)).then_some(()).ok_or("running".into())
    });
    println!("exited {:?} after the second SIGTERM", t.elapsed());
    assert!(!xdp_attached(&h.lab));
}
