//! One test per validation rule: each asserts the line (marked `# <-` in the
//! text), the key path and a fragment of the message.

use std::time::Duration;

use xlvs_config::*;

/// A valid node without services.
const HEAD: &str = EXAMPLE_NODE;

/// A valid service; text appended after it lands in its `[[service.real]]`.
const WEB: &str = r#"
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]
[[service.real]]
address = "10.0.1.21"
"#;

const MARK: &str = "# <-";

fn errors_of(text: &str) -> ConfigErrors {
    match parse(text, "t.toml") {
        Ok(config) => panic!("expected errors, got {config:#?}\n--- text:\n{text}"),
        Err(errors) => errors,
    }
}

/// Asserts an error at `path` on the line marked with `# <-`, whose message
/// contains `fragment`; returns all errors for further checks.
#[track_caller]
fn expect_error(text: &str, path: &str, fragment: &str) -> ConfigErrors {
    let line = text
        .lines()
        .position(|l| l.contains(MARK))
        .expect("test text has no `# <-` marker")
        + 1;
    let errors = errors_of(text);
    let found = errors.iter().any(|e| {
        e.path.to_string() == path && e.line() == line && e.kind.to_string().contains(fragment)
    });
    assert!(
        found,
        "no error at line {line}, key {path}, containing {fragment:?}; got:\n{errors}\n--- text:\n{text}"
    );
    errors
}

/// `text` with the first `from` replaced, which must exist.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the text");
    text.replacen(from, to, 1)
}

fn web() -> String {
    format!("{HEAD}{WEB}")
}

#[test]
fn baseline_is_valid() {
    let c = parse(&web(), "t.toml").unwrap();
    let s = &c.services[0];
    assert_eq!(s.reals[0].weight, 1);
    assert_eq!(s.quorum, 1);
    assert_eq!(
        (s.scheduler, s.forward, s.protocol),
        (Scheduler::Mh, Forward::Dr, Protocol::Tcp)
    );
    assert_eq!(s.health.check, HealthCheck::Tcp);
    let itf = &c.ospf.interfaces[0];
    assert_eq!(itf.hello_interval.as_secs(), 10);
    assert_eq!(itf.dead_interval.as_secs(), 40);
    assert_eq!(itf.cost, 10);
}

/// Every scheduler ipvsadm names is valid, with persistence and a mask
/// or without (persistence does not depend on the scheduler).
#[test]
fn every_scheduler_with_and_without_persistence() {
    for sched in Scheduler::ALL {
        let plain = edit(
            &web(),
            "ports = [80]",
            &format!("ports = [80]\nscheduler = \"{sched}\""),
        );
        let c = parse(&plain, "t.toml").unwrap_or_else(|e| panic!("{sched}: {e}"));
        assert_eq!(
            (c.services[0].scheduler, c.services[0].persistence),
            (sched, None)
        );

        let persistent = edit(
            &plain,
            "ports = [80]",
            "ports = [80]\npersistence = \"120s\"\npersistence_mask = \"255.255.255.0\"",
        );
        let c = parse(&persistent, "t.toml").unwrap_or_else(|e| panic!("{sched}: {e}"));
        assert_eq!(
            c.services[0].persistence,
            Some(Persistence {
                timeout: Duration::from_secs(120),
                mask: "255.255.255.0".parse().unwrap(),
            }),
            "{sched}"
        );
    }
}

// --- display and positions ---

#[test]
fn display_format() {
    let text = format!("{}weight = 70000\n", web());
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors.as_slice()[0].to_string(),
        "t.toml:19:10: service[0].real[0].weight: 70000 is out of range 0..=65535"
    );
}

#[test]
fn all_errors_are_reported_in_file_order() {
    let text = edit(&web(), "name = \"lb1\"", "name = \"\"");
    let text = format!("{text}weight = -1\nport = 8080\n");
    let errors = errors_of(&text);
    let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "node.name",
            "service[0].real[0].weight",
            "service[0].real[0].port"
        ]
    );
}

#[test]
fn schema_errors_in_sibling_tables_are_all_reported() {
    let text = format!(
        "{HEAD}\n[[service]]\nname = \"a\"\nvip = \"192.0.2.10\"\nports = [80]\n\
         [[service.real]]\naddress = \"10.0.1.1\"\nwieght = 1\n\
         [[service.real]]\naddress = \"10.0.1.2\"\nwieght = 2\n\
         [service.health]\ncheck = \"tcpp\"\n"
    );
    let errors = errors_of(&text);
    let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "service[0].real[0].wieght",
            "service[0].real[1].wieght",
            "service[0].health.check"
        ]
    );
}

#[test]
fn unreadable_file() {
    let errors = load(std::path::Path::new("/nonexistent/xlvs.toml")).unwrap_err();
    let e = &errors.as_slice()[0];
    assert_eq!(e.position, None);
    assert!(matches!(e.kind, ErrorKind::Read(_)));
    assert!(e
        .to_string()
        .starts_with("/nonexistent/xlvs.toml: cannot read the file"));
}

// --- syntax and schema ---

#[test]
fn syntax_error() {
    let text = format!("{}weight = = 3 {MARK}\n", web());
    let errors = errors_of(&text);
    let e = &errors.as_slice()[0];
    assert!(matches!(e.kind, ErrorKind::Syntax(_)), "{errors}");
    assert_eq!(e.line(), 19);
}

#[test]
fn unknown_key_top_level() {
    let text = format!("{}[nodes] {MARK}\n", web());
    expect_error(&text, "nodes", "unknown key");
}

#[test]
fn unknown_key_in_node() {
    let text = edit(
        &web(),
        "name = \"lb1\"",
        "name = \"lb1\"\nrouterid = 1 # <-",
    );
    expect_error(
        &text,
        "node.routerid",
        "expected one of `name`, `router_id`, `control_socket`",
    );
}

#[test]
fn unknown_key_in_real() {
    let text = format!("{}wieght = 3 {MARK}\n", web());
    let errors = expect_error(&text, "service[0].real[0].wieght", "expected one of");
    assert_eq!(errors.as_slice()[0].column(), 1);
}

#[test]
fn unknown_key_in_health() {
    let text = format!(
        "{}[service.health]\ncheck = \"http\"\nstatus = 200 {MARK}\n",
        web()
    );
    expect_error(&text, "service[0].health.status", "unknown key");
}

#[test]
fn unknown_key_in_ospf_interface() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nhello = \"1s\" # <-",
    );
    expect_error(&text, "ospf.interface[0].hello", "unknown key");
}

#[test]
fn unknown_key_in_auth() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nauth = { type = \"md5\", key_id = 1, key = \"k\", algo = 1 } # <-",
    );
    expect_error(&text, "ospf.interface[0].auth.algo", "unknown key");
}

