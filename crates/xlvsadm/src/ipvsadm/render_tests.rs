//! Golden listings. The expected text was produced from ipvsadm's printf
//! formats (see `print_service_entry`, `print_largenum`, `list_conn` in its
//! sources), independently of this crate's code.

use super::command::{IpvsCommand, ListFormat, ListOptions, ListWhat};
use super::parse::parse;
use super::render::{list, ListError};
use super::restore::parse_lines;
use super::save;
use std::net::Ipv4Addr;
use xlvs_api::ipvs::{
    Connection, IpvsTable, Persistence, Rate, RealEntry, ServiceEntry, ServiceKey, Stats, Timeouts,
};
use xlvs_api::{Forward, Protocol, Scheduler};

fn stats(v: [u64; 5]) -> Stats {
    Stats {
        conns: v[0],
        in_pkts: v[1],
        out_pkts: v[2],
        in_bytes: v[3],
        out_bytes: v[4],
    }
}

fn rate(v: [u64; 5]) -> Rate {
    Rate {
        cps: v[0],
        in_pps: v[1],
        out_pps: v[2],
        in_bps: v[3],
        out_bps: v[4],
    }
}

#[allow(clippy::too_many_arguments)]
fn real(
    addr: &str,
    port: u16,
    forward: Forward,
    weight: u16,
    active: u64,
    inactive: u64,
    st: [u64; 5],
    rt: [u64; 5],
) -> RealEntry {
    RealEntry {
        address: addr.parse().unwrap(),
        port,
        forward,
        weight,
        active_conns: active,
        inactive_conns: inactive,
        persist_conns: active / 2,
        stats: stats(st),
        rate: rate(rt),
        sorry_server: false,
    }
}

fn service(
    name: Option<&str>,
    protocol: Protocol,
    vip: &str,
    port: u16,
    scheduler: Scheduler,
    persistent: Option<(u32, &str)>,
    reals: Vec<RealEntry>,
) -> ServiceEntry {
    ServiceEntry {
        name: name.map(String::from),
        protocol,
        vip: vip.parse().unwrap(),
        port,
        scheduler,
        persistent: persistent.map(|(t, m)| Persistence {
            timeout_s: t,
            netmask: m.parse().unwrap(),
        }),
        toa_kind: None,
        proxy_protocol: None,
        stats: Stats::default(),
        rate: Rate::default(),
        reals,
    }
}

const Z: [u64; 5] = [0; 5];

/// Services and reals deliberately out of order: listings sort them.
pub(super) fn table() -> IpvsTable {
    use Forward::*;
    use Protocol::*;
    let mut dns = service(
        Some("dns"),
        Udp,
        "203.0.113.53",
        53,
        Scheduler::Sh,
        Some((60, "255.255.255.0")),
        vec![
            real("10.30.0.5", 53, Tun, 1, 0, 6, Z, Z),
            real("10.20.0.5", 53, Tun, 1, 0, 4, Z, Z),
        ],
    );
    dns.stats = stats([10, 20, 0, 2000, 0]);
    let mut web = service(
        Some("web"),
        Tcp,
        "192.0.2.10",
        80,
        Scheduler::Mh,
        Some((300, "255.255.255.255")),
        vec![
            real(
                "10.0.1.23",
                80,
                Dr,
                50,
                1,
                1,
                [7, 8, 0, 9, 0],
                [1, 2, 0, 3, 0],
            ),
            real(
                "10.0.1.21",
                80,
                Dr,
                100,
                12,
                3,
                [1000, 2000, 0, 3000, 0],
                [500, 700, 0, 100_000_000, 0],
            ),
            real("10.0.1.22", 80, Dr, 100, 0, 0, Z, Z),
        ],
    );
    web.stats = stats([123_456_789, 99_999_999, 0, 5_000_000_000, 0]);
    web.rate = rate([1500, 20000, 0, 150_000_000, 0]);
    let shop = |port, real_port| {
        service(
            Some("shop"),
            Tcp,
            "192.0.2.20",
            port,
            Scheduler::Wlc,
            Some((600, "255.255.255.255")),
            vec![real("10.0.3.31", real_port, Fullnat, 10, 0, 0, Z, Z)],
        )
    };
    IpvsTable {
        version: "xlvs 0.1.0".into(),
        conn_table_size: 1_048_576,
        timeouts: Timeouts {
            tcp_s: 900,
            tcpfin_s: 120,
            udp_s: 300,
        },
        services: vec![
            dns,
            shop(443, 8443),
            service(
                None,
                Tcp,
                "192.0.2.30",
                443,
                Scheduler::Mh,
                None,
                vec![real("10.0.4.1", 8443, Nat, 0, 0, 0, Z, Z)],
            ),
            web,
            shop(80, 8080),
        ],
        connections: vec![
            conn(
                Protocol::Tcp,
                899,
                "ESTABLISHED",
                "198.51.100.7:40000",
                "192.0.2.10:80",
                "10.0.1.21:80",
            ),
            conn(
                Protocol::Udp,
                65,
                "UDP",
                "198.51.100.8:5353",
                "203.0.113.53:53",
                "10.20.0.5:53",
            ),
            conn(
                Protocol::Tcp,
                7200,
                "FIN_WAIT",
                "198.51.100.9:1",
                "192.0.2.10:80",
                "10.0.1.22:80",
            ),
        ],
    }
}

