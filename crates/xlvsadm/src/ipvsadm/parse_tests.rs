//! Command lines, real-world and broken, against what they must mean.
//!
//! A change is compared through its canonical form (`Display` of `IpvsOp`,
//! which prints every field), so each case reads like ipvsadm.

use super::command::{IpvsCommand, ListFormat, ListWhat};
use super::parse::{is_ipvsadm, parse, Globals};
use std::net::Ipv4Addr;
use xlvs_api::ipvs::{IpvsOp, Persistence, RealSpec, ServiceKey, ServiceSpec, Timeouts};
use xlvs_api::{Forward, Protocol, Scheduler};

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// What a command line means, in one line.
fn meaning(line: &str) -> String {
    let parsed = parse(&words(line)).unwrap_or_else(|e| panic!("{line}: {e}"));
    match parsed.command {
        IpvsCommand::Op(op) => op.to_string(),
        IpvsCommand::List(o) => {
            let what = match o.what {
                ListWhat::Services(None) => "services".to_string(),
                ListWhat::Services(Some(s)) => format!("service {s}"),
                ListWhat::Connections => "connections".into(),
                ListWhat::Timeouts => "timeouts".into(),
            };
            let format = match o.format {
                ListFormat::Plain => "",
                ListFormat::Stats => " stats",
                ListFormat::Rate => " rate",
                ListFormat::PersistentConn => " persistent-conn",
            };
            let flag = |on: bool, name: &str| {
                if on {
                    format!(" {name}")
                } else {
                    String::new()
                }
            };
            format!(
                "list {what}{format}{}{}{}",
                flag(o.numeric, "numeric"),
                flag(o.exact, "exact"),
                flag(!o.sort, "nosort")
            )
        }
        IpvsCommand::Save { numeric } => format!("save{}", if numeric { " numeric" } else { "" }),
        IpvsCommand::Restore => "restore".into(),
        IpvsCommand::Help => "help".into(),
        IpvsCommand::Version => "version".into(),
    }
}