#[test]
fn bad_address() {
    let text = edit(&web(), "vip = \"192.0.2.10\"", "vip = \"192.0.2.300\" # <-");
    expect_error(&text, "service[0].vip", "invalid IPv4 address");
}

#[test]
fn ipv6_address_is_rejected() {
    let text = edit(
        &web(),
        "address = \"10.0.1.21\"",
        "address = \"2001:db8::1\" # <-",
    );
    expect_error(&text, "service[0].real[0].address", "IPv4-only");
}

#[test]
fn bad_enum_value() {
    let text = format!("{}[service.health]\ncheck = \"ping\" {MARK}\n", web());
    expect_error(&text, "service[0].health.check", "unknown variant `ping`");
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nscheduler = \"fastest\" # <-",
    );
    expect_error(&text, "service[0].scheduler", "expected one of `mh`");
}

#[test]
fn bad_duration() {
    let text = format!(
        "{}[service.health]\ninterval = \"2 parsecs\" {MARK}\n",
        web()
    );
    expect_error(&text, "service[0].health.interval", "invalid duration");
    let text = format!("{}[service.health]\ninterval = 2 {MARK}\n", web());
    expect_error(&text, "service[0].health.interval", "duration string");
}

#[test]
fn wrong_type() {
    let text = edit(&web(), "ports = [80]", "ports = 80 # <-");
    expect_error(&text, "service[0].ports", "invalid type");
}

#[test]
fn missing_required_key() {
    let text = edit(&web(), "vip = \"192.0.2.10\"\n", "");
    let text = edit(&text, "[[service]]", "[[service]] # <-");
    expect_error(&text, "service[0].vip", "required key is missing");
}

#[test]
fn missing_section() {
    let text = edit(&web(), "[dataplane]\ninterfaces = [\"eth1\"]\n", "");
    let errors = errors_of(&text);
    let e = &errors.as_slice()[0];
    assert_eq!((e.path.to_string().as_str(), e.line()), ("dataplane", 1));
    assert_eq!(e.kind, ErrorKind::MissingKey);
}

#[test]
fn empty_file_reports_every_missing_section() {
    let errors = errors_of("");
    let paths: Vec<String> = errors.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(paths, ["node", "ospf", "dataplane"]);
    assert!(errors
        .iter()
        .all(|e| e.line() == 1 && e.kind == ErrorKind::MissingKey));
}

#[test]
fn section_of_the_wrong_shape() {
    let text = edit(&web(), "[node]", "[[node]] # <-");
    expect_error(&text, "node", "expected a table ([node])");
}

#[test]
fn service_must_be_an_array_of_tables() {
    let text = edit(&web(), "[[service]]", "[service] # <-");
    let text = text.replace("[[service.real]]", "[service.real]");
    expect_error(&text, "service", "[[service]]");
}

#[test]
fn ospf_area_forms() {
    for (area, expected) in [("\"0.0.0.1\"", 1), ("1", 1), ("\"256\"", 256)] {
        let text = edit(&web(), "[ospf]", &format!("[ospf]\narea = {area}"));
        let c = parse(&text, "t.toml").unwrap();
        assert_eq!(u32::from(c.ospf.area), expected, "area = {area}");
    }
    let text = edit(&web(), "[ospf]", "[ospf]\narea = \"backbone\" # <-");
    expect_error(&text, "ospf.area", "area id");
    let text = edit(&web(), "[ospf]", "[ospf]\narea = -1 # <-");
    expect_error(&text, "ospf.area", "area id");
}

// --- services ---

#[test]
fn duplicate_service_same_port() {
    let other = WEB
        .replace("\"web\"", "\"web2\"")
        .replace("[80]", "[443, 80] # <-");
    let text = format!("{}{other}", web());
    expect_error(
        &text,
        "service[1].ports",
        "overlaps `web` (service[0]): both serve tcp 192.0.2.10 port 80",
    );
}

#[test]
fn duplicate_service_port_zero_overlaps_any_port() {
    let other = WEB
        .replace("\"web\"", "\"all\"")
        .replace("[80]", "[0] # <-");
    let text = format!("{}{other}", web());
    expect_error(&text, "service[1].ports", "port 80");
}

#[test]
fn same_port_other_protocol_is_fine() {
    let other = WEB
        .replace("\"web\"", "\"web-udp\"")
        .replace("ports = [80]", "ports = [80]\nprotocol = \"udp\"");
    parse(&format!("{}{other}", web()), "t.toml").unwrap();
}

#[test]
fn duplicate_service_name() {
    let other = WEB
        .replace("name = \"web\"", "name = \"web\" # <-")
        .replace("192.0.2.10", "192.0.2.11");
    let text = format!("{}{other}", web());
    expect_error(
        &text,
        "service[1].name",
        "service name `web` is listed twice (first at service[0].name)",
    );
}

#[test]
fn duplicate_real() {
    let text = format!(
        "{}[[service.real]]\naddress = \"10.0.1.21\" {MARK}\n",
        web()
    );
    // The second entry is flagged at its table header.
    let text = text.replace(
        &format!("[[service.real]]\naddress = \"10.0.1.21\" {MARK}"),
        &format!("[[service.real]] {MARK}\naddress = \"10.0.1.21\""),
    );
    expect_error(
        &text,
        "service[0].real[1]",
        "real 10.0.1.21:80 is listed twice",
    );
}

#[test]
fn duplicate_real_same_port_spelled_out() {
    let text = format!(
        "{}[[service.real]] {MARK}\naddress = \"10.0.1.21\"\nport = 80\n",
        web()
    );
    expect_error(&text, "service[0].real[1]", "listed twice");
}

#[test]
fn real_port_differs_under_dr() {
    let text = format!("{}port = 8080 {MARK}\n", web());
    expect_error(
        &text,
        "service[0].real[0].port",
        "cannot change the destination port",
    );
}

#[test]
fn real_port_with_several_ports_under_tun() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80, 443]\nforward = \"tun\"",
    );
    let text = format!("{text}port = 80 {MARK}\n[service.health]\nport = 80\n");
    expect_error(&text, "service[0].real[0].port", "several ports");
}

#[test]
fn real_port_is_fine_under_nat() {
    let text = edit(&web(), "ports = [80]", "ports = [80]\nforward = \"nat\"");
    let c = parse(&format!("{text}port = 8080\n"), "t.toml").unwrap();
    assert_eq!(c.services[0].reals[0].port, Some(8080));
    assert_eq!(
        c.services[0].probe_port(&c.services[0].reals[0]),
        Some(8080)
    );
}

#[test]
fn fullnat_without_local_addresses() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nforward = \"fullnat\" # <-",
    );
    expect_error(
        &text,
        "service[0].forward",
        "[fullnat] local_addresses is missing or empty",
    );
    let text = format!("{text}\n[fullnat]\nlocal_addresses = []\n");
    expect_error(&text, "service[0].forward", "missing or empty");
}