fn conn(protocol: Protocol, expire_s: u32, state: &str, s: &str, v: &str, d: &str) -> Connection {
    Connection {
        protocol,
        expire_s,
        state: state.into(),
        source: s.parse().unwrap(),
        virtual_addr: v.parse().unwrap(),
        destination: d.parse().unwrap(),
        owner: None,
    }
}

/// The listing a command line prints for `table()`.
fn listing(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match parse(&words).unwrap().command {
        IpvsCommand::List(opts) => list(&table(), &opts).unwrap(),
        IpvsCommand::Save { .. } => save::render(&table()),
        other => panic!("{other:?}"),
    }
}

fn text(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn list_numeric() {
    assert_eq!(listing("-L -n"), text(PLAIN));
    // Always numeric: -n changes nothing.
    assert_eq!(listing("-L"), text(PLAIN));
}

#[test]
fn list_one_service() {
    assert_eq!(listing("-L -n -u 203.0.113.53:53"), text(ONE_SERVICE));
    let opts = ListOptions {
        what: ListWhat::Services(Some(ServiceKey {
            protocol: Protocol::Udp,
            vip: Ipv4Addr::new(192, 0, 2, 10),
            port: 80,
        })),
        format: ListFormat::Plain,
        numeric: true,
        exact: false,
        sort: true,
    };
    assert_eq!(
        list(&table(), &opts).unwrap_err().to_string(),
        "no such service: UDP 192.0.2.10:80"
    );
    assert!(matches!(
        list(&table(), &opts),
        Err(ListError::NoSuchService(_))
    ));
}

#[test]
fn list_stats_rate_exact() {
    assert_eq!(listing("-L -n --stats"), text(STATS));
    assert_eq!(listing("-L -n --stats --exact"), text(STATS_EXACT));
    assert_eq!(listing("-L -n --rate"), text(RATE));
}

#[test]
fn list_persistent_conn_as_ipvsadm_lays_it_out() {
    // persist_conns is active / 2 in table(): 12 -> 6, 1 -> 0.
    let out = listing("-L -n --persistent-conn");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1..5],
        [
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn",
            "  -> RemoteAddress:Port",
            "TCP  192.0.2.10:80 mh persistent 300",
            "  -> 10.0.1.21:80                 100       6           12         3         ",
        ]
    );
}

#[test]
fn list_connections_and_timeouts() {
    assert_eq!(listing("-L -n -c"), text(CONNECTIONS));
    assert_eq!(
        listing("-L --timeout"),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
}

#[test]
fn synced_entries_name_their_owner_in_a_last_column() {
    let words = ["-L", "-n", "-c"];
    let IpvsCommand::List(opts) = parse(&words).unwrap().command else {
        panic!("a listing");
    };
    let mut t = table();
    assert!(t.connections.len() >= 2, "the example has connections");
    t.connections[0].owner = Some("10.0.2.12".parse().unwrap());
    let out = list(&t, &opts).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].ends_with(" owner") && lines[1].contains("destination "),
        "{}",
        lines[1]
    );
    assert!(lines[2].ends_with(" 10.0.2.12"), "{}", lines[2]);
    assert!(lines[3].ends_with(" local"), "{}", lines[3]);
    // Without peers' entries the columns are ipvsadm's, exactly.
    assert_eq!(listing("-L -n -c"), text(CONNECTIONS));
}

#[test]
fn nosort_keeps_the_daemons_order() {
    let out = listing("-L -n --nosort");
    let services: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("TCP") || l.starts_with("UDP"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "203.0.113.53:53",
            "192.0.2.20:443",
            "192.0.2.30:443",
            "192.0.2.10:80",
            "192.0.2.20:80"
        ]
    );
    assert!(out.contains(
        "10.30.0.5:53                 Tunnel  1      0          6         \n  -> 10.20.0.5:53"
    ));
}