/// Every line from the seed guides that ipvsadm accepts, with the guides'
/// shell variables expanded to the values the guides set, then more
/// real-world lines.
const ACCEPTED: &[(&str, &str)] = &[
    // seed 000 (DR script for MySQL)
    (
        "-A -t 192.168.184.10:3306 -s wrr",
        "-A -t 192.168.184.10:3306 -s wrr",
    ),
    (
        "-a -t 192.168.184.10:3306 -r 192.168.184.50:3306 -g -w 1",
        "-a -t 192.168.184.10:3306 -r 192.168.184.50:3306 -g -w 1",
    ),
    (
        "-a -t 192.168.184.10:3306 -r 192.168.184.60:3306 -g -w 1",
        "-a -t 192.168.184.10:3306 -r 192.168.184.60:3306 -g -w 1",
    ),
    ("-C", "-C"),
    // seed 001 (NAT and DR labs, persistence)
    (
        "-a -t 172.18.134.134:80 -r 172.17.0.2:80 -m -w 1",
        "-a -t 172.18.134.134:80 -r 172.17.0.2:80 -m -w 1",
    ),
    (
        "-a -t 172.18.134.134:80 -r 172.17.0.3:80 -m -w 2",
        "-a -t 172.18.134.134:80 -r 172.17.0.3:80 -m -w 2",
    ),
    (
        "-A -t 172.18.140.1:80 -s wrr",
        "-A -t 172.18.140.1:80 -s wrr",
    ),
    (
        "-a -t 172.18.140.1:80 -r 172.18.136.125:80 -g -w 1",
        "-a -t 172.18.140.1:80 -r 172.18.136.125:80 -g -w 1",
    ),
    (
        "-a -t 172.18.140.1:80 -r 172.18.135.51:80 -g -w 2",
        "-a -t 172.18.140.1:80 -r 172.18.135.51:80 -g -w 2",
    ),
    (
        "-A -t 172.18.140.1:0 -s wrr -p",
        "-A -t 172.18.140.1:0 -s wrr -p 360",
    ),
    (
        "-A -t 172.18.140.1:0 -s wrr -p 1200",
        "-A -t 172.18.140.1:0 -s wrr -p 1200",
    ),
    (
        "-a -t 172.18.140.1:0 -r 172.18.135.51 -g -w 2",
        "-a -t 172.18.140.1:0 -r 172.18.135.51:0 -g -w 2",
    ),
    ("-R", "restore"),
    ("-S -n", "save numeric"),
    ("-L -n", "list services numeric"),
    ("-L -n -c", "list connections numeric"),
    ("-L -n --stats", "list services stats numeric"),
    ("-L -n --rate", "list services rate numeric"),
    (
        "-L -n --persistent-conn",
        "list services persistent-conn numeric",
    ),
    ("-L -n --exact --stats", "list services stats numeric exact"),
    ("-Z -t 172.18.140.1:80", "-Z -t 172.18.140.1:80"),
    // seed 002 (start/stop script; `-set` there is a typo, see REFUSED)
    ("--set 30 5 60", "--set 30 5 60"),
    (
        "-A -t 192.168.2.118:80 -s wlc -p 120",
        "-A -t 192.168.2.118:80 -s wlc -p 120",
    ),
    (
        "-a -t 192.168.2.118:80 -r 192.168.2.119:80 -g -w 1",
        "-a -t 192.168.2.118:80 -r 192.168.2.119:80 -g -w 1",
    ),
    (
        "-a -t 192.168.2.118:80 -r 192.168.2.35:80 -g -w 1",
        "-a -t 192.168.2.118:80 -r 192.168.2.35:80 -g -w 1",
    ),
    ("-Z", "-Z"),
    ("--help", "help"),
    // defaults: wlc, /32 mask, the service port, weight and method as given
    ("-A -t 192.0.2.10:80", "-A -t 192.0.2.10:80 -s wlc"),
    (
        "-A -t 192.0.2.10:80 -s mh -p 300",
        "-A -t 192.0.2.10:80 -s mh -p 300",
    ),
    (
        "-A -t 192.0.2.10:80 -s mh -p 300 -M 255.255.255.255",
        "-A -t 192.0.2.10:80 -s mh -p 300",
    ),
    (
        "-A -u 203.0.113.53:53 -s sh -p 60 -M 255.255.255.0",
        "-A -u 203.0.113.53:53 -s sh -p 60 -M 255.255.255.0",
    ),
    // -M without -p is accepted and means nothing, as in ipvsadm
    (
        "-A -t 192.0.2.10:80 -s mh -M 255.255.0.0",
        "-A -t 192.0.2.10:80 -s mh",
    ),
    (
        "-A -t 192.0.2.10:80 -p -s mh",
        "-A -t 192.0.2.10:80 -s mh -p 360",
    ),
    // --persistent, like -p, takes a value only when one follows
    (
        "-A -u 192.0.2.53:123 --scheduler sh --persistent",
        "-A -u 192.0.2.53:123 -s sh -p 360",
    ),
    (
        "-A -t 192.0.2.10:80 --persistent --scheduler mh",
        "-A -t 192.0.2.10:80 -s mh -p 360",
    ),
    (
        "-A -t 192.0.2.10:80 --persistent 120 -s mh",
        "-A -t 192.0.2.10:80 -s mh -p 120",
    ),
    (
        "-A -t 192.0.2.10:80 -s mh -p2678400",
        "-A -t 192.0.2.10:80 -s mh -p 2678400",
    ),
    ("-A -t 192.0.2.10:http -s rr", "-A -t 192.0.2.10:80 -s rr"),
    ("-A -t 192.0.2.10:https -s mh", "-A -t 192.0.2.10:443 -s mh"),
    ("-A -u 192.0.2.53:domain -s sh", "-A -u 192.0.2.53:53 -s sh"),
    ("-A -u 192.0.2.53:dns -s sh", "-A -u 192.0.2.53:53 -s sh"),
    ("-A -t 192.0.2.22:ssh -s sh", "-A -t 192.0.2.22:22 -s sh"),
    ("-A -t 192.0.2.25:smtp -s mh", "-A -t 192.0.2.25:25 -s mh"),
    (
        "-A -t 192.0.2.21:ftp -s mh -p 600",
        "-A -t 192.0.2.21:21 -s mh -p 600",
    ),
    ("-E -t 192.0.2.10:80 -s sh", "-E -t 192.0.2.10:80 -s sh"),
    (
        "-E -t 192.0.2.10:80 -p 60",
        "-E -t 192.0.2.10:80 -s wlc -p 60",
    ),
    ("-E -t 192.0.2.10:80", "-E -t 192.0.2.10:80 -s wlc"),
    ("-D -t 192.0.2.10:80", "-D -t 192.0.2.10:80"),
    ("-D -u 203.0.113.53:53", "-D -u 203.0.113.53:53"),
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:80",
    ),
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 -m -w 3",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 -m -w 3",
    ),
    // only NAT methods map ports; -g and -i use the service's, like ipvsadm
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 -g",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:80 -g",
    ),
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 -i -w 0",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:80 -i -w 0",
    ),
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 --fullnat -w 65535",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:8080 --fullnat -w 65535",
    ),
    (
        "-a -t 192.0.2.10:80 -r 10.0.1.21:https --masquerading",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:443 -m",
    ),
    (
        "-e -t 192.0.2.10:80 -r 10.0.1.21:80 -w 0",
        "-e -t 192.0.2.10:80 -r 10.0.1.21:80 -w 0",
    ),
    (
        "-e -t 192.0.2.10:80 -r 10.0.1.21 -g -w 5",
        "-e -t 192.0.2.10:80 -r 10.0.1.21:80 -g -w 5",
    ),
    (
        "-d -t 192.0.2.10:80 -r 10.0.1.21",
        "-d -t 192.0.2.10:80 -r 10.0.1.21:80",
    ),
    (
        "-d -t 192.0.2.10:80 -r 10.0.1.21:8080",
        "-d -t 192.0.2.10:80 -r 10.0.1.21:8080",
    ),
    // long options, `=` values, bundles, attached values, any order
    (
        "--add-service --tcp-service 192.0.2.10:443 --scheduler mh --persistent 600",
        "-A -t 192.0.2.10:443 -s mh -p 600",
    ),
    (
        "--add-server --udp-service=203.0.113.53:53 --real-server=10.20.0.5 --ipip --weight=5",
        "-a -u 203.0.113.53:53 -r 10.20.0.5:53 -i -w 5",
    ),
    (
        "--edit-service -t 192.0.2.10:80 --scheduler=sh",
        "-E -t 192.0.2.10:80 -s sh",
    ),
    (
        "--delete-server -t 192.0.2.10:80 -r 10.0.1.21",
        "-d -t 192.0.2.10:80 -r 10.0.1.21:80",
    ),
    ("--delete-service -t 192.0.2.10:80", "-D -t 192.0.2.10:80"),
    ("--clear", "-C"),
    (
        "--zero --udp-service 203.0.113.53:53",
        "-Z -u 203.0.113.53:53",
    ),
    ("-At 192.0.2.10:80 -s mh", "-A -t 192.0.2.10:80 -s mh"),
    (
        "-at 192.0.2.10:80 -r10.0.1.21 -gw7",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:80 -g -w 7",
    ),
    ("-s mh -t 192.0.2.10:80 -A", "-A -t 192.0.2.10:80 -s mh"),
    (
        "-w 2 -r 10.0.1.21 -a -t 192.0.2.10:80",
        "-a -t 192.0.2.10:80 -r 10.0.1.21:80 -w 2",
    ),
    ("--set 900 120 300", "--set 900 120 300"),
    ("--set 0 0 0", "--set 0 0 0"),
    // listings
    ("", "list services"),
    ("-L", "list services"),
    ("-l", "list services"),
    ("-Ln", "list services numeric"),
    ("-lnc", "list connections numeric"),
    ("--list --numeric --connection", "list connections numeric"),
    ("-L -c", "list connections"),
    ("-L --timeout", "list timeouts"),
    (
        "-L -n -t 192.0.2.10:80",
        "list service TCP 192.0.2.10:80 numeric",
    ),
    (
        "-L -n -t 192.0.2.10:80 --rate --exact",
        "list service TCP 192.0.2.10:80 rate numeric exact",
    ),
    ("-L --stats --rate", "list services stats"),
    ("-L -n --nosort", "list services numeric nosort"),
    ("-L -n --sort", "list services numeric"),
    ("-L -n -X", "list services numeric exact"),
    ("-S", "save"),
    ("--save --numeric", "save numeric"),
    ("--restore", "restore"),
    ("-h", "help"),
    ("-v", "version"),
    ("--version", "version"),
    ("-V", "version"),
    // help wins over the rest of the line
    ("-A -h", "help"),
    ("-L -- ", "list services"),
];