#[test]
fn weight_out_of_range() {
    let text = format!("{}weight = 70000 {MARK}\n", web());
    expect_error(
        &text,
        "service[0].real[0].weight",
        "70000 is out of range 0..=65535",
    );
    let text = format!("{}weight = -1 {MARK}\n", web());
    expect_error(
        &text,
        "service[0].real[0].weight",
        "-1 is out of range 0..=65535",
    );
    let c = parse(&format!("{}weight = 0\n", web()), "t.toml").unwrap();
    assert_eq!(c.services[0].reals[0].weight, 0, "0 = quiescent");
}

#[test]
fn empty_ports() {
    let text = edit(&web(), "ports = [80]", "ports = [] # <-");
    expect_error(&text, "service[0].ports", "at least one port");
}

#[test]
fn duplicate_ports() {
    let text = edit(&web(), "ports = [80]", "ports = [80, 443, 80] # <-");
    expect_error(&text, "service[0].ports[2]", "port 80 is listed twice");
}

#[test]
fn port_zero_mixed() {
    let text = edit(&web(), "ports = [80]", "ports = [80, 0] # <-");
    expect_error(&text, "service[0].ports[1]", "port 0 means every port");
}

#[test]
fn port_out_of_range() {
    let text = edit(&web(), "ports = [80]", "ports = [65536] # <-");
    expect_error(&text, "service[0].ports[0]", "out of range 0..=65535");
}

#[test]
fn quorum_zero() {
    let text = edit(&web(), "ports = [80]", "ports = [80]\nquorum = 0 # <-");
    expect_error(&text, "service[0].quorum", "must be at least 1");
}

#[test]
fn quorum_above_reals() {
    let text = edit(&web(), "ports = [80]", "ports = [80]\nquorum = 2 # <-");
    expect_error(
        &text,
        "service[0].quorum",
        "can never be met with 1 real server",
    );
    let text = edit(
        &text,
        "quorum = 2",
        "quorum = 2\nsorry_server = \"10.0.1.99:80\"",
    );
    let c = parse(&text, "t.toml").unwrap();
    let sorry = c.services[0].sorry_server.unwrap();
    assert_eq!(
        (sorry.address.to_string(), sorry.port),
        ("10.0.1.99".into(), Some(80))
    );
}

#[test]
fn sorry_server_port_under_dr() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nsorry_server = \"10.0.1.99:8080\" # <-",
    );
    expect_error(
        &text,
        "service[0].sorry_server",
        "cannot change the destination port",
    );
}

#[test]
fn service_without_reals() {
    let text =
        format!("{HEAD}\n[[service]] {MARK}\nname = \"web\"\nvip = \"192.0.2.10\"\nports = [80]\n");
    expect_error(&text, "service[0].real", "at least one real server");
}

#[test]
fn persistence_mask_not_contiguous() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\npersistence = \"5m\"\npersistence_mask = \"255.0.255.0\" # <-",
    );
    expect_error(
        &text,
        "service[0].persistence_mask",
        "not a contiguous netmask",
    );
}

#[test]
fn persistence_mask_without_persistence() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\npersistence_mask = \"255.255.255.0\" # <-",
    );
    expect_error(&text, "service[0].persistence_mask", "without persistence");
}

// --- health checks ---

#[test]
fn health_timeout_not_shorter_than_interval() {
    let text = format!(
        "{}[service.health]\ninterval = \"2s\"\ntimeout = \"2s\" {MARK}\n",
        web()
    );
    expect_error(
        &text,
        "service[0].health.timeout",
        "timeout (2s) must be shorter than interval (2s)",
    );
}

#[test]
fn health_interval_zero() {
    let text = format!("{}[service.health]\ninterval = \"0s\" {MARK}\n", web());
    expect_error(&text, "service[0].health.interval", "longer than 0s");
}

#[test]
fn health_rise_and_fall_zero() {
    let text = format!("{}[service.health]\nrise = 0 {MARK}\nfall = 0\n", web());
    let errors = expect_error(&text, "service[0].health.rise", "at least 1");
    assert!(errors
        .iter()
        .any(|e| e.path.to_string() == "service[0].health.fall"));
}

#[test]
fn health_field_of_another_check() {
    let text = format!(
        "{}[service.health]\ncheck = \"tcp\"\npath = \"/x\" {MARK}\n",
        web()
    );
    expect_error(
        &text,
        "service[0].health.path",
        "has no effect when check = \"tcp\"",
    );
    let text = format!(
        "{}[service.health]\ncheck = \"none\"\ninterval = \"1s\" {MARK}\n",
        web()
    );
    expect_error(&text, "service[0].health.interval", "check = \"none\"");
    let text = format!(
        "{}[service.health]\ncheck = \"http\"\nscript = [\"/bin/true\"] {MARK}\n",
        web()
    );
    expect_error(&text, "service[0].health.script", "check = \"http\"");
}

#[test]
fn script_check_without_script() {
    let text = format!("{}[service.health] {MARK}\ncheck = \"script\"\n", web());
    expect_error(
        &text,
        "service[0].health.script",
        "required when check = \"script\"",
    );
}

