//! Real traffic through the XDP data plane: a client behind an FRR router
//! talks to a VIP served by two DR directors and two real servers (labs/
//! quickstart.clab.yml): nginx over HTTP, and a TCP echo checked byte for
//! byte in both directions.

use std::time::Duration;
use xlvs_tests::{text, wait_until, workspace, Lab, WaitBounded};

const VIP: &str = "192.0.2.10";
const BOTH: [&str; 2] = ["10.0.1.11", "10.0.1.12"];

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
    lab.wait_http("client", VIP);

    // Many connections (each from a new source port): every one answered
    // in full by one of the reals, and both reals used.
    let answers = lab.http_answers("client", VIP, 40);
    let keys: Vec<&str> = answers.keys().map(String::as_str).collect();
    assert_eq!(keys, ["web1\n", "web2\n"], "{answers:?}");

    // Both directions byte for byte, through a real TCP service.
    lab.echo_checks("client", VIP, &["1", "65536", "4194304"]);

    // ipvsadm's view: per-port services with counters; together the two
    // directors scheduled every HTTP connection (40, plus the first).
    let mut http_conns = 0;
    for lb in ["lb1", "lb2"] {
        let http = lab.listed_service(lb, 80);
        assert_eq!(http["reals"].as_array().unwrap().len(), 2);
        http_conns += http["stats"]["conns"].as_u64().unwrap();
        let text = lab.exec(lb, &["xlvsadm", "--node", lb, "-L", "-n"]);
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        assert!(text.contains("TCP  192.0.2.10:80 mh"), "{text}");
        assert!(
            text.contains("  -> 10.0.1.21:80                 Route   1"),
            "{text}"
        );
    }
    assert!(http_conns >= 41, "{http_conns} connections counted");
    // Closed connections count as inactive, like ip_vs.
    let inactive: u64 = ["lb1", "lb2"]
        .iter()
        .map(|lb| {
            lab.listing(lb)["services"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["reals"].as_array().unwrap().clone())
                .map(|r| r["inactive_conns"].as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum();
    assert!(inactive > 0, "no inactive connection counted");
    let conns = lab.exec("lb1", &["xlvsadm", "--node", "lb1", "-L", "-n", "-c"]);
    assert!(
        String::from_utf8_lossy(&conns.stdout).contains("192.0.2.10:"),
        "{}",
        text(&conns)
    );

    // ECMP spread the flows over both directors, and each forwarded by DR.
    for lb in ["lb1", "lb2"] {
        let stats = lab
            .json(lb, &["xlvsadm", "--node", lb, "--json", "dataplane"])
            .unwrap();
        let tx = stats["tx_dr"].as_u64().unwrap_or(0);
        assert!(tx > 0, "{lb} forwarded nothing: {stats:#}");
        let cached = stats["flow_cache_hit"].as_u64().unwrap_or(0);
        assert!(cached > 0, "{lb}: nothing from the flow cache: {stats:#}");
        assert_eq!(stats["drop_no_real"], 0, "{lb}: {stats:#}");
    }
}

/// Health checks drive both forwarding and the route: a failed real gets
/// no new connections after interval x fall; with no real left the VIP is
/// withdrawn; a recovered real brings it back.
#[test]
fn health_checks_drive_forwarding_and_announcements() {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    let routed = |want: &[&str], limit| {
        wait_until(
            &format!("VIP via {want:?}"),
            Duration::from_secs(limit),
            || {
                let hops = lab.nexthops("r1", VIP);
                (hops == want).then_some(()).ok_or(format!("{hops:?}"))
            },
        )
    };
    routed(&["10.0.1.11", "10.0.1.12"], 60);
    let ask = || {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_until("web1 answers", Duration::from_secs(20), || {
        (0..10)
            .any(|_| ask() == "web1\n")
            .then_some(())
            .ok_or("only web2".to_string())
    });

    lab.stop_nginx("web1");
    // interval 1 s x fall 2, plus a check's timeout and the reprogramming
    std::thread::sleep(Duration::from_secs(4));
    for _ in 0..20 {
        assert_eq!(ask(), "web2\n", "new connections avoid the failed real");
    }
    // xlvsadm health: the failed real, on every port, and why.
    let health =
        xlvs_tests::control(std::path::Path::new("/run/xlvs/lb1.sock"), "health", &[]).unwrap();
    let web1: Vec<&serde_json::Value> = health
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["real"] == "10.0.1.21")
        .collect();
    assert_eq!(web1.len(), 2, "{health:#}");
    assert!(
        web1.iter()
            .all(|r| r["usable"] == false && r["why"] == "failing its health check"),
        "{health:#}"
    );
    // The same as xlvsadm prints it: a line per real and port, since when.
    let out = std::process::Command::new(xlvs_tests::bin("xlvsadm"))
        .args(["--socket", "/run/xlvs/lb1.sock", "health"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("10.0.1.21")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in lines {
        let words: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(words[3..6], ["NO", "0", "failing"], "{text}");
        assert!(words[6].ends_with('s') && words[7] == "ago", "{text}");
    }

    lab.stop_nginx("web2");
    routed(&[], 15);
    let out = lab
        .exec("lb1", &["xlvsadm", "--node", "lb1", "--json", "status"])
        .stdout;
    let status: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(status["vips"][0]["ready"], false, "{status:#}");
    assert!(
        status["vips"][0]["why"][0]
            .as_str()
            .unwrap()
            .contains("0 of 2 reals usable"),
        "{status:#}"
    );

    lab.start_nginx("web1", &workspace().join("labs/quickstart/web1/nginx.conf"));
    routed(&["10.0.1.11", "10.0.1.12"], 20);
    wait_until("web1 answers again", Duration::from_secs(10), || {
        (ask() == "web1\n")
            .then_some(())
            .ok_or("no answer".to_string())
    });
    // After the flaps, every table (one per port) on both directors holds
    // web1 again and not web2 (still stopped), identically: a flow gets
    // the same real everywhere.
    wait_until("tables back and identical", Duration::from_secs(10), || {
        let t1 = xlvs_tests::maglev_tables(std::path::Path::new("/run/xlvs/bpf/quickstart-lb1"));
        let t2 = xlvs_tests::maglev_tables(std::path::Path::new("/run/xlvs/bpf/quickstart-lb2"));
        let right = |t: &Vec<String>| t.iter().all(|r| r == "10.0.1.21");
        let full = t1.len() == 2 && t1.iter().all(|(_, t)| right(t));
        (full && t1 == t2)
            .then_some(())
            .ok_or("tables differ".to_string())
    });
}

/// Restarting xlvsd (SIGTERM without --cleanup, then start) while long
/// connections run: the pinned data plane keeps forwarding, the restarted
/// daemon reuses connections and counters, and no connection is lost.
#[test]
fn restart_keeps_every_connection() {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(60));
    lab.wait_echo("client", VIP);
    let mut streams = xlvs_tests::streams("clab-quickstart-client", &[VIP, "7", "40", "20"]);
    std::thread::sleep(Duration::from_secs(3));
    let tx = || lab.dataplane_stat("lb1", "tx_dr");
    let tx_before = tx();
    let pid = lab.pid_of("lb1", "xlvsd");
    xlvs_tests::signal(pid, libc::SIGTERM);
    wait_until("lb1's xlvsd gone", Duration::from_secs(10), || {
        (!xlvs_tests::pid_alive(pid))
            .then_some(())
            .ok_or("running".into())
    });
    // The daemon is gone; its XDP program is still attached.
    let link = lab.exec("lb1", &["ip", "link", "show", "eth1"]);
    assert!(
        String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "{}",
        text(&link)
    );

    let config = workspace().join("labs/quickstart/lb1.toml");
    let _restarted = xlvs_tests::start_xlvsd("clab-quickstart-lb1", &config);
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(30));
    let out = streams.0.wait_with_output_bounded(Duration::from_secs(60));
    println!("{}", text(&out));
    assert!(
        out.status.success(),
        "connections lost across the restart: {}",
        text(&out)
    );
    assert!(tx() >= tx_before, "counters kept across the restart");
}

/// Draining a director withdraws its VIP while it keeps forwarding: the
/// router moves flows to the other director, and no connection is lost.
#[test]
fn drain_moves_traffic_without_losing_a_connection() {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(60));
    lab.wait_echo("client", VIP);
    let mut streams = xlvs_tests::streams("clab-quickstart-client", &[VIP, "7", "40", "15"]);
    std::thread::sleep(Duration::from_secs(3));
    let sock = std::path::Path::new("/run/xlvs/lb1.sock");
    let r = xlvs_tests::control(sock, "drain", &[]).unwrap();
    assert_eq!(r["services"], serde_json::json!(["web"]));
    lab.wait_nexthops("r1", VIP, &["10.0.1.12"], Duration::from_secs(30));
    // unknown service: a clear error, nothing changed
    let err = xlvs_tests::control(sock, "drain", &["nope"]).unwrap_err();
    assert!(err.contains("no service named"), "{err}");
    let out = streams.0.wait_with_output_bounded(Duration::from_secs(60));
    assert!(
        out.status.success(),
        "connections lost while draining: {}",
        text(&out)
    );
    // new connections during the drain succeed too
    for _ in 0..10 {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    xlvs_tests::control(sock, "undrain", &[]).unwrap();
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(30));
}

/// `xlvsadm reload`: all or nothing, and traffic keeps flowing through it.
#[test]
fn reload_is_all_or_nothing_and_loses_no_connection() {
    let dir = xlvs_tests::quickstart_copy();
    let config = dir.path().join("quickstart/lb1.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let lab = Lab::up(&dir.path().join("quickstart.clab.yml"));
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(60));
    lab.wait_echo("client", VIP);
    let mut streams = xlvs_tests::streams("clab-quickstart-client", &[VIP, "7", "40", "15"]);
    let sock = std::path::Path::new("/run/xlvs/lb1.sock");
    let listing = || xlvs_tests::control(sock, "ipvs.list", &[]).unwrap();
    let before = listing();
    // (xlvs-lab reads the node configs, which are made invalid below)
    let lb1 = lab.pid_of("lb1", "xlvsd");

    // An invalid file: every error reported, nothing changed.
    std::fs::write(
        &config,
        original.replace(
            "address = \"10.0.1.21\"",
            "address = \"10.0.1.21\"\nweight = 70000",
        ),
    )
    .unwrap();
    let err = xlvs_tests::control(sock, "reload", &[]).unwrap_err();
    assert!(
        err.contains("weight") && err.contains("nothing changed"),
        "{err}"
    );
    assert_eq!(listing()["services"], before["services"]);
    // The same file by SIGHUP: the errors go to the log, nothing changes.
    let log =
        || std::fs::read_to_string("/run/xlvs-lab/quickstart/lb1/xlvsd.log").unwrap_or_default();
    let refused = |l: &str| l.matches("SIGHUP: reload refused").count();
    let earlier = refused(&log());
    xlvs_tests::signal(lb1, libc::SIGHUP);
    wait_until(
        "the refused SIGHUP reload in lb1's log",
        Duration::from_secs(10),
        || {
            let l = log();
            // The last refusal and the errors listed after it.
            let last = l.rfind("SIGHUP: reload refused").map(|at| &l[at..]);
            (refused(&l) > earlier && last.is_some_and(|l| l.contains("weight")))
                .then_some(())
                .ok_or(format!("{last:?}"))
        },
    );
    // (the streams' counters move meanwhile: compare what was configured)
    let configured = |t: &serde_json::Value| -> Vec<String> {
        t["services"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["reals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |r| format!("{} {} {}", s["port"], r["address"], r["weight"]))
            })
            .collect()
    };
    assert_eq!(configured(&listing()), configured(&before));
    // A change that needs a restart: refused, nothing changed.
    std::fs::write(&config, original.replace("10.255.0.11", "10.255.0.99")).unwrap();
    let err = xlvs_tests::control(sock, "reload", &[]).unwrap_err();
    assert!(err.contains("restart"), "{err}");

    // web1 quiescent on this director: its new connections go to web2.
    std::fs::write(
        &config,
        original.replace(
            "address = \"10.0.1.21\"",
            "address = \"10.0.1.21\"\nweight = 0",
        ),
    )
    .unwrap();
    xlvs_tests::control(sock, "reload", &[]).unwrap();
    let web1_weight = |t: serde_json::Value| -> Vec<u64> {
        t["services"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["reals"].as_array().unwrap().clone())
            .filter(|r| r["address"] == "10.0.1.21")
            .map(|r| r["weight"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(web1_weight(listing()), [0, 0]);
    // and back
    std::fs::write(&config, &original).unwrap();
    xlvs_tests::control(sock, "reload", &[]).unwrap();
    assert_eq!(web1_weight(listing()), [1, 1]);

    // A setting that changes at runtime: the SYN flood guard at one SYN
    // entry per second and CPU. Every new connection is answered, and lb1
    // sent some SYNs on without an entry (its share of 40 in a second or
    // two: more than one on some CPU).
    std::fs::write(
        &config,
        original.replace("[dataplane]", "[dataplane]\nsyn_flood_threshold = 1"),
    )
    .unwrap();
    xlvs_tests::control(sock, "reload", &[]).unwrap();
    let answers = lab.http_answers("client", VIP, 40);
    assert_eq!(answers.values().sum::<usize>(), 40, "{answers:?}");
    let stats = lab
        .json("lb1", &["xlvsadm", "--node", "lb1", "--json", "dataplane"])
        .unwrap();
    let untracked = stats["syn_untracked"].as_u64().unwrap_or(0);
    assert!(untracked > 0, "the guard never acted: {stats:#}");
    std::fs::write(&config, &original).unwrap();
    xlvs_tests::control(sock, "reload", &[]).unwrap();

    let out = streams.0.wait_with_output_bounded(Duration::from_secs(60));
    assert!(
        out.status.success(),
        "connections lost across reloads: {}",
        text(&out)
    );
}

/// ipvsadm command lines change the running director (not the config
/// file), with ipvsadm's errors.
#[test]
fn ipvsadm_changes_at_runtime() {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    wait_until("VIP routed", Duration::from_secs(60), || {
        let hops = lab.nexthops("r1", VIP);
        (hops.len() == 2).then_some(()).ok_or(format!("{hops:?}"))
    });
    let adm = |args: &[&str]| {
        let mut full = vec!["xlvsadm", "--node", "lb1"];
        full.extend_from_slice(args);
        lab.exec("lb1", &full)
    };
    let out = adm(&["-e", "-t", "192.0.2.10:80", "-r", "10.0.1.21", "-w", "0"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&adm(&["-L", "-n"]).stdout).into_owned();
    let block = |port: &str| -> String {
        let start = listing.find(&format!("TCP  192.0.2.10:{port} ")).unwrap();
        listing[start..]
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        block("80").contains("10.0.1.21:80                 Route   0"),
        "{listing}"
    );
    assert!(
        block("7").contains("10.0.1.21:7                  Route   1"),
        "{listing}"
    );

    let out = adm(&["-d", "-t", "192.0.2.10:80", "-r", "10.0.1.99"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("No such destination"), "{}", text(&out));
    // a scheduler ipvsadm does not know: its error text, nothing changed
    let out = adm(&["-A", "-t", "192.0.2.10:8080", "-s", "fastest"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Scheduler or persistence engine not found"),
        "{}",
        text(&out)
    );
    assert!(!String::from_utf8_lossy(&adm(&["-L", "-n"]).stdout).contains(":8080"));
    // every one it knows runs, wlc (its default) among them
    let out = adm(&["-A", "-t", "192.0.2.10:8080", "-s", "wlc"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&adm(&["-L", "-n"]).stdout).into_owned();
    assert!(listing.contains("TCP  192.0.2.10:8080 wlc"), "{listing}");
    let out = adm(&["-D", "-t", "192.0.2.10:8080"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = adm(&["--set", "100", "20", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&adm(&["-L", "--timeout"]).stdout).into_owned();
    assert!(t.contains("100 20 30"), "{t}");

    // The control socket never trusts its input.
    let sock = std::path::Path::new("/run/xlvs/lb1.sock");
    let raw = |bytes: &[u8]| -> String {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    assert!(raw(b"this is not json\n").contains("malformed request"));
    assert!(raw(b"{\"version\":9,\"command\":\"status\"}\n").contains("version 9"));
    assert!(raw(b"{\"version\":1,\"command\":\"nope\"}\n").contains("unknown command"));
    assert!(raw(&vec![b'x'; 200_000]).contains("longer than"));
    let bad_op = b"{\"version\":1,\"command\":\"ipvs\",\"args\":[\"{}\"]}\n";
    assert!(raw(bad_op).contains("malformed operation"));
    assert!(
        xlvs_tests::control(sock, "status", &[]).is_ok(),
        "still answering"
    );

    for _ in 0..3 {
        lab.exec(
            "client",
            &["curl", "-s", "-m", "2", &format!("http://{VIP}/")],
        );
    }
    assert!(adm(&["-Z"]).status.success());
    let table = lab.listing("lb1");
    for s in table["services"].as_array().unwrap() {
        assert_eq!(s["stats"]["conns"], 0, "{table:#}");
    }
}