#[test]
fn save_lines() {
    let mut expected: Vec<&str> = SAVE.to_vec();
    let at = expected
        .iter()
        .position(|l| l.starts_with("-A -t 192.0.2.20:80"))
        .unwrap();
    expected.insert(
        at,
        "# node-config service shop has ports 80 443: restored, they are separate services",
    );
    assert_eq!(listing("-S"), text(&expected));
    assert_eq!(listing("-S -n"), text(&expected));
}

/// What -S writes, -R reads back as exactly the ops that rebuild the table.
#[test]
fn save_restore_round_trip() {
    let t = table();
    let restored: Vec<_> = parse_lines(&save::render(&t))
        .unwrap()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(restored, save::ops(&t));
    assert_eq!(restored.len(), 5 + 8);
}

/// The sorry server is a real line like any other (keepalived's is a real
/// in IPVS); -S leaves it out, since restoring it as a real would send it
/// traffic while the reals are up.
#[test]
fn the_sorry_server_is_listed_but_not_saved() {
    let mut t = table();
    let web = t.services.iter_mut().find(|s| s.port == 80).unwrap();
    let mut sorry = real("10.0.1.29", 80, Forward::Dr, 1, 2, 0, Z, Z);
    sorry.sorry_server = true;
    web.reals.push(sorry);
    let opts = |format| ListOptions {
        what: ListWhat::Services(None),
        format,
        numeric: true,
        exact: false,
        sort: true,
    };
    let out = list(&t, &opts(ListFormat::Plain)).unwrap();
    let mut expected: Vec<&str> = PLAIN.to_vec();
    let at = expected
        .iter()
        .position(|l| l.contains("10.0.1.23:80"))
        .unwrap();
    expected.insert(
        at + 1,
        "  -> 10.0.1.29:80                 Route   1      2          0         ",
    );
    assert_eq!(out, text(&expected));
    assert_eq!(save::render(&t), save::render(&table()));
    let json = serde_json::to_value(&t).unwrap();
    let reals = json["services"][3]["reals"].as_array().unwrap();
    let flags: Vec<bool> = reals
        .iter()
        .map(|r| r["sorry_server"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, false, false, true]);
}

/// Every scheduler ipvsadm knows is listed under its name, with the
/// persistence flags after it, and -S writes a line -R reads back.
#[test]
fn every_scheduler_lists_and_round_trips_by_name() {
    let mut t = table();
    t.services = Scheduler::ALL
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let vip = format!("192.0.2.{}", 101 + i);
            let real = real("10.0.9.1", 80, Forward::Dr, 1, 0, 0, Z, Z);
            let persistent = match i % 3 {
                0 => None,
                1 => Some((120, "255.255.255.255")),
                _ => Some((3600, "255.255.0.0")),
            };
            service(None, Protocol::Tcp, &vip, 80, s, persistent, vec![real])
        })
        .collect();
    let opts = ListOptions {
        what: ListWhat::Services(None),
        format: ListFormat::Plain,
        numeric: true,
        exact: false,
        sort: true,
    };
    let listed = list(&t, &opts).unwrap();
    let heads: Vec<&str> = listed.lines().filter(|l| l.starts_with("TCP")).collect();
    assert_eq!(
        heads,
        [
            "TCP  192.0.2.101:80 rr",
            "TCP  192.0.2.102:80 wrr persistent 120",
            "TCP  192.0.2.103:80 lc persistent 3600 mask 255.255.0.0",
            "TCP  192.0.2.104:80 wlc",
            "TCP  192.0.2.105:80 lblc persistent 120",
            "TCP  192.0.2.106:80 lblcr persistent 3600 mask 255.255.0.0",
            "TCP  192.0.2.107:80 dh",
            "TCP  192.0.2.108:80 sh persistent 120",
            "TCP  192.0.2.109:80 sed persistent 3600 mask 255.255.0.0",
            "TCP  192.0.2.110:80 nq",
            "TCP  192.0.2.111:80 mh persistent 120",
            "TCP  192.0.2.112:80 fo persistent 3600 mask 255.255.0.0",
            "TCP  192.0.2.113:80 ovf",
            "TCP  192.0.2.114:80 twos persistent 120",
        ]
    );
    let saved = save::render(&t);
    let adds: Vec<&str> = saved.lines().filter(|l| l.starts_with("-A")).collect();
    assert_eq!(adds[2], "-A -t 192.0.2.103:80 -s lc -p 3600 -M 255.255.0.0");
    assert_eq!(adds[13], "-A -t 192.0.2.114:80 -s twos -p 120");
    let restored: Vec<_> = parse_lines(&saved)
        .unwrap()
        .into_iter()
        .map(|(_, op)| op)
        .collect();
    assert_eq!(restored, save::ops(&t));
}