#[test]
fn script_check_needs_absolute_path() {
    let text = format!(
        "{}[service.health]\ncheck = \"script\"\nscript = [\"check.sh\"] {MARK}\n",
        web()
    );
    expect_error(&text, "service[0].health.script[0]", "absolute path");
    let text = format!(
        "{}[service.health]\ncheck = \"script\"\nscript = [\"/usr/local/bin/check\", \"-p\", \"80\"]\n",
        web()
    );
    let c = parse(&text, "t.toml").unwrap();
    match &c.services[0].health.check {
        HealthCheck::Script { program, args } => {
            assert_eq!(program.to_str(), Some("/usr/local/bin/check"));
            assert_eq!(args, &["-p", "80"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_check_defaults_and_status_range() {
    let text = format!("{}[service.health]\ncheck = \"http\"\n", web());
    let c = parse(&text, "t.toml").unwrap();
    let expected = HttpCheck {
        path: "/".into(),
        expect_status: 200,
        expect_body: None,
    };
    assert_eq!(c.services[0].health.check, HealthCheck::Http(expected));
    let text = format!("{text}expect_status = 42 {MARK}\n");
    expect_error(&text, "service[0].health.expect_status", "100..=599");
}

#[test]
fn probe_port_ambiguous() {
    let text = edit(&web(), "ports = [80]", "ports = [80, 443]");
    let text = format!("{text}[service.health] {MARK}\ncheck = \"tcp\"\n");
    expect_error(&text, "service[0].health.port", "set health.port");
}

// --- a real's own health settings ---

/// web() with a second real whose `[service.real.health]` is `own`.
fn web_with_own_health(service_health: &str, own: &str) -> String {
    format!(
        "{}[service.health]\n{service_health}\n[[service.real]]\naddress = \"10.0.1.22\"\n[service.real.health]\n{own}",
        web()
    )
}

#[test]
fn real_health_overrides_only_that_real() {
    let text = web_with_own_health(
        "check = \"http\"\ninterval = \"2s\"\ntimeout = \"1s\"\nfall = 3\n",
        "interval = \"5s\"\ntimeout = \"3s\"\nrise = 4\nfall = 5\nport = 8080\n",
    );
    let c = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = &c.services[0];
    let (plain, own) = (&s.reals[0], &s.reals[1]);
    assert_eq!(plain.health, HealthOverrides::default());
    assert_eq!(
        own.health,
        HealthOverrides {
            port: Some(8080),
            interval: Some(Duration::from_secs(5)),
            timeout: Some(Duration::from_secs(3)),
            rise: Some(4),
            fall: Some(5),
        }
    );
    assert_eq!(s.health_of(plain), s.health);
    let h = s.health_of(own);
    assert_eq!(
        (h.interval, h.timeout, h.rise, h.fall, h.port),
        (
            Duration::from_secs(5),
            Duration::from_secs(3),
            4,
            5,
            Some(8080)
        )
    );
    assert_eq!(h.check, s.health.check, "the check itself is the service's");
    assert_eq!(
        (s.probe_port(plain), s.probe_port(own)),
        (Some(80), Some(8080))
    );
}

#[test]
fn real_health_keeps_unset_values_of_the_service() {
    let text = web_with_own_health("interval = \"10s\"\nrise = 3\n", "fall = 1\n");
    let c = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = &c.services[0];
    let h = s.health_of(&s.reals[1]);
    assert_eq!(
        (h.interval, h.timeout, h.rise, h.fall),
        (Duration::from_secs(10), Duration::from_secs(1), 3, 1)
    );
}

#[test]
fn real_health_unknown_key() {
    let text = web_with_own_health("check = \"http\"", &format!("path = \"/x\" {MARK}\n"));
    expect_error(
        &text,
        "service[0].real[1].health.path",
        "unknown key, expected one of `port`, `interval`, `timeout`, `rise`, `fall`",
    );
}

#[test]
fn real_health_and_real_mistakes_are_both_reported() {
    let text = format!(
        "{}wieght = 2\n[service.real.health]\nfal = 2 {MARK}\n",
        web()
    );
    let errors = expect_error(&text, "service[0].real[0].health.fal", "unknown key");
    assert!(
        errors
            .iter()
            .any(|e| e.path.to_string() == "service[0].real[0].wieght"),
        "{errors}"
    );
}

#[test]
fn real_health_timeout_not_shorter_than_its_interval() {
    // Its own timeout against the service's interval (default 2s).
    let text = web_with_own_health("", &format!("timeout = \"2s\" {MARK}\n"));
    expect_error(
        &text,
        "service[0].real[1].health.timeout",
        "timeout (2s) must be shorter than interval (2s)",
    );
    // Its own interval against the service's timeout.
    let text = web_with_own_health(
        "timeout = \"1500ms\"",
        &format!("interval = \"1s\" {MARK}\n"),
    );
    expect_error(
        &text,
        "service[0].real[1].health.interval",
        "timeout (1s 500ms) must be shorter than interval (1s)",
    );
    // Both its own: a longer interval makes room for a longer timeout.
    let text = web_with_own_health("", "interval = \"10s\"\ntimeout = \"4s\"\n");
    assert!(parse(&text, "t.toml").is_ok());
}

#[test]
fn real_health_zero_values() {
    let text = web_with_own_health(
        "",
        &format!("rise = 0 {MARK}\nfall = 0\ninterval = \"0s\"\n"),
    );
    let errors = expect_error(&text, "service[0].real[1].health.rise", "at least 1");
    for key in ["fall", "interval"] {
        let path = format!("service[0].real[1].health.{key}");
        assert!(
            errors.iter().any(|e| e.path.to_string() == path),
            "{errors}"
        );
    }
    let text = web_with_own_health("", &format!("port = 0 {MARK}\n"));
    expect_error(&text, "service[0].real[1].health.port", "1..=65535");
}

#[test]
fn real_health_keys_of_another_check() {
    let text = web_with_own_health("check = \"none\"", &format!("fall = 2 {MARK}\n"));
    expect_error(
        &text,
        "service[0].real[1].health.fall",
        "has no effect when check = \"none\" (in [service.health])",
    );
    let text = web_with_own_health(
        "check = \"script\"\nscript = [\"/bin/true\"]",
        &format!("port = 81 {MARK}\n"),
    );
    expect_error(
        &text,
        "service[0].real[1].health.port",
        "check = \"script\"",
    );
}

#[test]
fn real_health_port_settles_the_probe_port() {
    let text = edit(&web(), "ports = [80]", "ports = [80, 443]");
    let text = format!("{text}[service.real.health]\nport = 443\n");
    let c = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = &c.services[0];
    assert_eq!(s.probe_port(&s.reals[0]), Some(443));
}

// --- node, OSPF, data plane ---

#[test]
fn log_format_text_json_or_journald() {
    // Unset: xlvsd picks the journal under systemd, text elsewhere.
    assert_eq!(parse(&web(), "t.toml").unwrap().node.log_format, None);
    for (name, format) in [
        ("text", LogFormat::Text),
        ("json", LogFormat::Json),
        ("journald", LogFormat::Journald),
    ] {
        let set = edit(
            &web(),
            "name = \"lb1\"",
            &format!("name = \"lb1\"\nlog_format = \"{name}\""),
        );
        assert_eq!(parse(&set, "t.toml").unwrap().node.log_format, Some(format));
    }
    let text = edit(
        &web(),
        "name = \"lb1\"",
        "name = \"lb1\"\nlog_format = \"logfmt\" # <-",
    );
    expect_error(
        &text,
        "node.log_format",
        "unknown variant `logfmt`, expected one of `text`, `json`, `journald`",
    );
}

#[test]
fn log_level_is_one_of_five() {
    assert_eq!(
        parse(&web(), "t.toml").unwrap().node.log_level,
        LogLevel::Info
    );
    let debug = edit(
        &web(),
        "name = \"lb1\"",
        "name = \"lb1\"\nlog_level = \"debug\"",
    );
    assert_eq!(
        parse(&debug, "t.toml").unwrap().node.log_level,
        LogLevel::Debug
    );
    // A filter directive is RUST_LOG's business, not the file's.
    let text = edit(
        &web(),
        "name = \"lb1\"",
        "name = \"lb1\"\nlog_level = \"xlvsd=debug\" # <-",
    );
    expect_error(
        &text,
        "node.log_level",
        "unknown variant `xlvsd=debug`, expected one of `error`, `warn`, `info`, `debug`, `trace`",
    );
}

#[test]
fn router_id_equals_vip() {
    let text = edit(
        &web(),
        "router_id = \"10.255.0.11\"",
        "router_id = \"192.0.2.10\" # <-",
    );
    expect_error(
        &text,
        "node.router_id",
        "also the VIP of service `web` (service[0].vip)",
    );
}

#[test]
fn router_id_equals_local_address() {
    let text = format!(
        "{}\n[fullnat]\nlocal_addresses = [\"10.255.0.11\"]\n",
        web()
    );
    let text = edit(
        &text,
        "router_id = \"10.255.0.11\"",
        "router_id = \"10.255.0.11\" # <-",
    );
    expect_error(
        &text,
        "node.router_id",
        "also a FULLNAT local address (fullnat.local_addresses[0])",
    );
}

#[test]
fn router_id_unspecified() {
    let text = edit(
        &web(),
        "router_id = \"10.255.0.11\"",
        "router_id = \"0.0.0.0\" # <-",
    );
    expect_error(&text, "node.router_id", "0.0.0.0 is not a usable address");
}

#[test]
fn vip_equals_real_address() {
    let text = edit(
        &web(),
        "address = \"10.0.1.21\"",
        "address = \"192.0.2.10\" # <-",
    );
    expect_error(
        &text,
        "service[0].real[0].address",
        "is the VIP of service `web`",
    );
}

#[test]
fn local_address_equals_vip() {
    let text = format!(
        "{}\n[fullnat]\nlocal_addresses = [\"10.0.2.1\", \"192.0.2.10\"] {MARK}\n",
        web()
    );
    expect_error(
        &text,
        "fullnat.local_addresses[1]",
        "also the VIP of service `web`",
    );
}

#[test]
fn xdp_interface_not_an_ospf_interface() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\", \"eth2\"] # <-",
    );
    let errors = expect_error(&text, "dataplane.interfaces[1]", "is not an OSPF interface");
    let message = errors.as_slice()[0].to_string();
    assert!(
        message.contains("only sends VIP traffic over OSPF adjacencies"),
        "{message}"
    );
    assert!(message.contains("forward nothing"), "{message}");
}

#[test]
fn empty_dataplane_interfaces() {
    let text = edit(&web(), "interfaces = [\"eth1\"]", "interfaces = [] # <-");
    expect_error(&text, "dataplane.interfaces", "at least one XDP interface");
}

#[test]
fn duplicate_dataplane_interface() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\", \"eth1\"] # <-",
    );
    expect_error(
        &text,
        "dataplane.interfaces[1]",
        "interface `eth1` is listed twice",
    );
}

#[test]
fn duplicate_ospf_interface() {
    let text = edit(
        &web(),
        "[dataplane]",
        "[[ospf.interface]]\nname = \"eth1\" # <-\n\n[dataplane]",
    );
    expect_error(
        &text,
        "ospf.interface[1].name",
        "interface `eth1` is listed twice (first at ospf.interface[0].name)",
    );
}

#[test]
fn no_ospf_interface() {
    let text = edit(&web(), "[[ospf.interface]]\nname = \"eth1\"\n", "");
    let text = edit(&text, "[ospf]", "[ospf] # <-");
    expect_error(&text, "ospf.interface", "at least one [[ospf.interface]]");
}

#[test]
fn dead_interval_not_longer_than_hello() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nhello_interval = \"5s\"\ndead_interval = \"5s\" # <-",
    );
    expect_error(
        &text,
        "ospf.interface[0].dead_interval",
        "must be longer than hello_interval (5s)",
    );
}

