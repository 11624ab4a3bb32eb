//! Cluster labs: N directors behind an FRR edge router with L4 ECMP, a
//! client with several addresses, reals running nginx and the TCP echo
//! server (labs/ecmp8-dr, labs/ecmp8-tun). What a survival case needs:
//! long checked connections that can be stopped when the case is done,
//! next hops in the router's FIB, new connections, per-director control,
//! and which real holds which connection.

use crate::{control, signal, text, wait_until, Child, Lab, WaitBounded};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One cluster lab. Directors are the nodes `lb1`..`lbN`; director `lbN`
/// has its control socket at `{socket_prefix}lbN.sock` and its pins at
/// `{pin_prefix}lbN`.
#[derive(Debug, Clone, Copy)]
pub struct Cluster {
    /// The lab's name; its file is `labs/<lab>.clab.yml`.
    pub lab: &'static str,
    pub vip: &'static str,
    /// The router whose FIB carries the VIP's next hops.
    pub router: &'static str,
    /// Directors up from the start, `lb1`..`lb<directors>`.
    pub directors: usize,
    pub socket_prefix: &'static str,
    pub pin_prefix: &'static str,
    /// The client node's source addresses for the streams.
    pub sources: &'static [&'static str],
    /// Real servers: (node, address).
    pub reals: &'static [(&'static str, &'static str)],
}

/// labs/ecmp-fullnat: four two-armed FULLNAT directors with [cluster]
/// (10.0.1.11-14 outside), four reals, a client with eight addresses.
pub const ECMP_FULLNAT: Cluster = Cluster {
    lab: "ecmp-fullnat",
    vip: "192.0.2.50",
    router: "r1",
    directors: 4,
    socket_prefix: "/run/xlvs/ecmp-fullnat-",
    pin_prefix: "/run/xlvs/bpf/ecmp-fullnat-",
    sources: &[
        "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8",
        "10.0.0.9",
    ],
    reals: &[
        ("web1", "10.0.3.21"),
        ("web2", "10.0.3.22"),
        ("web3", "10.0.3.23"),
        ("web4", "10.0.3.24"),
    ],
};

/// labs/ecmp8-dr: eight DR directors (10.0.1.11-18), four reals, a
/// client with nine addresses.
pub const ECMP8_DR: Cluster = Cluster {
    lab: "ecmp8-dr",
    vip: "192.0.2.10",
    router: "r1",
    directors: 8,
    socket_prefix: "/run/xlvs/ecmp8-",
    pin_prefix: "/run/xlvs/bpf/ecmp8-",
    sources: &[
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.4",
        "10.0.0.5",
        "10.0.0.6",
        "10.0.0.7",
        "10.0.0.8",
        "10.0.0.9",
        "10.0.0.10",
    ],
    reals: &[
        ("web1", "10.0.1.21"),
        ("web2", "10.0.1.22"),
        ("web3", "10.0.1.23"),
        ("web4", "10.0.1.24"),
    ],
};

impl Cluster {
    pub fn socket(&self, lb: &str) -> PathBuf {
        PathBuf::from(format!("{}{lb}.sock", self.socket_prefix))
    }

    pub fn pins(&self, lb: &str) -> PathBuf {
        PathBuf::from(format!("{}{lb}", self.pin_prefix))
    }

    /// The directors up from the start: `lb1`..`lbN`.
    pub fn lbs(&self) -> Vec<String> {
        (1..=self.directors).map(|n| format!("lb{n}")).collect()
    }

    /// The node config of director `lb` in a labs directory.
    pub fn config(&self, labs: &Path, lb: &str) -> PathBuf {
        labs.join(self.lab).join(format!("{lb}.toml"))
    }

    /// Brings the lab up from `labs` (the workspace's labs/ or a copy)
    /// and waits until every director is a next hop, the echo service
    /// answers, and all directors hold the same full Maglev tables.
    pub fn up(&self, labs: &Path) -> Lab {
        let start = Instant::now();
        let lab = Lab::up(&labs.join(format!("{}.clab.yml", self.lab)));
        let built = start.elapsed();
        let start = Instant::now();
        self.wait_hops(&lab, self.directors);
        let routed = start.elapsed();
        lab.wait_echo("client", self.vip);
        // Health checks and neighbour resolution settle at different times
        // on each director; once settled, all must hold the same tables.
        self.wait_same_tables(&self.lbs());
        println!(
            "{}: up in {built:?} (with any wait for the host lock), then {} next hops after {routed:?}, same tables after {:?}",
            self.lab,
            self.directors,
            start.elapsed()
        );
        lab
    }

