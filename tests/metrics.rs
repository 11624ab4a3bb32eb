//! The Prometheus endpoint of xlvsd (docs/metrics.md) on labs/quickstart,
//! with flow sync (`[cluster]`) between its two directors: real FRR, real
//! nginx reals, client traffic through the VIP. Every scrape is parsed
//! whole by a strict exposition-format parser, and its values are checked
//! against what the control socket says; the endpoint refuses what it
//! should and keeps serving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use xlvs_tests::{control, text, wait_until, Lab};

const VIP: &str = "192.0.2.10";
const URL: &str = "http://127.0.0.1:9478/metrics";
const R1: &str = "10.255.0.1";

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses a whole text-format (0.0.4) body, strictly: every line is blank,
/// a comment, or `name{labels} value [timestamp]`; names and label names
/// are valid; each sample's family has one TYPE given before its samples,
/// and a family's samples are contiguous; no series twice.
fn parse_exposition(body: &str) -> Result<Vec<Sample>, String> {
    if !body.is_empty() && !body.ends_with('\n') {
        return Err("the body does not end with a line feed".into());
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: BTreeSet<String> = BTreeSet::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["HELP", name, ..] => {
                    check_name(name, false).map_err(at)?;
                    if !helps.insert(name.to_string()) {
                        return Err(at("second HELP".into()));
                    }
                }
                ["TYPE", name, kind] => {
                    check_name(name, false).map_err(at)?;
                    let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                    if !kinds.contains(kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if finished.contains(*name) || current.as_deref() == Some(*name) {
                        return Err(at("TYPE after the family's samples".into()));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at("second TYPE".into()));
                    }
                }
                ["HELP" | "TYPE", ..] => return Err(at("incomplete HELP/TYPE".into())),
                _ => {}
            }
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        match types.get(&sample.name).map(String::as_str) {
            Some("counter" | "gauge" | "untyped") => {}
            Some(other) => return Err(at(format!("{other} samples not expected"))),
            None => return Err(at("sample without a TYPE for its family".into())),
        }
        if current.as_deref() != Some(sample.name.as_str()) {
            if finished.contains(&sample.name) {
                return Err(at("family's samples are not contiguous".into()));
            }
            if let Some(done) = current.replace(sample.name.clone()) {
                finished.insert(done);
            }
        }
        if !series.insert(format!("{}{:?}", sample.name, sample.labels)) {
            return Err(at("series listed twice".into()));
        }
        out.push(sample);
    }
    Ok(out)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names; no `:` in label names.