#[test]
fn hello_interval_limits() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nhello_interval = \"65536s\" # <-",
    );
    expect_error(&text, "ospf.interface[0].hello_interval", "at most 65535s");
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nhello_interval = \"1500ms\" # <-",
    );
    expect_error(
        &text,
        "ospf.interface[0].hello_interval",
        "whole number of seconds",
    );
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nhello_interval = \"0s\" # <-",
    );
    expect_error(&text, "ospf.interface[0].hello_interval", "longer than 0s");
}

#[test]
fn ospf_cost_range() {
    let text = edit(&web(), "name = \"eth1\"", "name = \"eth1\"\ncost = 0 # <-");
    expect_error(
        &text,
        "ospf.interface[0].cost",
        "0 is out of range 1..=65535",
    );
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\ncost = 65536 # <-",
    );
    expect_error(
        &text,
        "ospf.interface[0].cost",
        "65536 is out of range 1..=65535",
    );
}

#[test]
fn md5_key_too_long() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nauth = { type = \"md5\", key_id = 1, key = \"0123456789abcdefg\" } # <-",
    );
    expect_error(&text, "ospf.interface[0].auth.key", "17 bytes long");
}

#[test]
fn md5_key_id_zero() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nauth = { type = \"md5\", key_id = 0, key = \"k\" } # <-",
    );
    expect_error(
        &text,
        "ospf.interface[0].auth.key_id",
        "0 is out of range 1..=255",
    );
}

#[test]
fn md5_needs_a_key_and_none_takes_none() {
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\n[ospf.interface.auth] # <-\ntype = \"md5\"\nkey_id = 1",
    );
    expect_error(
        &text,
        "ospf.interface[0].auth.key",
        "required when type = \"md5\"",
    );
    let text = edit(
        &web(),
        "name = \"eth1\"",
        "name = \"eth1\"\nauth = { type = \"none\", key = \"k\" } # <-",
    );
    expect_error(
        &text,
        "ospf.interface[0].auth.key",
        "has no effect when type = \"none\"",
    );
}

#[test]
fn conntrack_entries_zero() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nconntrack_entries = 0 # <-",
    );
    expect_error(&text, "dataplane.conntrack_entries", "must be at least 1");
}

#[test]
fn flow_cache_entries_not_a_power_of_two() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nflow_cache_entries = 1000 # <-",
    );
    expect_error(
        &text,
        "dataplane.flow_cache_entries",
        "1000 is not a power of two up to 1048576 (or 0 for no flow cache)",
    );
}

#[test]
fn syn_flood_threshold_negative() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nsyn_flood_threshold = -1 # <-",
    );
    expect_error(
        &text,
        "dataplane.syn_flood_threshold",
        "-1 is out of range 0..=4294967295",
    );
}

#[test]
fn empty_names() {
    let text = edit(&web(), "name = \"lb1\"", "name = \"\" # <-");
    expect_error(&text, "node.name", "must not be empty");
}

// --- robustness ---

