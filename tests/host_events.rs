//! xlvsd follows the kernel's events on a running director (labs/
//! quickstart.clab.yml: two DR directors lb1 and lb2 on a bridge with the
//! reals web1 and web2): its XDP interface deleted and created again gets
//! the program again and forwards, and a real's new MAC reaches even the
//! flows the data plane forwards from its flow cache. xlvsd is never
//! restarted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use xlvs_tests::{connect_from, pid_alive, text, wait_until, workspace, Lab};

const VIP: &str = "192.0.2.10";
const BOTH: [&str; 2] = ["10.0.1.11", "10.0.1.12"];
const LBS: [&str; 2] = ["lb1", "lb2"];
/// The reals and the node each is.
const REALS: [(&str, &str); 2] = [("10.0.1.21", "web1"), ("10.0.1.22", "web2")];

fn quickstart() -> Lab {
    let lab = Lab::up(&workspace().join("labs/quickstart.clab.yml"));
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(60));
    lab.wait_http("client", VIP);
    lab
}

fn log_of(lb: &str) -> String {
    std::fs::read_to_string(format!("/run/xlvs-lab/quickstart/{lb}/xlvsd.log")).unwrap_or_default()
}

#[test]
fn an_xdp_interface_created_again_forwards_again_without_a_restart() {
    let lab = quickstart();
    let xlvsd = lab.pid_of("lb1", "xlvsd");
    let index_before = lab.ifindex("lb1", "eth1");

    // lb1's link to the segment goes (its bridge port with it), and r1
    // drops lb1 after its dead interval.
    lab.exec_ok("lb1", &["ip", "link", "del", "eth1"]);
    lab.wait_nexthops("r1", VIP, &BOTH[1..], Duration::from_secs(15));
    // Created again as xlvs-lab cables it: a new interface, a new MAC.
    lab.cable(("lb1", "eth1"), ("sw", "p1"), true);
    lab.exec_ok("lb1", &["ip", "addr", "add", "10.0.1.11/24", "dev", "eth1"]);
    assert_ne!(lab.ifindex("lb1", "eth1"), index_before, "a new interface");
    // lb1 announces the VIP again once its reals pass their checks and
    // have their MACs on the new interface. (Until then r1 may briefly
    // route by the LSA lb1 sent before: wait for lb1 first.)
    wait_until("lb1 announces again", Duration::from_secs(30), || {
        let sock = std::path::Path::new("/run/xlvs/lb1.sock");
        let status = xlvs_tests::control(sock, "status", &[])?;
        let vip = &status["vips"][0];
        (vip["ready"] == true).then_some(()).ok_or(format!("{vip}"))
    });
    lab.wait_nexthops("r1", VIP, &BOTH, Duration::from_secs(60));

    // Forwarding through lb1's XDP again: r1 sends it about half of the
    // new connections, and every one is answered.
    let out = lab.exec_ok("lb1", &["ip", "-d", "link", "show", "eth1"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("prog/xdp id"),
        "{}",
        text(&out)
    );
    let forwarded = lab.dataplane_stat("lb1", "tx_dr");
    let answers = lab.http_answers("client", VIP, 20);
    assert_eq!(answers.values().sum::<usize>(), 20, "{answers:?}");
    assert!(
        lab.dataplane_stat("lb1", "tx_dr") > forwarded,
        "lb1 forwarded nothing by XDP"
    );
    assert!(log_of("lb1").contains("XDP attached again to an interface created again"));
    assert_eq!(lab.pid_of("lb1", "xlvsd"), xlvsd, "xlvsd never restarted");
    assert!(pid_alive(xlvsd));
}

/// One exchange on the echo connection: Ok when every byte came back.
fn echo(conn: &mut TcpStream) -> std::io::Result<()> {
    let sent = [7u8; 64];
    conn.write_all(&sent)?;
    let mut got = [0u8; 64];
    conn.read_exact(&mut got)?;
    assert_eq!(got, sent, "the echo");
    Ok(())
}

/// The director and the real that carry the client's connection from
/// `port`, from the directors' connection tables.
fn carrier_of(lab: &Lab, port: u16) -> (&'static str, &'static str) {
    let source = format!("10.0.0.2:{port} ");
    wait_until("the connection listed", Duration::from_secs(10), || {
        for lb in LBS {
            let out = lab.exec_ok(lb, &["xlvsadm", "--node", lb, "-L", "-n", "-c"]);
            let listing = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = listing.lines().find(|l| l.contains(&source));
            // ... source, virtual, destination: the real is the last.
            let real = line.and_then(|l| l.split_whitespace().last());
            if let Some((addr, _)) = real.and_then(|r| r.split_once(':')) {
                let (addr, _) = REALS
                    .iter()
                    .find(|(a, _)| *a == addr)
                    .unwrap_or_else(|| panic!("{addr} is no real"));
                return Ok((lb, *addr));
            }
        }
        Err(format!("no director lists {source}"))
    })
}

fn mac_of(lab: &Lab, node: &str) -> String {
    let v = lab
        .json(node, &["ip", "-j", "link", "show", "eth1"])
        .unwrap_or_else(|e| panic!("{node}: {e}"));
    v[0]["address"].as_str().expect("a MAC").to_string()
}

#[test]
fn a_real_s_new_mac_reaches_its_cached_flows_at_once() {
    let lab = quickstart();
    lab.wait_echo("client", VIP);
    let mut conn = connect_from(&lab.netns("client"), (VIP, 7));
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    echo(&mut conn).expect("the echo answers");
    let port = conn.local_addr().unwrap().port();
    let (lb, real) = carrier_of(&lab, port);
    let other = REALS.iter().find(|(a, _)| *a != real).unwrap().1;

    // The connection's packets come from the director's flow cache.
    let cached = lab.dataplane_stat(lb, "flow_cache_hit");
    for _ in 0..5 {
        echo(&mut conn).expect("the echo answers");
    }
    assert!(
        lab.dataplane_stat(lb, "flow_cache_hit") > cached,
        "{lb}: not cached"
    );

    // The real's address now resolves to the other real's MAC (as when
    // it moves to another machine): once xlvsd has taken it (it logs the
    // change once the data plane has it), the very next segment goes
    // there. The other real knows no such connection and resets it.
    let new_mac = mac_of(&lab, other);
    lab.exec_ok(
        lb,
        &[
            "ip",
            "neigh",
            "replace",
            real,
            "lladdr",
            &new_mac,
            "dev",
            "eth1",
            "nud",
            "permanent",
        ],
    );
    let taken = format!("real server MAC changed real={real}");
    wait_until("xlvsd took the new MAC", Duration::from_secs(10), || {
        let log = log_of(lb);
        let line = log.lines().find(|l| l.contains(&taken));
        line.filter(|l| l.contains(&new_mac))
            .map(|_| ())
            .ok_or_else(|| format!("{lb}: not in its log"))
    });
    let err = echo(&mut conn).expect_err("the connection moved to the other real");
    assert_eq!(
        err.kind(),
        std::io::ErrorKind::ConnectionReset,
        "reset by {other}: {err}"
    );
    // Not the health check's doing: the real still passes it.
    let sock = std::path::PathBuf::from(format!("/run/xlvs/{lb}.sock"));
    let health = xlvs_tests::control(&sock, "health", &[]).unwrap();
    let rows = health.as_array().unwrap();
    let row = rows.iter().find(|r| r["real"] == real && r["port"] == 7);
    assert_eq!(row.map(|r| &r["usable"]), Some(&true.into()), "{health:#}");

    // The entry goes: xlvsd has the kernel resolve the real again, its
    // own MAC comes back, and new connections reach both reals.
    lab.exec_ok(lb, &["ip", "neigh", "del", real, "dev", "eth1"]);
    let own_mac = mac_of(&lab, REALS.iter().find(|(a, _)| *a == real).unwrap().1);
    wait_until("the real resolved again", Duration::from_secs(10), || {
        let out = lab.exec_ok(lb, &["ip", "neigh", "show", real, "dev", "eth1"]);
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        shown.contains(&own_mac).then_some(()).ok_or(shown)
    });
    wait_until("both reals answer", Duration::from_secs(30), || {
        let answers = lab.http_answers("client", VIP, 20);
        (answers.len() == 2)
            .then_some(())
            .ok_or(format!("{answers:?}"))
    });
}
