//! The xlvsadm binary end to end: exit statuses, the routing between
//! ipvsadm lines and subcommands, and the requests it sends to a fake
//! daemon on a Unix socket (no root, no xlvsd needed).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

fn xlvsadm(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xlvsadm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A daemon that answers every request from `answer` and keeps the
/// requests it got.
struct FakeDaemon {
    path: PathBuf,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeDaemon {
    fn start(name: &str, answer: fn(&Value) -> Value) -> FakeDaemon {
        let dir = std::env::temp_dir().join(format!("xlvsadm-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lb.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_err() {
                    continue;
                }
                let request: Value = serde_json::from_str(&line).unwrap();
                let response = answer(&request);
                seen.lock().unwrap().push(request);
                let _ = writeln!(stream, "{response}");
            }
        });
        FakeDaemon { path, requests }
    }

    fn socket(&self) -> &str {
        self.path.to_str().unwrap()
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn table() -> Value {
    json!({
        "version": "xlvs 0.1.0", "conn_table_size": 1048576,
        "timeouts": {"tcp_s": 900, "tcpfin_s": 120, "udp_s": 300},
        "services": [{
            "name": "web", "protocol": "TCP", "vip": "192.0.2.10", "port": 80,
            "scheduler": "mh", "persistent": null,
            "stats": {"conns": 0, "in_pkts": 0, "out_pkts": 0, "in_bytes": 0, "out_bytes": 0},
            "rate": {"cps": 0, "in_pps": 0, "out_pps": 0, "in_bps": 0, "out_bps": 0},
            "reals": [{"address": "10.0.1.21", "port": 80, "forward": "Route", "weight": 100,
                       "active_conns": 2, "inactive_conns": 1}]
        }],
        "connections": []
    })
}

fn answer(request: &Value) -> Value {
    match request["command"].as_str() {
        Some("ipvs.list") => json!({"ok": true, "data": table()}),
        Some("ipvs") if request["args"][0].as_str().unwrap().contains("10.0.1.99") => {
            json!({"ok": false, "error": "no such real server"})
        }
        Some("drain") => json!({"ok": true, "data": {"services": ["web"], "drained": true}}),
        Some("undrain") => json!({"ok": true, "data": {"services": ["web"], "drained": false}}),
        Some("reload") => json!({"ok": true, "data": {"reloaded": "nothing changed"}}),
        Some("health") => json!({"ok": true, "data": []}),
        _ => json!({"ok": true, "data": null}),
    }
}

#[test]
fn list_through_the_socket() {
    let d = FakeDaemon::start("list", answer);
    let o = xlvsadm(&["--socket", d.socket(), "-L", "-n"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "IP Virtual Server version xlvs 0.1.0 (size=1048576)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  192.0.2.10:80 mh\n  \
         -> 10.0.1.21:80                 Route   100    2          1         \n"
    );
    assert_eq!(
        d.requests(),
        [json!({"version": 1, "command": "ipvs.list", "args": []})]
    );
}

#[test]
fn a_change_and_a_refusal() {
    let d = FakeDaemon::start("change", answer);
    let o = xlvsadm(
        &[
            "-A",
            "-t",
            "192.0.2.10:80",
            "-s",
            "mh",
            "--socket",
            d.socket(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let o = xlvsadm(
        &[
            "--socket",
            d.socket(),
            "-d",
            "-t",
            "192.0.2.10:80",
            "-r",
            "10.0.1.99",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "xlvsadm: xlvsd: no such real server\n");
    let r = d.requests();
    assert_eq!(r[0]["command"], "ipvs");
    let op: Value = serde_json::from_str(r[0]["args"][0].as_str().unwrap()).unwrap();
    assert_eq!(
        op,
        json!({"op": "add_service", "service": {"protocol": "TCP", "vip": "192.0.2.10", "port": 80},
               "scheduler": "mh", "persistence": null})
    );
}

#[test]
fn restore_from_stdin() {
    let d = FakeDaemon::start("restore", answer);
    let saved = xlvsadm(&["--socket", d.socket(), "-S", "-n"], "");
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert_eq!(
        stdout(&saved),
        "-A -t 192.0.2.10:80 -s mh\n-a -t 192.0.2.10:80 -r 10.0.1.21:80 -g -w 100\n"
    );
    let o = xlvsadm(&["--socket", d.socket(), "-R"], &stdout(&saved));
    assert!(o.status.success(), "{}", stderr(&o));
    let ops: Vec<String> = d.requests()[1..]
        .iter()
        .map(|r| {
            let op: Value = serde_json::from_str(r["args"][0].as_str().unwrap()).unwrap();
            op["op"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ops, ["add_service", "add_real"]);
}

#[test]
fn subcommands_still_route_to_clap() {
    let d = FakeDaemon::start("sub", answer);
    let o = xlvsadm(&["--socket", d.socket(), "drain", "web"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "drained: web\n");
    let o = xlvsadm(&["--socket", d.socket(), "--json", "reload"], "");
    assert_eq!(stdout(&o), "{\n  \"reloaded\": \"nothing changed\"\n}\n");
    let o = xlvsadm(&["--socket", d.socket(), "health"], "");
    assert!(o.status.success());
    assert_eq!(stdout(&o), "no services\n");
    let o = xlvsadm(&["--socket", d.socket(), "undrain"], "");
    assert!(o.status.success());
    assert_eq!(stdout(&o), "undrained: web\n");
    let commands: Vec<Value> = d
        .requests()
        .iter()
        .map(|r| json!([r["command"], r["args"]]))
        .collect();
    assert_eq!(
        commands,
        [
            json!(["drain", ["web"]]),
            json!(["reload", []]),
            json!(["health", []]),
            json!(["undrain", []])
        ]
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = xlvsadm(&["-A", "-t", "172.18.134.134", "-s", "wrr"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "xlvsadm: -t 172.18.134.134: port 0 (every port of the VIP) needs a persistent service: add -p, or give a port\n\
         Try `xlvsadm -h' or `xlvsadm help' for more information.\n"
    );
    let o = xlvsadm(&["-set", "30", "5", "60"], "");
    assert_eq!(o.status.code(), Some(2));
    // clap's usage errors are 2 as well.
    let o = xlvsadm(&["bogus"], "");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_daemon_is_exit_1_and_help_needs_none() {
    let o = xlvsadm(&["--socket", "/nonexistent/lb.sock", "-L", "-n"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/lb.sock"),
        "{}",
        stderr(&o)
    );
    let o = xlvsadm(&["-h"], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("xlvsadm -A|-E -t|-u VIP[:PORT]"));
    let o = xlvsadm(&["--version"], "");
    assert!(stdout(&o).starts_with("xlvsadm v"));
}

#[test]
fn import_keepalived_prints_valid_toml_and_names_what_it_dropped() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let o = xlvsadm(
        &[
            "import-keepalived",
            &format!("{fixtures}/seed003-dr-http.conf"),
            "--node-template",
            &format!("{fixtures}/node-template.toml"),
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    xlvs_config::parse(&stdout(&o), "stdout").unwrap();
    assert!(stderr(&o)
        .contains("not carried over: virtual_server 192.168.150.100 80: nat_mask 255.255.255.0"));
    // From stdin too.
    let text = std::fs::read_to_string(format!("{fixtures}/udp-dns-misc.conf")).unwrap();
    let o = xlvsadm(&["import-keepalived", "-"], &text);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = xlvsadm(&["import-keepalived", "/nonexistent.conf"], "");
    assert_eq!(o.status.code(), Some(1));
}