#[test]
fn garbage_never_panics() {
    let samples: Vec<String> = vec![
        String::new(),
        "\u{0}\u{1}\u{2}".into(),
        "[[[[[[[[[[[[[[[[".into(),
        "a = [".repeat(500),
        "x = {".repeat(500),
        "= = =".into(),
        "[node]\nname = 5\nrouter_id = []".into(),
        "node = 1\nospf = \"x\"\ndataplane = []\nservice = 3\nfullnat = true".into(),
        "[[node]]\n[[ospf]]\n[[dataplane]]\n[[fullnat]]".into(),
        "[service]\n[service.real]\n".into(),
        "[ospf]\ninterface = 7\n".into(),
        "[[service]]\nhealth = []\nreal = [1, 2]\n".into(),
        "\u{feff}[node]\nname = \"é\"\n".into(),
        format!("{}\nport = 99999999999999999999\n", web()),
        format!("{}\nweight = -9223372036854775808\n", web()),
        format!(
            "{}[service.health]\ninterval = \"18446744073709551615s\"\n",
            web()
        ),
        edit(
            &web(),
            "name = \"eth1\"",
            "name = \"eth1\"\nhello_interval = \"5000000000000000s\"",
        ),
        edit(&web(), "[ospf]", "[ospf]\narea = 99999999999"),
        "x\r\ny = 1\r\n\t\u{7f}".into(),
    ];
    for text in &samples {
        let result = parse(text, "g.toml");
        if let Err(errors) = result {
            assert!(!errors.is_empty(), "empty error list for {text:?}");
            for e in &errors {
                let _ = e.to_string();
                assert!(e.line() >= 1 && e.column() >= 1, "{e}");
            }
        }
    }
    // Every prefix of a valid file: truncation anywhere must not panic.
    let full = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/lb-fullnat.toml"
    ))
    .unwrap();
    for (i, _) in full.char_indices() {
        let _ = parse(&full[..i], "prefix.toml");
    }
}

#[test]
fn control_socket_defaults_per_node_and_must_be_absolute() {
    let config = parse(HEAD, "t.toml").unwrap();
    assert_eq!(
        config.node.control_socket,
        std::path::Path::new("/run/xlvs/lb1.sock")
    );
    let text = edit(
        HEAD,
        "router_id = \"10.255.0.11\"",
        "router_id = \"10.255.0.11\"\ncontrol_socket = \"x.sock\" # <-",
    );
    expect_error(&text, "node.control_socket", "absolute path");
}

#[test]
fn too_many_addresses_for_a_router_lsa() {
    let mut text = edit(HEAD, "[ospf]", "[ospf]\nannounce_as = \"router-lsa\" # <-");
    for i in 0..=ROUTER_LSA_MAX_ADDRESSES {
        text.push_str(&format!(
            "[[service]]\nname = \"s{i}\"\nvip = \"192.0.{}.{}\"\nports = [80]\n[[service.real]]\naddress = \"10.0.1.21\"\n",
            2 + i / 200,
            1 + i % 200
        ));
    }
    expect_error(&text, "ospf.announce_as", "set announce_as = \"external\"");
    let external = text.replace("announce_as = \"router-lsa\"", "announce_as = \"external\"");
    let config = parse(&external, "t.toml").unwrap();
    assert_eq!(config.ospf.announce_as, AnnounceAs::External);
}

#[test]
fn maglev_table_size_must_be_a_listed_prime() {
    let config = parse(HEAD, "t.toml").unwrap();
    assert_eq!(config.dataplane.maglev_table_size.get(), 65537);
    let text = edit(
        HEAD,
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nmaglev_table_size = 1000 # <-",
    );
    expect_error(&text, "dataplane.maglev_table_size", "65537");
    let text = edit(
        HEAD,
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nmaglev_table_size = 251",
    );
    assert_eq!(
        parse(&text, "t.toml")
            .unwrap()
            .dataplane
            .maglev_table_size
            .get(),
        251
    );
}

#[test]
fn tun_source_is_an_address_or_a_prefix() {
    assert_eq!(parse(HEAD, "t.toml").unwrap().dataplane.tun_source, None);
    let with = |value: &str| {
        edit(
            HEAD,
            "interfaces = [\"eth1\"]",
            &format!("interfaces = [\"eth1\"]\ntun_source = \"{value}\" # <-"),
        )
    };
    let config = parse(&with("10.0.9.16/28"), "t.toml").unwrap();
    assert_eq!(
        config.dataplane.tun_source,
        Some(("10.0.9.16".parse().unwrap(), 28))
    );
    let config = parse(&with("10.0.9.1"), "t.toml").unwrap();
    assert_eq!(
        config.dataplane.tun_source,
        Some(("10.0.9.1".parse().unwrap(), 32))
    );
    expect_error(&with("10.0.9.0/33"), "dataplane.tun_source", "8..=32");
    expect_error(&with("10.0.9.0/x"), "dataplane.tun_source", "prefix length");
    expect_error(
        &with("tunnel"),
        "dataplane.tun_source",
        "not an IPv4 address",
    );
    expect_error(&with("224.0.0.5"), "dataplane.tun_source", "not a unicast");
}

// --- metrics ---

#[test]
fn metrics_on_at_loopback_by_default() {
    let config = parse(&web(), "t.toml").unwrap();
    assert_eq!(
        config.metrics.listen,
        Some("127.0.0.1:9478".parse().unwrap())
    );
    let text = format!("{}[metrics]\nlisten = \"[::1]:9100\"\n", web());
    let config = parse(&text, "t.toml").unwrap();
    assert_eq!(config.metrics.listen, Some("[::1]:9100".parse().unwrap()));
}

#[test]
fn metrics_off_still_checks_listen() {
    let text = format!("{}[metrics]\nenabled = false\n", web());
    assert_eq!(parse(&text, "t.toml").unwrap().metrics.listen, None);
    let text = format!(
        "{}[metrics]\nenabled = false\nlisten = \"127.0.0.1:0\" {MARK}\n",
        web()
    );
    expect_error(&text, "metrics.listen", "port 0");
}

#[test]
fn metrics_listen_must_be_address_and_port() {
    for bad in ["127.0.0.1", "localhost:9478", "", "127.0.0.1:70000"] {
        let text = format!("{}[metrics]\nlisten = \"{bad}\" {MARK}\n", web());
        let errors = expect_error(&text, "metrics.listen", "is not ADDRESS:PORT");
        assert_eq!(errors.len(), 1, "{errors}");
        assert!(errors.to_string().contains(&format!("`{bad}`")), "{errors}");
    }
    let text = format!("{}[metrics]\nlisten = 9478 {MARK}\n", web());
    expect_error(&text, "metrics.listen", "string");
    let text = format!("{}[metrics]\nport = 9478 {MARK}\n", web());
    expect_error(&text, "metrics.port", "expected `enabled` or `listen`");
}

#[test]
fn metrics_listen_on_an_announced_address() {
    let text = format!("{}[metrics]\nlisten = \"192.0.2.10:9478\" {MARK}\n", web());
    expect_error(
        &text,
        "metrics.listen",
        "192.0.2.10, the VIP of service `web` (service[0].vip)",
    );
    let text = format!(
        "{}[fullnat]\nlocal_addresses = [\"10.0.2.1\"]\n[metrics]\nlisten = \"10.0.2.1:9478\" {MARK}\n",
        web()
    );
    expect_error(
        &text,
        "metrics.listen",
        "a FULLNAT local address (fullnat.local_addresses[0])",
    );
    // A node address, or every address, is the operator's choice.
    for fine in ["10.0.1.11:9478", "0.0.0.0:9478"] {
        let text = format!("{}[metrics]\nlisten = \"{fine}\"\n", web());
        assert_eq!(
            parse(&text, "t.toml").unwrap().metrics.listen,
            Some(fine.parse().unwrap())
        );
    }
}