#[test]
fn accepted_lines() {
    let mut failures = Vec::new();
    for (line, expected) in ACCEPTED {
        let got = meaning(line);
        if got != *expected {
            failures.push(format!("{line:?}\n   got {got:?}\n  want {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Lines ipvsadm refuses (or that need what xlvs lacks), with our message.
const REFUSED: &[(&str, &str)] = &[
    // seed 001: no port means port 0, which must be persistent
    (
        "-A -t 172.18.134.134 -s wrr",
        "-t 172.18.134.134: port 0 (every port of the VIP) needs a persistent service: add -p, or give a port",
    ),
    // seed 001: firewall-mark services (the guide typed `iptables` there)
    (
        "-A -f 7 -s wrr -p 1200",
        "-f 7: firewall marks: use a service with several ports in the node config",
    ),
    (
        "-a -f 7 -r 172.18.135.51 -m -w 1",
        "-f 7: firewall marks: use a service with several ports in the node config",
    ),
    (
        "--fwmark-service 7 -D",
        "--fwmark-service 7: firewall marks: use a service with several ports in the node config",
    ),
    // seed 001: a stray dash in front of the real's address
    (
        "-a -t 172.18.140.1:0 -r -172.18.136.125 -g -w 1",
        "-r -172.18.136.125: `-172.18.136.125` is not an IPv4 address",
    ),
    // seed 002: `-set` for `--set`
    ("-set 30 5 60", "-set: unknown option (did you mean --set?)"),
    // usage
    ("-t 192.0.2.10:80", "no command given (one of -A -E -D -a -e -d -C -Z -L -S -R --set, or -h)"),
    ("-A -D -t 192.0.2.10:80", "-D: only one command at a time (-A given already)"),
    ("-L -l", "-l: only one command at a time (-L given already)"),
    ("-A -s mh", "-A: needs a service: -t VIP:PORT or -u VIP:PORT"),
    ("-D", "-D: needs a service: -t VIP:PORT or -u VIP:PORT"),
    ("-a -t 192.0.2.10:80", "-a: needs a real server: -r ADDRESS[:PORT]"),
    ("-d -t 192.0.2.10:80 -w 1", "-w: cannot be used with -d"),
    ("-A -t 192.0.2.10:80 -w 5", "-w: cannot be used with -A"),
    ("-A -t 192.0.2.10:80 -r 10.0.0.1", "-r: cannot be used with -A"),
    ("-a -t 192.0.2.10:80 -r 10.0.0.1 -s mh", "-s: cannot be used with -a"),
    ("-C -t 192.0.2.10:80", "-t: cannot be used with -C"),
    ("-S -c", "-c: cannot be used with -S"),
    ("-Z -n", "-n: cannot be used with -Z"),
    ("-R -n", "-n: cannot be used with -R"),
    ("-D -t 192.0.2.10:80 -s mh", "-s: cannot be used with -D"),
    ("-L -p", "-p: cannot be used with -L"),
    (
        "-a -t 192.0.2.10:80 -r 10.0.0.1 -g -m",
        "-m: only one forwarding-method option at a time (-g given already)",
    ),
    (
        "-a -t 192.0.2.10:80 -r 10.0.0.1 -m --fullnat",
        "--fullnat: only one forwarding-method option at a time (-m given already)",
    ),
    (
        "-A -t 192.0.2.10:80 -u 192.0.2.10:80",
        "-u: only one service-address option at a time (-t given already)",
    ),
    ("-L -n -n", "-n: only one numeric option at a time (-n given already)"),
    ("-L -c --stats", "--stats: cannot be combined with -c"),
    ("-L --rate -c", "-c: cannot be combined with --rate"),
    ("-L -c -t 192.0.2.10:80", "-t: cannot be combined with -c"),
    ("-L --timeout --stats", "--stats: cannot be combined with --timeout"),
    ("-L --timeout -c", "-c: cannot be combined with --timeout"),
    ("-L -n extra", "extra: unexpected argument"),
    ("-C now", "now: unexpected argument"),
    // values
    // ipvsadm's own words first: the kernel's refusal of a scheduler as
    // libipvs prints it, and ipvsadm's for -p, --set and -M
    (
        "-A -t 192.0.2.10:80 -s foo",
        "Scheduler or persistence engine not found (-s foo: the schedulers are rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)",
    ),
    (
        "-E -t 192.0.2.10:80 --scheduler=WLC",
        "Scheduler or persistence engine not found (--scheduler WLC: the schedulers are rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos)",
    ),
    ("-A -t 192.0.2.10:80 -p 0", "invalid timeout value `0' specified (-p takes 1..=2678400 seconds)"),
    (
        "-A -t 192.0.2.10:80 -p 2678401",
        "invalid timeout value `2678401' specified (-p takes 1..=2678400 seconds)",
    ),
    (
        "-A -t 192.0.2.10:80 --persistent=x",
        "invalid timeout value `x' specified (--persistent takes 1..=2678400 seconds)",
    ),
    (
        "-A -t 192.0.2.10:80 -p 60 -M 255.0.255.0",
        "illegal virtual server persistent mask specified (-M 255.0.255.0: not a contiguous netmask)",
    ),
    (
        "-A -t 192.0.2.10:80 -p 60 -M 24",
        "illegal virtual server persistent mask specified (-M 24: write it dotted, e.g. 255.255.255.0)",
    ),
    // ipvsadm reads -M even without -p
    (
        "-A -t 192.0.2.10:80 -M 255.255.0.x",
        "illegal virtual server persistent mask specified (-M 255.255.0.x: write it dotted, e.g. 255.255.255.0)",
    ),
    ("-a -t 192.0.2.10:80 -r 10.0.1.21 -w 65536", "-w 65536: out of range 0..=65535"),
    ("-a -t 192.0.2.10:80 -r 10.0.1.21 -w -1", "-w -1: not a number (0..=65535)"),
    ("-a -t 192.0.2.10:80 -r 10.0.1.21 --weight", "--weight: needs a value"),
    ("--set 30 5", "--set: needs three timeouts, tcp tcpfin udp (in seconds)"),
    ("--set 30 5 60 70", "70: unexpected argument"),
    ("--set 30 x 60", "invalid timeout value `x' specified (--set takes 0..=2678400 seconds)"),
    (
        "-A -t [2001:db8::1]:80",
        "-t [2001:db8::1]:80: IPv6 is not supported (xlvs is IPv4-only)",
    ),
    (
        "-A -t www.example.com:80",
        "-t www.example.com:80: `www.example.com` is not an IPv4 address (host names are not resolved)",
    ),
    ("-A -t 80", "-t 80: `80` is not an IPv4 address"),
    (
        "-A -t 192.0.2.10:imap",
        "-t 192.0.2.10:imap: unknown service name `imap`: give a port number (known names: ftp, ssh, smtp, domain, dns, http, www, https)",
    ),
    ("-A -t 192.0.2.10:99999", "-t 192.0.2.10:99999: port `99999` is out of range 0..=65535"),
    // what xlvs does not have
    ("-A -f 1 -6", "-6: IPv6 is not supported (xlvs is IPv4-only)"),
    ("-L -6", "-6: IPv6 is not supported (xlvs is IPv4-only)"),
    ("-a -t 192.0.2.10:80 -r 10.0.1.21 -x 100", "-x: connection thresholds are not supported"),
    ("-L --thresholds", "--thresholds: connection thresholds are not supported"),
    ("--start-daemon master --mcast-interface eth0", "--start-daemon: xlvs syncs connections between directors through [cluster] in the node config, not a daemon started by ipvsadm"),
    ("-L --daemon", "--daemon: xlvs syncs connections between directors through [cluster] in the node config, not a daemon started by ipvsadm"),
    ("-A -u 192.0.2.53:53 -s sh --ops", "--ops: one-packet scheduling is not supported"),
    (
        "-A -t 192.0.2.10:80 -s mh -b mh-port",
        "-b: scheduler flags (e.g. mh-port, mh-fallback) are not supported; for FULLNAT (-b in Alibaba's ipvsadm) use --fullnat",
    ),
    ("-A -t 192.0.2.10:80 --pe sip", "--pe: persistence engines are not supported"),
    ("-P -t 192.0.2.10:80 -z 10.0.2.1", "-P: FULLNAT local addresses come from [fullnat] local_addresses in the node config"),
    ("-L --bogus", "--bogus: unknown option"),
    ("-Lq", "-q: unknown option (in -Lq)"),
    ("--stats=yes -L", "--stats: takes no value"),
];

#[test]
fn refused_lines() {
    let mut failures = Vec::new();
    for (line, expected) in REFUSED {
        match parse(&words(line)) {
            Ok(p) => failures.push(format!("{line:?} was accepted: {:?}", p.command)),
            Err(e) if e.to_string() != *expected => failures.push(format!(
                "{line:?}\n   got {:?}\n  want {expected:?}",
                e.to_string()
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn global_options_anywhere() {
    let p = parse(&words("--node lb1 -L -n --json")).unwrap();
    assert_eq!(
        p.globals,
        Globals {
            node: Some("lb1".into()),
            socket: None,
            json: true
        }
    );
    let p = parse(&words(
        "-A -t 192.0.2.10:80 --socket=/run/xlvs/lb2.sock -s mh",
    ))
    .unwrap();
    assert_eq!(
        p.globals.socket.as_deref(),
        Some("/run/xlvs/lb2.sock".as_ref())
    );
    assert_eq!(
        p.command.clone(),
        parse(&words("-A -t 192.0.2.10:80 -s mh")).unwrap().command
    );
    // Only global options: list, like ipvsadm without arguments.
    assert_eq!(meaning("--node lb1"), "list services");
}

#[test]
fn routing_between_ipvsadm_and_subcommands() {
    let ipvsadm: &[&[&str]] = &[
        &[],
        &["-L", "-n"],
        &["--node", "lb1", "-L"],
        &["--node", "lb1"],
        &["--node=lb1", "--json", "-S"],
        &["--help"],
        &["-h"],
        &["--version"],
    ];
    for args in ipvsadm {
        assert!(is_ipvsadm(args), "{args:?}");
    }
    let subcommands: &[&[&str]] = &[
        &["status"],
        &["--json", "status"],
        &["--node", "lb1", "--json", "ospf", "neighbors"],
        &["--node=lb1", "ospf", "withdraw", "192.0.2.10"],
        &["--socket", "/tmp/x.sock", "dataplane"],
        &["help"],
        &["drain", "web"],
        &["import-keepalived", "keepalived.conf"],
    ];
    for args in subcommands {
        assert!(!is_ipvsadm(args), "{args:?}");
    }
}

#[test]
fn typed_values() {
    let p = parse(&words("-a -u 203.0.113.53:53 -r 10.20.0.5 --fullnat -w 9")).unwrap();
    let IpvsCommand::Op(IpvsOp::AddReal { service, real }) = p.command else {
        panic!("{:?}", p.command)
    };
    assert_eq!(
        service,
        ServiceKey {
            protocol: Protocol::Udp,
            vip: Ipv4Addr::new(203, 0, 113, 53),
            port: 53
        }
    );
    assert_eq!(
        real,
        RealSpec {
            address: Ipv4Addr::new(10, 20, 0, 5),
            port: 53,
            forward: Some(Forward::Fullnat),
            weight: Some(9)
        }
    );
    let p = parse(&words("-A -t 192.0.2.10:0 -s mh -p")).unwrap();
    assert_eq!(
        p.command,
        IpvsCommand::Op(IpvsOp::AddService(ServiceSpec {
            service: ServiceKey {
                protocol: Protocol::Tcp,
                vip: Ipv4Addr::new(192, 0, 2, 10),
                port: 0
            },
            scheduler: Scheduler::Mh,
            persistence: Some(Persistence {
                timeout_s: 360,
                netmask: Ipv4Addr::BROADCAST
            }),
        }))
    );
    assert_eq!(
        parse(&words("--set 900 120 300")).unwrap().command,
        IpvsCommand::Op(IpvsOp::SetTimeouts(Timeouts {
            tcp_s: 900,
            tcpfin_s: 120,
            udp_s: 300
        }))
    );
}

/// A small deterministic generator, so the round trip covers many ops
/// without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn addr(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.next() as u32 | 0x0100_0000)
    }
}

fn random_op(g: &mut Lcg) -> IpvsOp {
    let service = ServiceKey {
        protocol: g.pick(&[Protocol::Tcp, Protocol::Udp]),
        vip: g.addr(),
        port: g.pick(&[0, 1, 53, 80, 443, 8080, 65535]),
    };
    let persistence = |g: &mut Lcg| {
        let masks = [32u32, 31, 24, 16, 8, 1, 0];
        let bits = g.pick(&masks);
        Persistence {
            timeout_s: g.pick(&[1, 60, 300, 360, 86400, Persistence::MAX_TIMEOUT_S]),
            netmask: Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0)),
        }
    };
    let real = |g: &mut Lcg| {
        let forward = g.pick(&[
            None,
            Some(Forward::Dr),
            Some(Forward::Tun),
            Some(Forward::Nat),
            Some(Forward::Fullnat),
        ]);
        let port = match forward {
            Some(f) if !f.maps_ports() => service.port,
            _ => g.pick(&[0, 80, 8080, 65535]),
        };
        RealSpec {
            address: g.addr(),
            port,
            forward,
            weight: g.pick(&[None, Some(0), Some(1), Some(100), Some(65535)]),
        }
    };
    match g.next() % 9 {
        0 | 1 => {
            let spec = ServiceSpec {
                service,
                scheduler: g.pick(&Scheduler::ALL),
                persistence: if service.port == 0 || g.coin() {
                    Some(persistence(g))
                } else {
                    None
                },
            };
            if g.coin() {
                IpvsOp::AddService(spec)
            } else {
                IpvsOp::EditService(spec)
            }
        }
        2 => IpvsOp::DeleteService { service },
        3 => IpvsOp::AddReal {
            service,
            real: real(g),
        },
        4 => IpvsOp::EditReal {
            service,
            real: real(g),
        },
        5 => IpvsOp::DeleteReal {
            service,
            real: real(g).key(),
        },
        6 => IpvsOp::Clear,
        7 => IpvsOp::Zero {
            service: if g.coin() { Some(service) } else { None },
        },
        _ => IpvsOp::SetTimeouts(Timeouts {
            tcp_s: g.pick(&[0, 900, Persistence::MAX_TIMEOUT_S]),
            tcpfin_s: g.pick(&[0, 120]),
            udp_s: g.pick(&[0, 300]),
        }),
    }
}

/// What -S prints, -R reads back as the same op; and the JSON the daemon
/// gets reads back too.
#[test]
fn canonical_lines_round_trip() {
    let mut g = Lcg(7);
    for _ in 0..5000 {
        let op = random_op(&mut g);
        let line = op.to_string();
        let parsed = parse(&words(&line)).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(parsed.command, IpvsCommand::Op(op.clone()), "{line}");
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<IpvsOp>(&json).unwrap(), op, "{json}");
    }
}