const PLAIN: &[&str] = &[
    "IP Virtual Server version xlvs 0.1.0 (size=1048576)",
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
    "TCP  192.0.2.10:80 mh persistent 300",
    "  -> 10.0.1.21:80                 Route   100    12         3         ",
    "  -> 10.0.1.22:80                 Route   100    0          0         ",
    "  -> 10.0.1.23:80                 Route   50     1          1         ",
    "TCP  192.0.2.20:80 wlc persistent 600",
    "  -> 10.0.3.31:8080               FullNat 10     0          0         ",
    "TCP  192.0.2.20:443 wlc persistent 600",
    "  -> 10.0.3.31:8443               FullNat 10     0          0         ",
    "TCP  192.0.2.30:443 mh",
    "  -> 10.0.4.1:8443                Masq    0      0          0         ",
    "UDP  203.0.113.53:53 sh persistent 60 mask 255.255.255.0",
    "  -> 10.20.0.5:53                 Tunnel  1      0          4         ",
    "  -> 10.30.0.5:53                 Tunnel  1      0          6         ",
];

const ONE_SERVICE: &[&str] = &[
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
    "UDP  203.0.113.53:53 sh persistent 60 mask 255.255.255.0",
    "  -> 10.20.0.5:53                 Tunnel  1      0          4         ",
    "  -> 10.30.0.5:53                 Tunnel  1      0          6         ",
];

const STATS: &[&str] = &[
    "IP Virtual Server version xlvs 0.1.0 (size=1048576)",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
    "  -> RemoteAddress:Port",
    "TCP  192.0.2.10:80                 123456K 99999999        0    5000M        0",
    "  -> 10.0.1.21:80                     1000     2000        0     3000        0",
    "  -> 10.0.1.22:80                        0        0        0        0        0",
    "  -> 10.0.1.23:80                        7        8        0        9        0",
    "TCP  192.0.2.20:80                       0        0        0        0        0",
    "  -> 10.0.3.31:8080                      0        0        0        0        0",
    "TCP  192.0.2.20:443                      0        0        0        0        0",
    "  -> 10.0.3.31:8443                      0        0        0        0        0",
    "TCP  192.0.2.30:443                      0        0        0        0        0",
    "  -> 10.0.4.1:8443                       0        0        0        0        0",
    "UDP  203.0.113.53:53                    10       20        0     2000        0",
    "  -> 10.20.0.5:53                        0        0        0        0        0",
    "  -> 10.30.0.5:53                        0        0        0        0        0",
];

const STATS_EXACT: &[&str] = &[
    "IP Virtual Server version xlvs 0.1.0 (size=1048576)",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
    "  -> RemoteAddress:Port",
    "TCP  192.0.2.10:80                123456789 99999999        0 5000000000        0",
    "  -> 10.0.1.21:80                     1000     2000        0     3000        0",
    "  -> 10.0.1.22:80                        0        0        0        0        0",
    "  -> 10.0.1.23:80                        7        8        0        9        0",
    "TCP  192.0.2.20:80                       0        0        0        0        0",
    "  -> 10.0.3.31:8080                      0        0        0        0        0",
    "TCP  192.0.2.20:443                      0        0        0        0        0",
    "  -> 10.0.3.31:8443                      0        0        0        0        0",
    "TCP  192.0.2.30:443                      0        0        0        0        0",
    "  -> 10.0.4.1:8443                       0        0        0        0        0",
    "UDP  203.0.113.53:53                    10       20        0     2000        0",
    "  -> 10.20.0.5:53                        0        0        0        0        0",
    "  -> 10.30.0.5:53                        0        0        0        0        0",
];

const RATE: &[&str] = &[
    "IP Virtual Server version xlvs 0.1.0 (size=1048576)",
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS",
    "  -> RemoteAddress:Port",
    "TCP  192.0.2.10:80                    1500    20000        0  150000K        0",
    "  -> 10.0.1.21:80                      500      700        0  100000K        0",
    "  -> 10.0.1.22:80                        0        0        0        0        0",
    "  -> 10.0.1.23:80                        1        2        0        3        0",
    "TCP  192.0.2.20:80                       0        0        0        0        0",
    "  -> 10.0.3.31:8080                      0        0        0        0        0",
    "TCP  192.0.2.20:443                      0        0        0        0        0",
    "  -> 10.0.3.31:8443                      0        0        0        0        0",
    "TCP  192.0.2.30:443                      0        0        0        0        0",
    "  -> 10.0.4.1:8443                       0        0        0        0        0",
    "UDP  203.0.113.53:53                     0        0        0        0        0",
    "  -> 10.20.0.5:53                        0        0        0        0        0",
    "  -> 10.30.0.5:53                        0        0        0        0        0",
];