// --- failure handling: inhibit, slow start, alpha, quorum hysteresis, TLS ---

#[test]
fn failure_handling_defaults() {
    let c = parse(&web(), "t.toml").unwrap();
    assert_eq!(c.node.shutdown_grace, std::time::Duration::from_secs(5));
    let s = &c.services[0];
    assert_eq!(s.quorum_hysteresis, 0);
    assert!(!s.inhibit_on_failure);
    assert!(s.slow_start.is_zero());
    assert!(!s.health.alpha);
    let text = format!("{}[service.health]\ncheck = \"https\"\n", web());
    match &parse(&text, "t.toml").unwrap().services[0].health.check {
        HealthCheck::Https(_, tls) => assert_eq!(tls, &TlsCheck::default()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failure_handling_keys_are_carried() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nquorum = 2\nquorum_hysteresis = 1\ninhibit_on_failure = true\nslow_start = \"30s\"",
    );
    let text = edit(
        &text,
        "name = \"lb1\"",
        "name = \"lb1\"\nshutdown_grace = \"0s\"",
    );
    let text = format!(
        "{text}[[service.real]]\naddress = \"10.0.1.22\"\n[[service.real]]\naddress = \"10.0.1.23\"\n\
         [service.health]\ncheck = \"https\"\nalpha = true\nverify = true\nca_file = \"/etc/xlvs/ca.pem\"\nserver_name = \"www.example.net\"\n"
    );
    let c = parse(&text, "t.toml").unwrap();
    assert!(c.node.shutdown_grace.is_zero());
    let s = &c.services[0];
    assert_eq!((s.quorum, s.quorum_hysteresis), (2, 1));
    assert!(s.inhibit_on_failure);
    assert_eq!(s.slow_start, std::time::Duration::from_secs(30));
    assert!(s.health.alpha);
    let HealthCheck::Https(_, tls) = &s.health.check else {
        panic!("{:?}", s.health.check)
    };
    assert_eq!(tls.trust, TlsTrust::CaFile("/etc/xlvs/ca.pem".into()));
    assert_eq!(tls.server_name.as_deref(), Some("www.example.net"));
    // verify alone: the system's trust store.
    let text = format!(
        "{}[service.health]\ncheck = \"https\"\nverify = true\n",
        web()
    );
    match &parse(&text, "t.toml").unwrap().services[0].health.check {
        HealthCheck::Https(_, tls) => assert_eq!(tls.trust, TlsTrust::System),
        other => panic!("{other:?}"),
    }
}

#[test]
fn quorum_hysteresis_below_quorum() {
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nquorum_hysteresis = 1 # <-",
    );
    expect_error(
        &text,
        "service[0].quorum_hysteresis",
        "must be less than quorum (1)",
    );
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nquorum_hysteresis = -1 # <-",
    );
    expect_error(&text, "service[0].quorum_hysteresis", "out of range");
}

#[test]
fn quorum_hysteresis_must_let_the_quorum_come_back() {
    // quorum 2 with 2 reals is fine; + hysteresis 1 needs a third real.
    let text = edit(
        &web(),
        "ports = [80]",
        "ports = [80]\nquorum = 2\nquorum_hysteresis = 1 # <-\nsorry_server = \"10.0.1.99\"",
    );
    let text = format!("{text}[[service.real]]\naddress = \"10.0.1.22\"\n");
    expect_error(
        &text,
        "service[0].quorum_hysteresis",
        "quorum + quorum_hysteresis = 3 healthy reals",
    );
}

#[test]
fn durations_of_slow_start_and_shutdown_grace() {
    let text = edit(&web(), "ports = [80]", "ports = [80]\nslow_start = 30 # <-");
    expect_error(&text, "service[0].slow_start", "duration string");
    let text = edit(
        &web(),
        "name = \"lb1\"",
        "name = \"lb1\"\nshutdown_grace = \"soon\" # <-",
    );
    expect_error(&text, "node.shutdown_grace", "invalid duration");
}

#[test]
fn alpha_needs_a_check() {
    let text = format!(
        "{}[service.health]\ncheck = \"none\"\nalpha = true {MARK}\n",
        web()
    );
    expect_error(
        &text,
        "service[0].health.alpha",
        "has no effect when check = \"none\"",
    );
}

#[test]
fn tls_keys_only_on_https() {
    for key in [
        "verify = true",
        "server_name = \"a.example\"",
        "ca_file = \"/ca.pem\"",
    ] {
        let text = format!(
            "{}[service.health]\ncheck = \"http\"\n{key} {MARK}\n",
            web()
        );
        let name = key.split(' ').next().unwrap();
        expect_error(
            &text,
            &format!("service[0].health.{name}"),
            "has no effect when check = \"http\"",
        );
    }
    let https = format!("{}[service.health]\ncheck = \"https\"\n", web());
    let text = format!("{https}ca_file = \"/etc/ca.pem\" {MARK}\n");
    expect_error(
        &text,
        "service[0].health.ca_file",
        "has no effect when verify = false",
    );
    let text = format!("{https}verify = true\nca_file = \"ca.pem\" {MARK}\n");
    expect_error(&text, "service[0].health.ca_file", "absolute path");
    for bad in ["", "a b.example", "-a.example", "a..example"] {
        let text = format!("{https}server_name = \"{bad}\" {MARK}\n");
        expect_error(
            &text,
            "service[0].health.server_name",
            "is not a DNS name or an IP address",
        );
    }
    for fine in [
        "10.0.1.21",
        "www.example.net",
        "www.example.net.",
        "xn--bcher-kva.example",
    ] {
        let text = format!("{https}server_name = \"{fine}\"\n");
        assert!(parse(&text, "t.toml").is_ok(), "{fine}");
    }
}

// --- [cluster] ---

/// A valid `[cluster]` table after the web service.
fn cluster(body: &str) -> String {
    format!(
        "{}\n[cluster]\ninterface = \"eth1\"\nkey = \"0123456789abcdef\"\n{body}\n",
        web()
    )
}