fn check_name(name: &str, label: bool) -> Result<(), String> {
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (c == ':' && !label);
    let ok = |c: char| ok_first(c) || c.is_ascii_digit();
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if ok_first(c) && chars.all(ok) => Ok(()),
        _ => Err(format!("invalid name {name:?}")),
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..end];
    check_name(name, false)?;
    let mut rest = &line[end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let close = loop {
            let (start, c) = chars.next().ok_or("unterminated labels")?;
            if c == '}' {
                break start;
            }
            // a label name, up to '='
            let mut key = String::from(c);
            loop {
                match chars.next().ok_or("unterminated label")? {
                    (_, '=') => break,
                    (_, c) => key.push(c),
                }
            }
            check_name(&key, true)?;
            if chars.next().map(|x| x.1) != Some('"') {
                return Err(format!("label {key}: value not quoted"));
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    c => value.push(c),
                }
            }
            if labels.insert(key.clone(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            match chars.peek().map(|x| x.1) {
                Some(',') => {
                    chars.next();
                }
                Some('}') => {}
                _ => return Err("expected , or } after a label".into()),
            }
        };
        rest = &after[close + 1..];
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut fields = rest.split(' ');
    let value = fields.next().unwrap_or_default();
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v if v.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') => v
            .parse()
            .map_err(|_| format!("value {v:?} is not a float"))?,
        v => return Err(format!("value {v:?} is not a float")),
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("timestamp {ts:?} is not an integer"))?;
    }
    if fields.next().is_some() {
        return Err("trailing text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// The parser must be able to say no, or the lab test proves nothing.
#[test]
fn strict_parser_refuses_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\\n\\\\\",y=\"\"} 3\na_total 4 1700000000000\n# TYPE b gauge\nb -Inf\n";
    let s = parse_exposition(good).unwrap();
    assert_eq!(s[0].labels["x"], "1\"\n\\");
    assert_eq!(s[1].value, 4.0);
    let bad = [
        "a 1\n",                                                   // no TYPE
        "# TYPE a gauge\na 1",                                     // no final line feed
        "# TYPE a gauge\na x\n",                                   // value
        "# TYPE a gauge\na{x=1} 1\n",                              // unquoted
        "# TYPE a gauge\na{x=\"\\t\"} 1\n",                        // escape
        "# TYPE a gauge\na{x=\"1\" 1\n",                           // unterminated
        "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",                  // label twice
        "# TYPE a gauge\na{1x=\"1\"} 1\n",                         // label name
        "# TYPE 1a gauge\n",                                       // metric name
        "# TYPE a gauge\na 1\na 2\n",                              // series twice
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"\"} 1\n", // split family
        "# TYPE a gauge\na 1\n# TYPE a gauge\n",                   // TYPE twice / late
        "# TYPE a wrong\n",                                        // type
        "# TYPE a gauge\na  1\n",                                  // two spaces
        "# TYPE a gauge\na 1 2 3\n",                               // trailing
    ];
    for b in bad {
        assert!(parse_exposition(b).is_err(), "accepted {b:?}");
    }
}

/// A `curl` in a director's namespace.
fn curl(lab: &Lab, lb: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = vec!["curl", "-s", "-m", "10"];
    cmd.extend_from_slice(args);
    lab.exec(lb, &cmd)
}

/// The HTTP status curl got for a request.
fn status_of(lab: &Lab, lb: &str, args: &[&str]) -> String {
    let mut all = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    all.extend_from_slice(args);
    let out = curl(lab, lb, &all);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Scrapes a director: a 200 with the exposition content type, whose
/// whole body parses.
fn scrape(lab: &Lab, lb: &str) -> Vec<Sample> {
    let out = curl(lab, lb, &["-i", URL]);
    assert!(out.status.success(), "{lb}: {}", text(&out));
    let raw = String::from_utf8(out.stdout).expect("UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    parse_exposition(body).unwrap_or_else(|e| panic!("{lb}: {e}\n{body}"))
}

/// Values of the series of `name` whose labels include `with`.
fn values(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Vec<f64> {
    samples
        .iter()
        .filter(|s| s.name == name && with.iter().all(|(k, v)| s.labels[*k] == *v))
        .map(|s| s.value)
        .collect()
}

/// The one value of a series.
#[track_caller]
fn value(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    match values(samples, name, with).as_slice() {
        [v] => *v,
        other => panic!("{name}{with:?}: {other:?}"),
    }
}

fn socket(lb: &str) -> PathBuf {
    Path::new("/run/xlvs").join(format!("{lb}.sock"))
}

/// `before <= metric <= after`: the counter read between two control
/// socket readings.
#[track_caller]
fn between(what: &str, before: u64, metric: f64, after: u64) {
    assert!(
        before as f64 <= metric && metric <= after as f64,
        "{what}: metrics say {metric}, the control socket {before} then {after}"
    );
}

/// [`between`] for each `(metric, key)`: the series of `metric` with
/// `labels`, and `key` of the control socket objects read around it.
#[track_caller]
fn all_between(
    what: &str,
    m: &[Sample],
    labels: &[(&str, &str)],
    (before, after): (&serde_json::Value, &serde_json::Value),
    pairs: &[(&str, &str)],
) {
    for (metric, key) in pairs {
        let stat = |t: &serde_json::Value| t[key].as_u64().unwrap();
        let v = value(m, metric, labels);
        between(&format!("{what} {metric}"), stat(before), v, stat(after));
    }
}

/// Control socket answers around one scrape.
struct Around {
    before: serde_json::Value,
    after: serde_json::Value,
}

fn around(lab: &Lab, lb: &str, command: &str) -> (Vec<Sample>, Around) {
    let ask = || control(&socket(lb), command, &[]).unwrap_or_else(|e| panic!("{lb}: {e}"));
    let before = ask();
    let samples = scrape(lab, lb);
    let after = ask();
    (samples, Around { before, after })
}

/// Where docs/metrics.md puts a counter of the data plane: its family and
/// labels.
fn dataplane_series(counter: &str) -> (&'static str, Vec<(&'static str, &str)>) {
    let action = ["pass", "drop", "tx", "redirect"]
        .into_iter()
        .find(|a| counter.starts_with(&format!("{a}_")));
    if let Some(action) = action {
        return (
            "xlvs_dataplane_packets_total",
            vec![("action", action), ("reason", counter)],
        );
    }
    match counter {
        "conntrack_hit" => (
            "xlvs_dataplane_connection_lookups_total",
            vec![("result", "hit")],
        ),
        "conntrack_new" => (
            "xlvs_dataplane_connection_lookups_total",
            vec![("result", "new")],
        ),
        "flow_cache_hit" => ("xlvs_dataplane_flow_cache_hits_total", vec![]),
        "icmp_to_real" => (
            "xlvs_dataplane_icmp_errors_total",
            vec![("direction", "to_real")],
        ),
        "icmp_to_client" => (
            "xlvs_dataplane_icmp_errors_total",
            vec![("direction", "to_client")],
        ),
        "syn_untracked" => ("xlvs_dataplane_syn_untracked_total", vec![]),
        "toa_added" => (
            "xlvs_dataplane_toa_options_total",
            vec![("result", "added")],
        ),
        "toa_skipped" => (
            "xlvs_dataplane_toa_options_total",
            vec![("result", "skipped")],
        ),
        "proxy_headers" => ("xlvs_dataplane_proxy_headers_total", vec![]),
        "proxy_header_alone" => ("xlvs_dataplane_proxy_header_alone_total", vec![]),
        "proxy_dropped" => ("xlvs_dataplane_proxy_dropped_total", vec![]),
        "sync_ring_full" => ("xlvs_sync_ring_full_total", vec![]),
        "next_hop_hit" => ("xlvs_dataplane_next_hops_total", vec![("result", "map")]),
        "next_hop_fallback" => ("xlvs_dataplane_next_hops_total", vec![("result", "fib")]),
        other => panic!("{other}: not in docs/metrics.md"),
    }
}

/// Every family docs/metrics.md's tables name, with the labels they give
/// ("service" and "real" stand for those label sets). Names with a `*`
/// are left out.
fn documented_families() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(xlvs_tests::workspace().join("docs/metrics.md")).unwrap();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut out = BTreeMap::new();
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // The IPVS table starts with node_exporter's name.
        let (names, labels) = if cells[1].starts_with("`node_") {
            (cells[2], cells[4])
        } else {
            (cells[1], cells[3])
        };
        // Parentheses say more of a label (its values): left out.
        let mut depth = 0;
        let labels: String = labels
            .chars()
            .filter(|c| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => return depth == 0,
                }
                false
            })
            .collect();
        let labels = labels.trim();
        let mut set: BTreeSet<String> = match labels {
            "service" => ["service", "vip", "port", "proto"].map(String::from).into(),
            "real" => ["service", "vip", "port", "proto", "real", "real_port"]
                .map(String::from)
                .into(),
            l => ticked(l).into_iter().collect(),
        };
        set.retain(|l| !l.is_empty());
        for name in ticked(names).into_iter().filter(|n| !n.contains('*')) {
            out.insert(name, set.clone());
        }
    }
    out
}