    /// Waits until the directors `lbs` hold identical Maglev tables with
    /// no empty slot; returns how long it took.
    pub fn wait_same_tables(&self, lbs: &[String]) -> Duration {
        let start = Instant::now();
        wait_until(
            "identical Maglev tables on the directors",
            Duration::from_secs(30),
            || {
                let tables = |lb: &str| crate::maglev_tables(&self.pins(lb));
                let first = tables(&lbs[0]);
                if let Some(lb) = lbs[1..].iter().find(|lb| tables(lb) != first) {
                    return Err(format!("{lb} differs from {}", lbs[0]));
                }
                let full = first.iter().all(|(_, t)| t.iter().all(|r| r != "none"));
                full.then_some(()).ok_or("empty slots".into())
            },
        );
        start.elapsed()
    }

    /// Waits until the router has `n` next hops for the VIP; returns how
    /// long it took.
    pub fn wait_hops(&self, lab: &Lab, n: usize) -> Duration {
        let start = Instant::now();
        wait_until(
            &format!("{n} next hops for {}", self.vip),
            Duration::from_secs(90),
            || {
                let hops = lab.nexthops(self.router, self.vip);
                (hops.len() == n).then_some(()).ok_or(format!("{hops:?}"))
            },
        );
        start.elapsed()
    }

    /// `count` connections from the client to the echo port, spread over
    /// the source addresses, for at most `seconds` (or until
    /// [`Streams::stop`]); a stall over `stall` seconds loses one.
    pub fn streams(&self, count: usize, seconds: u32, stall: u32) -> Streams {
        let child = crate::streams(
            &format!("clab-{}-client", self.lab),
            &[
                self.vip,
                "7",
                &count.to_string(),
                &seconds.to_string(),
                "--stall",
                &stall.to_string(),
                "--sources",
                &self.sources.join(","),
            ],
        );
        Streams { child, count }
    }

    /// `n` new HTTP connections from the client, one after another: the
    /// body (the real's name) of each, or None where it failed.
    pub fn new_connections(&self, lab: &Lab, n: usize) -> Vec<Option<String>> {
        (0..n)
            .map(|_| {
                let url = format!("http://{}/", self.vip);
                let out = lab.exec("client", &["curl", "-s", "-m", "3", &url]);
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            })
            .collect()
    }

    /// A control request to director `lb`, which must succeed.
    pub fn control(&self, lb: &str, command: &str) -> serde_json::Value {
        control(&self.socket(lb), command, &[]).unwrap_or_else(|e| panic!("{lb} {command}: {e}"))
    }

    /// The pid of `lb`'s xlvsd as the lab started it.
    pub fn xlvsd_pid(&self, lab: &Lab, lb: &str) -> i32 {
        lab.pid_of(lb, "xlvsd")
    }

    /// Stops a director's xlvsd with SIGTERM (no --cleanup: its pinned
    /// data plane stays) and waits until the process is gone.
    pub fn stop_xlvsd(&self, pid: i32) {
        signal(pid, libc::SIGTERM);
        wait_until("xlvsd gone", Duration::from_secs(20), || {
            (!crate::pid_alive(pid))
                .then_some(())
                .ok_or("running".into())
        });
    }

    /// Starts xlvsd on `lb` with its config from `labs` (killed by pid
    /// when the returned value drops).
    pub fn start_xlvsd(&self, labs: &Path, lb: &str) -> Child {
        crate::start_xlvsd(&format!("clab-{}-{lb}", self.lab), &self.config(labs, lb))
    }