#[test]
fn cluster_is_parsed_with_its_defaults() {
    let c = parse(&cluster("peers = [\"10.0.1.12\", \"10.0.1.13\"]"), "t.toml").unwrap();
    let cl = c.cluster.expect("[cluster] present");
    assert_eq!(cl.interface, "eth1");
    assert_eq!(
        cl.peering,
        Peering::Peers(vec![
            "10.0.1.12".parse().unwrap(),
            "10.0.1.13".parse().unwrap()
        ])
    );
    assert_eq!((cl.port, cl.bulk_timeout), (8849, Duration::from_secs(10)));
    assert_eq!(cl.key.0, b"0123456789abcdef");
    // The key never reaches a log line through Debug.
    assert!(!format!("{cl:?}").contains("0123456789abcdef"));
    let c = parse(&cluster("group = \"239.255.84.81\"\nport = 9000"), "t.toml").unwrap();
    let cl = c.cluster.unwrap();
    assert_eq!(cl.peering, Peering::Group("239.255.84.81".parse().unwrap()));
    assert_eq!(cl.port, 9000);
    assert!(parse(&web(), "t.toml").unwrap().cluster.is_none());
}

#[test]
fn cluster_needs_peers_or_group_not_both() {
    let text = cluster(&format!("peers = [] {MARK}"));
    expect_error(&text, "cluster.peers", "give the other directors as peers");
    let text = cluster(&format!(
        "peers = [\"10.0.1.12\"]\ngroup = \"239.255.84.81\" {MARK}"
    ));
    expect_error(&text, "cluster.group", "either peers");
}

#[test]
fn cluster_group_must_be_multicast() {
    let text = cluster(&format!("group = \"10.0.1.255\" {MARK}"));
    expect_error(&text, "cluster.group", "not a multicast address");
}

#[test]
fn cluster_peers_are_other_unicast_directors() {
    let text = cluster(&format!("peers = [\"10.0.1.12\",\n\"10.0.1.12\" {MARK}\n]"));
    expect_error(&text, "cluster.peers[1]", "listed twice");
    let text = cluster(&format!("peers = [\n\"239.1.1.1\" {MARK}\n]"));
    expect_error(&text, "cluster.peers[0]", "not a unicast address");
    let text = cluster(&format!("peers = [\n\"192.0.2.10\" {MARK}\n]"));
    expect_error(&text, "cluster.peers[0]", "VIP of service `web`");
    let router_id = parse(&web(), "t.toml").unwrap().node.router_id;
    let text = cluster(&format!("peers = [\n\"{router_id}\" {MARK}\n]"));
    expect_error(&text, "cluster.peers[0]", "own router_id");
}

#[test]
fn cluster_key_is_long_enough_and_port_in_range() {
    let text = cluster(&format!("peers = [\"10.0.1.12\"]\nport = 0 {MARK}"));
    expect_error(&text, "cluster.port", "out of range 1..=65535");
    let text = cluster("peers = [\"10.0.1.12\"]").replace(
        "key = \"0123456789abcdef\"",
        &format!("key = \"short\" {MARK}"),
    );
    expect_error(&text, "cluster.key", "5 bytes long");
    let text = cluster("peers = [\"10.0.1.12\"]").replace("key = \"0123456789abcdef\"\n", "");
    let errors = errors_of(&text);
    assert!(
        errors.iter().any(|e| e.path.to_string() == "cluster.key"),
        "{errors}"
    );
}

/// `web` under FULLNAT, with a local address, and `extra` in the service.
fn fullnat_web(extra: &str) -> String {
    let text = edit(
        &web(),
        "ports = [80]",
        &format!("ports = [80]\nforward = \"fullnat\"\n{extra}"),
    );
    format!("{text}\n[fullnat]\nlocal_addresses = [\"10.0.1.100\"]\n")
}

#[test]
fn client_address_toa_under_fullnat() {
    let c = parse(&fullnat_web("client_address = \"toa\""), "t.toml").unwrap();
    assert_eq!(c.services[0].client_address, ClientAddress::Toa);
    assert_eq!(c.services[0].toa_kind, 254);
    let c = parse(
        &fullnat_web("client_address = \"toa\"\ntoa_kind = 200"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.services[0].toa_kind, 200);
    let c = parse(&fullnat_web(""), "t.toml").unwrap();
    assert_eq!(c.services[0].client_address, ClientAddress::None);
}

#[test]
fn client_address_outside_fullnat() {
    for forward in ["dr", "tun", "nat"] {
        let text = edit(
            &web(),
            "ports = [80]",
            &format!("ports = [80]\nforward = \"{forward}\"\nclient_address = \"toa\" # <-"),
        );
        expect_error(
            &text,
            "service[0].client_address",
            &format!("needs forward = \"fullnat\": under {forward}"),
        );
    }
}

#[test]
fn client_address_needs_tcp() {
    for mode in ["toa", "proxy-v2", "proxy-v1"] {
        let text = edit(
            &fullnat_web(&format!("client_address = \"{mode}\" # <-")),
            "ports = [80]",
            "ports = [80]\nprotocol = \"udp\"",
        );
        expect_error(
            &text,
            "service[0].client_address",
            "needs protocol = \"tcp\"",
        );
    }
}

#[test]
fn client_address_proxy_protocol_under_fullnat_tcp() {
    for (mode, want) in [
        ("proxy-v2", ClientAddress::ProxyV2),
        ("proxy-v1", ClientAddress::ProxyV1),
    ] {
        let c = parse(
            &fullnat_web(&format!("client_address = \"{mode}\"")),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.services[0].client_address, want);
        // The same refusal as toa outside FULLNAT.
        let text = edit(
            &web(),
            "ports = [80]",
            &format!("ports = [80]\nforward = \"nat\"\nclient_address = \"{mode}\" # <-"),
        );
        expect_error(
            &text,
            "service[0].client_address",
            "needs forward = \"fullnat\"",
        );
        // (needs protocol = "tcp": client_address_needs_tcp.) No option to choose a kind for.
        let text = fullnat_web(&format!("client_address = \"{mode}\"\ntoa_kind = 254 # <-"));
        expect_error(&text, "service[0].toa_kind", "only \"toa\" sends an option");
    }
    let text = fullnat_web("client_address = \"proxy-v3\" # <-");
    expect_error(&text, "service[0].client_address", "proxy-v2");
}

#[test]
fn toa_kind_rules() {
    let text = fullnat_web("toa_kind = 200 # <-");
    expect_error(&text, "service[0].toa_kind", "only \"toa\" sends an option");
    let text = fullnat_web("client_address = \"toa\"\ntoa_kind = 8 # <-");
    expect_error(&text, "service[0].toa_kind", "TCP stacks use");
    let text = fullnat_web("client_address = \"toa\"\ntoa_kind = 256 # <-");
    expect_error(&text, "service[0].toa_kind", "");
}

#[test]
fn next_hop_cache_is_a_boolean() {
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nnext_hop_cache = false",
    );
    let c = parse(&text, "t.toml").expect("valid");
    assert!(!c.dataplane.next_hop_cache);
    let text = edit(
        &web(),
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nnext_hop_cache = \"no\" # <-",
    );
    expect_error(&text, "dataplane.next_hop_cache", "bool");
}