/// Parses a scrape with the Prometheus client library's own parser
/// (python3-prometheus-client) in the director's namespace: each sample
/// name with the label names its series carry.
fn parsed_by_prometheus(lab: &Lab, lb: &str) -> BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    const PARSE: &str = r#"
import json, urllib.request
from prometheus_client.parser import text_string_to_metric_families
body = urllib.request.urlopen("http://127.0.0.1:9478/metrics", timeout=10).read().decode()
out = {}
for f in text_string_to_metric_families(body):
    # The library names a counter's family without its _total.
    name = f.name + ("_total" if f.type == "counter" else "")
    out.setdefault(name, [])
    for s in f.samples:
        out.setdefault(s.name, []).append(sorted(s.labels))
print(json.dumps(out))
"#;
    // Debian's python3, which has the library (another python3 may come
    // first on PATH).
    let out = lab.exec(lb, &["/usr/bin/python3", "-c", PARSE]);
    assert!(
        out.status.success(),
        "{lb}: the parser refused the scrape: {}",
        text(&out)
    );
    let parsed: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_slice(&out.stdout).expect("the parser's JSON");
    parsed
        .into_iter()
        .map(|(name, sets)| {
            let sets = sets.into_iter().map(|s| s.into_iter().collect()).collect();
            (name, sets)
        })
        .collect()
}