    /// The director the router's FIB picks for each flow (the client's
    /// `ADDR:PORT` to the echo port) now, by `ip route get` with the
    /// flow's ports (the kernel's own ECMP hash), in one batch: `lbN` for
    /// a next hop 10.0.1.1N.
    pub fn router_picks<F: AsRef<str>>(&self, lab: &Lab, flows: &[F]) -> Vec<String> {
        use std::io::Write;
        let mut batch = tempfile::NamedTempFile::new().unwrap();
        for flow in flows {
            let (addr, port) = flow.as_ref().split_once(':').expect("ADDR:PORT");
            writeln!(
                batch,
                "route get {} from {addr} iif eth1 ipproto tcp sport {port} dport 7",
                self.vip
            )
            .unwrap();
        }
        let path = batch.path().to_string_lossy().into_owned();
        let out = lab.exec(self.router, &["ip", "-j", "-batch", &path]);
        assert!(out.status.success(), "{}", text(&out));
        let picks: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("ip -j");
                let gw = v[0]["gateway"].as_str().unwrap_or("none");
                match gw.strip_prefix("10.0.1.1") {
                    Some(n) => format!("lb{n}"),
                    None => gw.to_string(),
                }
            })
            .collect();
        assert_eq!(picks.len(), flows.len(), "{}", text(&out));
        picks
    }

    /// Connections each director scheduled on the echo port.
    pub fn shares(&self) -> Vec<u64> {
        self.lbs()
            .iter()
            .map(|lb| {
                let t = self.control(lb, "ipvs.list");
                t["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["port"] == 7)
                    .map(|s| s["stats"]["conns"].as_u64().unwrap_or(0))
                    .sum()
            })
            .collect()
    }

    /// Packets a director forwarded (DR, TUN, NAT and FULLNAT together).
    pub fn forwarded(&self, lb: &str) -> u64 {
        let stats = self.control(lb, "dataplane.stats");
        ["tx_dr", "tx_tun", "tx_nat", "tx_fullnat"]
            .iter()
            .map(|k| stats[*k].as_u64().unwrap_or(0))
            .sum()
    }

    /// The established echo connections each real holds, by the client's
    /// ADDR:PORT, as the reals' own sockets say.
    pub fn echo_connections(&self, lab: &Lab) -> BTreeMap<&'static str, BTreeSet<String>> {
        self.reals
            .iter()
            .map(|&(web, _)| {
                let out = lab.exec(
                    web,
                    &["ss", "-Htn", "state", "established", "sport", "=", ":7"],
                );
                assert!(out.status.success(), "{web}: {}", text(&out));
                // Recv-Q Send-Q Local Peer
                let peers = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
                    .collect();
                (web, peers)
            })
            .collect()
    }

    /// Waits until each of `lbs` reports `real` (an address) unusable for
    /// new flows; returns how long it took.
    pub fn wait_real_down(&self, lbs: &[String], real: &str) -> Duration {
        let start = Instant::now();
        wait_until(
            &format!("{real} down on every director"),
            Duration::from_secs(30),
            || {
                for lb in lbs {
                    let rows = self.control(lb, "health");
                    let up = rows
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r["real"] == real && r["usable"] == true);
                    if up {
                        return Err(format!("{lb} still uses it"));
                    }
                }
                Ok(())
            },
        );
        start.elapsed()
    }
}

/// Long checked connections running in the client (`echo.py streams`).
pub struct Streams {
    child: Child,
    count: usize,
}

/// What `echo.py streams` reported.
#[derive(Debug)]
pub struct StreamReport {
    /// "lost L of N, longest stall T".
    pub summary: String,
    pub total: usize,
    /// Lost connections: the client's ADDR:PORT ("?" if it never
    /// connected) and why.
    pub lost: Vec<(String, String)>,
}

impl Streams {
    /// Whether the connections are still running (a case that outlasts
    /// them would prove nothing).
    pub fn running(&mut self) -> bool {
        self.child.0.try_wait().expect("wait").is_none()
    }

    /// Ends the run (SIGINT: each connection stops after its current
    /// echo; a stalled one only when its stall limit passes) and reads the
    /// report.
    pub fn stop(mut self) -> StreamReport {
        assert!(
            self.running(),
            "the connections ended before the cases did: lengthen the run"
        );
        signal(self.child.0.id() as i32, libc::SIGINT);
        let out = self
            .child
            .0
            .wait_with_output_bounded(Duration::from_secs(120));
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lost: Vec<(String, String)> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("lost "))
            .filter_map(|l| l.split_once(": "))
            .map(|(who, why)| (who.to_string(), why.to_string()))
            .collect();
        let report = StreamReport {
            summary: stdout,
            total: self.count,
            lost,
        };
        // The exit status and the report must agree.
        assert!(
            report.summary.starts_with("lost ") && out.status.success() == report.lost.is_empty(),
            "unexpected streams output: {}",
            text(&out)
        );
        report
    }
}