const SAVE: &[&str] = &[
    "-A -t 192.0.2.10:80 -s mh -p 300",
    "-a -t 192.0.2.10:80 -r 10.0.1.21:80 -g -w 100",
    "-a -t 192.0.2.10:80 -r 10.0.1.22:80 -g -w 100",
    "-a -t 192.0.2.10:80 -r 10.0.1.23:80 -g -w 50",
    "-A -t 192.0.2.20:80 -s wlc -p 600",
    "-a -t 192.0.2.20:80 -r 10.0.3.31:8080 --fullnat -w 10",
    "-A -t 192.0.2.20:443 -s wlc -p 600",
    "-a -t 192.0.2.20:443 -r 10.0.3.31:8443 --fullnat -w 10",
    "-A -t 192.0.2.30:443 -s mh",
    "-a -t 192.0.2.30:443 -r 10.0.4.1:8443 -m -w 0",
    "-A -u 203.0.113.53:53 -s sh -p 60 -M 255.255.255.0",
    "-a -u 203.0.113.53:53 -r 10.20.0.5:53 -i -w 1",
    "-a -u 203.0.113.53:53 -r 10.30.0.5:53 -i -w 1",
];

const CONNECTIONS: &[&str] = &[
    "IPVS connection entries",
    "pro expire state       source             virtual            destination",
    "TCP 14:59  ESTABLISHED 198.51.100.7:40000 192.0.2.10:80      10.0.1.21:80",
    "UDP 01:05  UDP         198.51.100.8:5353  203.0.113.53:53    10.20.0.5:53",
    "TCP 120:00 FIN_WAIT    198.51.100.9:1     192.0.2.10:80      10.0.1.22:80",
];

/// The service lines of `t`'s `-L -n` listing.
fn service_lines(t: &IpvsTable) -> Vec<String> {
    let opts = match parse(&["-L", "-n"]).unwrap().command {
        IpvsCommand::List(opts) => opts,
        other => panic!("{other:?}"),
    };
    let out = list(t, &opts).unwrap();
    out.lines()
        .filter(|l| !l.starts_with(' '))
        .map(str::to_string)
        .collect()
}

#[test]
fn client_address_modes_say_so_after_their_persistence() {
    // (toa kinds, PROXY versions) of the first two services, and the words.
    for (toa, proxy, words) in [
        ([Some(254), Some(200)], [None, None], ["toa", "toa 200"]),
        ([None, None], [Some(2), Some(1)], ["proxy-v2", "proxy-v1"]),
    ] {
        let mut t = table();
        for i in 0..2 {
            t.services[i].toa_kind = toa[i];
            t.services[i].proxy_protocol = proxy[i];
        }
        let lines = service_lines(&t);
        let udp = format!(
            "UDP  203.0.113.53:53 sh persistent 60 mask 255.255.255.0 {}",
            words[0]
        );
        assert!(lines.contains(&udp), "{lines:#?}");
        let other = format!(" {}", words[1]);
        assert!(lines.iter().any(|l| l.ends_with(&other)), "{lines:#?}");
        let marked = lines.iter().filter(|l| l.contains(&words[0][..3]));
        assert_eq!(marked.count(), 2, "{lines:#?}");
    }
    // Without them the lines are ipvsadm's.
    assert_eq!(listing("-L -n").matches("toa").count(), 0);
    assert_eq!(listing("-L -n").matches("proxy-v").count(), 0);
}

#[test]
fn proxy_services_save_and_restore_as_ipvsadm_lines() {
    let mut t = table();
    t.services[0].proxy_protocol = Some(2);
    // -S writes ipvsadm's lines, which have no word for it (as for toa):
    // the same lines, which -R reads back (save_restore_round_trip).
    assert_eq!(save::render(&t), save::render(&table()));
    // And the JSON listing names it only where it is set.
    let json = serde_json::to_value(&t.services[0]).unwrap();
    assert_eq!(json["proxy_protocol"], 2);
    assert!(serde_json::to_value(&table().services[0])
        .unwrap()
        .get("proxy_protocol")
        .is_none());
}