/// The quickstart's directors sync their flows (DR entries) with each
/// other: `[cluster]` added to a copy of the lab. Started together, lb1
/// (the lower sync address) starts without a table once it has heard lb2
/// Joining, and lb2 fetches lb1's table: neither waits for `bulk_timeout`,
/// two minutes here, twice what the VIPs' routes are awaited for.
fn quickstart_with_cluster() -> tempfile::TempDir {
    let dir = xlvs_tests::quickstart_copy();
    for (lb, peer) in [("lb1", "10.0.1.12"), ("lb2", "10.0.1.11")] {
        let config = dir.path().join(format!("quickstart/{lb}.toml"));
        let mut text = std::fs::read_to_string(&config).unwrap();
        let key = "quickstart-metrics-sync-key";
        text.push_str(&xlvs_tests::cluster_toml("eth1", &[peer], key));
        text.push_str("bulk_timeout = \"120s\"\n");
        std::fs::write(&config, text).unwrap();
    }
    dir
}

/// The other director of the quickstart: its name and sync address.
fn peer_of(lb: &str) -> (&'static str, &'static str) {
    match lb {
        "lb1" => ("lb2", "10.0.1.12"),
        _ => ("lb1", "10.0.1.11"),
    }
}

/// The sync families against `xlvsadm sync` (the control socket's `sync`)
/// read around the scrape. Returns (published, installed) as scraped.
fn check_sync(lab: &Lab, lb: &str) -> (f64, f64) {
    let (m, sync) = around(lab, lb, "sync");
    let (name, addr) = peer_of(lb);
    let peer = [("peer", addr)];
    assert_eq!(
        value(&m, "xlvs_sync_peer_up", &[("peer", addr), ("name", name)]),
        1.0,
        "{lb}: {name} up"
    );
    let heard = value(&m, "xlvs_sync_peer_last_heard_seconds", &peer);
    assert!(
        (0.0..3.0).contains(&heard),
        "{lb}: {name} heard {heard} s ago"
    );
    let p = |r: &serde_json::Value| r["protocol"].clone();
    all_between(
        lb,
        &m,
        &[],
        (&p(&sync.before), &p(&sync.after)),
        &[
            ("xlvs_sync_datagrams_sent_total", "datagrams_sent"),
            ("xlvs_sync_entries_sent_total", "entries_sent"),
        ],
    );
    let counters = |r: &serde_json::Value| r["protocol"]["peers"][0]["counters"].clone();
    assert_eq!(sync.after["protocol"]["peers"][0]["addr"], addr);
    all_between(
        &format!("{lb} from {name}"),
        &m,
        &peer,
        (&counters(&sync.before), &counters(&sync.after)),
        &[
            ("xlvs_sync_datagrams_received_total", "datagrams_received"),
            ("xlvs_sync_entries_received_total", "entries_received"),
        ],
    );
    // Every reason, for the peer and for unknown senders.
    let drops = |r: &serde_json::Value| counters(r)["drops"].clone();
    let reasons: Vec<String> = drops(&sync.after)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        values(&m, "xlvs_sync_drops_total", &[]).len(),
        2 * reasons.len()
    );
    for reason in &reasons {
        let labels = [("peer", addr), ("reason", reason.as_str())];
        let (before, after) = (drops(&sync.before), drops(&sync.after));
        let v = value(&m, "xlvs_sync_drops_total", &labels);
        between(
            &format!("{lb} drops {reason}"),
            before[reason].as_u64().unwrap(),
            v,
            after[reason].as_u64().unwrap(),
        );
        let unknown =
            |r: &serde_json::Value| r["protocol"]["unknown_drops"][reason].as_u64().unwrap();
        let v = value(
            &m,
            "xlvs_sync_drops_total",
            &[("peer", "unknown"), ("reason", reason)],
        );
        between(
            &format!("{lb} unknown drops {reason}"),
            unknown(&sync.before),
            v,
            unknown(&sync.after),
        );
    }
    let table = |r: &serde_json::Value| r["table"].clone();
    let (before, after) = (table(&sync.before), table(&sync.after));
    for result in ["installed", "refreshed", "removed"] {
        let v = value(&m, "xlvs_sync_entries_total", &[("result", result)]);
        let n = |t: &serde_json::Value| t[result].as_u64().unwrap();
        between(&format!("{lb} {result}"), n(&before), v, n(&after));
    }
    for (why, n) in after["not_installed"].as_object().unwrap() {
        // A reason first counted after the scrape has no series in it.
        let v = values(&m, "xlvs_sync_entries_total", &[("result", why)]);
        let v = v.first().copied().unwrap_or(0.0);
        let was = before["not_installed"][why].as_u64().unwrap_or(0);
        between(
            &format!("{lb} not installed {why}"),
            was,
            v,
            n.as_u64().unwrap(),
        );
    }
    all_between(
        lb,
        &m,
        &[],
        (&before, &after),
        &[
            ("xlvs_sync_published_total", "published"),
            ("xlvs_sync_ring_full_total", "ring_full"),
        ],
    );
    // Started together: lb1 went first without a table, lb2 fetched it
    // (docs/sync.md, Start).
    let status = sync.after["protocol"]["bulk"]["status"].as_str().unwrap();
    let started = if lb == "lb1" { "alone" } else { "done" };
    assert_eq!(status, started, "{lb}");
    let current: Vec<&str> = m
        .iter()
        .filter(|s| s.name == "xlvs_sync_table_transfer" && s.value == 1.0)
        .map(|s| s.labels["status"].as_str())
        .collect();
    assert_eq!(current, [status], "{lb}");
    assert_eq!(values(&m, "xlvs_sync_table_transfer", &[]).len(), 6);
    let fetched = sync.after["protocol"]["bulk"]["entries"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        value(&m, "xlvs_sync_table_entries", &[]),
        fetched as f64,
        "{lb}"
    );
    (
        value(&m, "xlvs_sync_published_total", &[]),
        value(&m, "xlvs_sync_entries_total", &[("result", "installed")]),
    )
}

#[test]
fn metrics_endpoint_parses_and_matches_the_control_socket() {
    let dir = quickstart_with_cluster();
    let lab = Lab::up(&dir.path().join("quickstart.clab.yml"));
    lab.wait_nexthops(
        "r1",
        VIP,
        &["10.0.1.11", "10.0.1.12"],
        Duration::from_secs(60),
    );
    wait_until("first HTTP answer", Duration::from_secs(20), || {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "2", &format!("http://{VIP}/")],
        );
        out.status.success().then_some(()).ok_or_else(|| text(&out))
    });
    const REQUESTS: u64 = 20;
    for _ in 0..REQUESTS {
        let out = lab.exec(
            "client",
            &["curl", "-s", "-m", "3", &format!("http://{VIP}/")],
        );
        assert!(out.status.success(), "{}", text(&out));
    }

    let (mut conns, mut packets) = (0.0, 0.0);
    let (mut published, mut installed) = (0.0, 0.0);
    for lb in ["lb1", "lb2"] {
        // Flow sync, against xlvsadm sync.
        let (p, i) = check_sync(&lab, lb);
        published += p;
        installed += i;

        // Services and reals, against ipvs.list (xlvsadm -L -n --stats).
        let (m, table) = around(&lab, lb, "ipvs.list");
        for (i, svc) in table.after["services"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let port = svc["port"].to_string();
            let labels = [
                ("vip", VIP),
                ("port", port.as_str()),
                ("proto", "TCP"),
                ("service", "web"),
            ];
            let before = &table.before["services"][i];
            all_between(
                &format!("{lb} port {port}"),
                &m,
                &labels,
                (&before["stats"], &svc["stats"]),
                &[
                    ("xlvs_service_packets_in_total", "in_pkts"),
                    ("xlvs_service_bytes_in_total", "in_bytes"),
                    ("xlvs_service_connections_total", "conns"),
                ],
            );
            if port == "80" {
                conns += value(&m, "xlvs_service_connections_total", &labels);
                packets += value(&m, "xlvs_service_packets_in_total", &labels);
            }
            for (j, real) in svc["reals"].as_array().unwrap().iter().enumerate() {
                let addr = real["address"].as_str().unwrap();
                let rport = real["port"].to_string();
                let mut labels = labels.to_vec();
                labels.extend([("real", addr), ("real_port", rport.as_str())]);
                let before = &before["reals"][j];
                all_between(
                    &format!("{lb} {addr} port {port}"),
                    &m,
                    &labels,
                    (&before["stats"], &real["stats"]),
                    &[
                        ("xlvs_real_packets_in_total", "in_pkts"),
                        ("xlvs_real_bytes_in_total", "in_bytes"),
                        ("xlvs_real_connections_total", "conns"),
                    ],
                );
                assert_eq!(value(&m, "xlvs_real_up", &labels), 1.0, "{lb} {addr}");
                assert_eq!(value(&m, "xlvs_real_weight", &labels), 1.0, "{lb} {addr}");
                assert_eq!(value(&m, "xlvs_real_weight_configured", &labels), 1.0);
            }
        }
        assert_eq!(
            values(&m, "xlvs_service_packets_in_total", &[]).len(),
            2,
            "ports 80 and 7"
        );
        assert_eq!(
            value(&m, "xlvs_vip_announced", &[("vip", VIP)]),
            1.0,
            "{lb}"
        );
        assert_eq!(value(&m, "xlvs_vip_ready", &[("vip", VIP)]), 1.0, "{lb}");
        for collector in ["ospf", "dataplane"] {
            let c = [("collector", collector)];
            assert_eq!(value(&m, "xlvs_scrape_collector_success", &c), 1.0);
        }

        // Every data plane counter, against dataplane.stats, in the family
        // docs/metrics.md puts it in.
        let (m, stats) = around(&lab, lb, "dataplane.stats");
        let counters = stats.after.as_object().unwrap();
        let outcomes = counters.keys().filter(|c| {
            ["pass_", "drop_", "tx_", "redirect_"]
                .iter()
                .any(|p| c.starts_with(p))
        });
        assert_eq!(
            values(&m, "xlvs_dataplane_packets_total", &[]).len(),
            outcomes.count()
        );
        for (counter, after) in counters {
            let (metric, labels) = dataplane_series(counter);
            let v = value(&m, metric, &labels);
            let before = stats.before[counter].as_u64().unwrap();
            between(
                &format!("{lb} {counter}"),
                before,
                v,
                after.as_u64().unwrap(),
            );
        }
        // node_exporter's ipvs families say what ours say.
        let ipvs = values(&m, "xlvs_ipvs_backend_connections_active", &[]);
        assert_eq!(ipvs.len(), 4, "two reals on two ports: {ipvs:?}");
        for real in ["10.0.1.21", "10.0.1.22"] {
            for port in ["80", "7"] {
                let ours = [("real", real), ("port", port)];
                let theirs = [
                    ("local_address", VIP),
                    ("local_port", port),
                    ("remote_address", real),
                    ("remote_port", port),
                    ("proto", "TCP"),
                    ("local_mark", ""),
                ];
                assert_eq!(
                    value(&m, "xlvs_ipvs_backend_weight", &theirs),
                    value(&m, "xlvs_real_weight", &ours)
                );
                let active = value(&m, "xlvs_ipvs_backend_connections_active", &theirs);
                let inactive = value(&m, "xlvs_ipvs_backend_connections_inactive", &theirs);
                assert_eq!(active, value(&m, "xlvs_real_connections_active", &ours));
                assert_eq!(inactive, value(&m, "xlvs_real_connections_inactive", &ours));
            }
        }
        let sum = |metric: &str| values(&m, metric, &[]).iter().sum::<f64>();
        assert_eq!(
            value(&m, "xlvs_ipvs_incoming_packets_total", &[]),
            sum("xlvs_service_packets_in_total")
        );
        assert_eq!(
            value(&m, "xlvs_ipvs_connections_total", &[]),
            sum("xlvs_service_connections_total")
        );
        // The connection table: the listing's size, and entries for the
        // connections just made.
        let table = control(&socket(lb), "ipvs.list", &[]).unwrap();
        assert_eq!(
            value(&m, "xlvs_conntrack_capacity", &[]),
            table["conn_table_size"].as_f64().unwrap()
        );
        let entries = value(&m, "xlvs_conntrack_entries", &[]);
        let live = value(&m, "xlvs_conntrack_entries_live", &[]);
        assert!(
            entries >= live && live >= 1.0,
            "{lb}: {entries} entries, {live} live"
        );
        assert!(value(&m, "process_resident_memory_bytes", &[]) > 1e6);
        assert!(value(&m, "process_open_fds", &[]) >= 3.0);

        // OSPF: r1 is Full; the neighbors and counters are the speaker's.
        let (m, ospf) = around(&lab, lb, "ospf.stats");
        all_between(
            lb,
            &m,
            &[],
            (&ospf.before, &ospf.after),
            &[
                ("xlvs_ospf_packets_received_total", "rx_packets"),
                ("xlvs_ospf_packets_sent_total", "tx_packets"),
                ("xlvs_ospf_packets_malformed_total", "malformed"),
                ("xlvs_ospf_auth_failures_total", "auth_failures"),
                ("xlvs_ospf_lsa_checksum_errors_total", "bad_lsa_checksums"),
            ],
        );
        assert!(value(&m, "xlvs_ospf_packets_received_total", &[]) > 0.0);
        let state = [
            ("interface", "eth1"),
            ("neighbor", R1),
            ("address", "10.0.1.1"),
        ];
        assert_eq!(
            value(&m, "xlvs_ospf_neighbor_state", &state),
            8.0,
            "{lb}: r1 Full"
        );
        let neighbors = control(&socket(lb), "ospf.neighbors", &[]).unwrap();
        let listed: BTreeSet<String> = neighbors
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["router_id"].as_str().unwrap().to_string())
            .collect();
        let exported: BTreeSet<String> = m
            .iter()
            .filter(|s| s.name == "xlvs_ospf_neighbor_state")
            .map(|s| s.labels["neighbor"].clone())
            .collect();
        assert_eq!(exported, listed, "{lb}");
        assert!(
            value(
                &m,
                "xlvs_ospf_interface_adjacencies",
                &[("interface", "eth1")]
            ) >= 1.0
        );
    }
    // Every family the docs name is served, with the labels they give,
    // as Prometheus's own parser reads the scrape.
    let documented = documented_families();
    assert!(documented.len() > 40, "{documented:?}");
    for lb in ["lb1", "lb2"] {
        let parsed = parsed_by_prometheus(&lab, lb);
        for (family, labels) in &documented {
            let served = parsed
                .get(family)
                .unwrap_or_else(|| panic!("{lb}: {family} is documented, not served"));
            for set in served {
                assert_eq!(set, labels, "{lb}: {family}'s labels");
            }
        }
        println!(
            "{lb}: the {} documented families are served as documented",
            documented.len()
        );
    }

    // A refused reload shows, and the next good one clears it.
    let config = dir.path().join("quickstart/lb1.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let loaded = value(
        &scrape(&lab, "lb1"),
        "xlvs_config_last_reload_success_timestamp_seconds",
        &[],
    );
    std::fs::write(&config, format!("{good}\n[oops\n")).unwrap();
    let refused = control(&socket("lb1"), "reload", &[]);
    // Put back at once: xlvs-lab (exec, down) checks the lab's files.
    std::fs::write(&config, &good).unwrap();
    refused.expect_err("a broken file");
    let m = scrape(&lab, "lb1");
    assert_eq!(value(&m, "xlvs_config_last_reload_successful", &[]), 0.0);
    assert_eq!(
        value(&m, "xlvs_config_last_reload_success_timestamp_seconds", &[]),
        loaded
    );
    control(&socket("lb1"), "reload", &[]).expect("the file again");
    let m = scrape(&lab, "lb1");
    assert_eq!(value(&m, "xlvs_config_last_reload_successful", &[]), 1.0);
    assert!(value(&m, "xlvs_config_last_reload_success_timestamp_seconds", &[]) > loaded);

    // ECMP may give one director every flow: the sum counts.
    assert!(packets > 0.0, "no packet counted");
    // Every connection's entry was published by the director that made it
    // and installed by the other (the health checks' flows are not for a
    // VIP and are not synced).
    assert!(
        published >= (REQUESTS + 1) as f64,
        "{published} entries published for {} connections",
        REQUESTS + 1
    );
    assert!(installed >= 1.0, "no entry installed from a peer");
    assert!(
        conns >= (REQUESTS + 1) as f64,
        "{conns} HTTP connections counted for {} requests",
        REQUESTS + 1
    );

    // What the endpoint refuses, and it keeps serving.
    assert_eq!(status_of(&lab, "lb1", &["http://127.0.0.1:9478/"]), "404");
    assert_eq!(
        status_of(&lab, "lb1", &["http://127.0.0.1:9478/metricsx"]),
        "404"
    );
    assert_eq!(status_of(&lab, "lb1", &["-X", "POST", URL]), "405");
    assert_eq!(status_of(&lab, "lb1", &["-I", URL]), "200");
    let big = format!("X-Big: {}", "a".repeat(64 * 1024));
    assert_eq!(status_of(&lab, "lb1", &["-H", &big, URL]), "431");
    // A client that never finishes its request gets 408, and holds no one
    // else up meanwhile.
    const SLOW: &str = "import socket\n\
        s = socket.create_connection(('127.0.0.1', 9478))\n\
        s.sendall(b'GET /metr')\n\
        s.settimeout(30)\n\
        data = b''\n\
        while True:\n    d = s.recv(4096)\n    if not d: break\n    data += d\n\
        print(data.decode(errors='replace'))\n";
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| lab.exec("lb1", &["python3", "-c", SLOW]));
        std::thread::sleep(Duration::from_secs(1));
        assert!(!scrape(&lab, "lb1").is_empty());
        let out = slow.join().unwrap();
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(answer.starts_with("HTTP/1.1 408"), "{}", text(&out));
    });
    assert!(!scrape(&lab, "lb1").is_empty(), "endpoint still serves");

    // A real whose nginx stops shows as down, on both of its ports.
    lab.stop_nginx("web1");
    let real = |m: &[Sample], metric: &str, addr: &str| -> Vec<f64> {
        values(m, metric, &[("real", addr), ("service", "web")])
    };
    let m = wait_until("web1 down in the metrics", Duration::from_secs(20), || {
        let m = scrape(&lab, "lb1");
        let up = real(&m, "xlvs_real_up", "10.0.1.21");
        (up == [0.0, 0.0])
            .then_some(m)
            .ok_or(format!("xlvs_real_up {up:?}"))
    });
    assert_eq!(real(&m, "xlvs_real_weight", "10.0.1.21"), [0.0, 0.0]);
    assert_eq!(
        real(&m, "xlvs_real_weight_configured", "10.0.1.21"),
        [1.0, 1.0]
    );
    assert_eq!(real(&m, "xlvs_real_up", "10.0.1.22"), [1.0, 1.0]);
    let health = control(&socket("lb1"), "health", &[]).unwrap();
    assert!(
        health
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["real"] == "10.0.1.21")
            .all(|r| r["usable"] == false),
        "{health:#}"
    );
    // web2 still serves: the VIP stays announced.
    assert_eq!(value(&m, "xlvs_vip_announced", &[("vip", VIP)]), 1.0);
}
