//! Carrying out commands against a fake daemon: which requests go out, in
//! what order, and what is printed.

use super::exec::{execute, ExecError};
use super::parse::parse;
use super::render_tests::table;
use crate::client::{ClientError, Daemon};
use serde_json::Value;
use xlvs_api::client::CallError;
use xlvs_api::Command;

/// Records requests; answers `ipvs.list` with the golden table and refuses
/// ops whose JSON contains `refuse`.
#[derive(Default)]
struct Fake {
    calls: Vec<(String, Vec<String>)>,
    refuse: Option<&'static str>,
}

impl Daemon for Fake {
    fn call(&mut self, command: &Command) -> Result<Value, ClientError> {
        // Recorded as sent: the request's name and arguments.
        let (command, args) = command.to_wire();
        self.calls.push((command.to_string(), args.clone()));
        match command {
            "ipvs.list" => Ok(serde_json::to_value(table()).unwrap()),
            "ipvs" if self.refuse.is_some_and(|r| args[0].contains(r)) => {
                Err(CallError::Refused("no such service".into()).into())
            }
            "ipvs" => Ok(Value::Null),
            other => panic!("unexpected request {other}"),
        }
    }
}

fn run(line: &str, input: &str, fake: &mut Fake) -> Result<String, ExecError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let parsed = parse(&words).unwrap();
    let mut out = Vec::new();
    execute(
        &parsed.command,
        parsed.globals.json,
        fake,
        &mut input.as_bytes(),
        &mut out,
    )?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn a_change_is_one_ipvs_request() {
    let mut fake = Fake::default();
    let out = run("-a -t 192.0.2.10:80 -r 10.0.1.24 -g -w 10", "", &mut fake).unwrap();
    assert_eq!(out, "");
    assert_eq!(
        fake.calls,
        [(
            "ipvs".to_string(),
            vec![r#"{"op":"add_real","service":{"protocol":"TCP","vip":"192.0.2.10","port":80},"real":{"address":"10.0.1.24","port":80,"forward":"Route","weight":10}}"#.to_string()]
        )]
    );
}

#[test]
fn listings_ask_once_and_connections_only_when_needed() {
    let mut fake = Fake::default();
    let out = run("-L -n", "", &mut fake).unwrap();
    assert!(out.starts_with("IP Virtual Server version xlvs 0.1.0 (size=1048576)\n"));
    run("-L -n -c", "", &mut fake).unwrap();
    run("-S", "", &mut fake).unwrap();
    let calls: Vec<(&str, Vec<String>)> = fake
        .calls
        .iter()
        .map(|(c, a)| (c.as_str(), a.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("ipvs.list", vec![]),
            ("ipvs.list", vec!["connections".to_string()]),
            ("ipvs.list", vec![]),
        ]
    );
}

#[test]
fn json_listing_of_one_service() {
    let mut fake = Fake::default();
    let out = run("-L -n -t 192.0.2.30:443 --json", "", &mut fake).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 1);
    assert_eq!(v["services"][0]["reals"][0]["forward"], "Masq");
    let err = run("-L -t 192.0.2.99:443 --json", "", &mut fake).unwrap_err();
    assert_eq!(err.to_string(), "no such service: TCP 192.0.2.99:443");
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn restore_sends_each_line_in_order() {
    let mut fake = Fake::default();
    let input = "# web\n-A -t 192.0.2.10:80 -s mh\n\n-a -t 192.0.2.10:80 -r 10.0.1.21 -g -w 1\n--set 900 120 300\n";
    run("-R", input, &mut fake).unwrap();
    let ops: Vec<Value> = fake
        .calls
        .iter()
        .map(|(c, a)| {
            assert_eq!(c, "ipvs");
            serde_json::from_str(&a[0]).unwrap()
        })
        .collect();
    let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert_eq!(names, ["add_service", "add_real", "set_timeouts"]);
}

#[test]
fn restore_checks_everything_before_sending_anything() {
    let mut fake = Fake::default();
    let input = "-A -t 192.0.2.10:80 -s mh\n-a -t 192.0.2.10:80 -r 10.0.1.300\n";
    let err = run("-R", input, &mut fake).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: -r 10.0.1.300: `10.0.1.300` is not an IPv4 address"
    );
    assert_eq!(err.exit_code(), 2);
    assert!(fake.calls.is_empty());
}

#[test]
fn restore_stops_at_the_first_refusal() {
    let mut fake = Fake {
        refuse: Some("10.0.1.22"),
        ..Fake::default()
    };
    let input = "-a -t 192.0.2.10:80 -r 10.0.1.21\n-a -t 192.0.2.10:80 -r 10.0.1.22\n-a -t 192.0.2.10:80 -r 10.0.1.23\n";
    let err = run("-R", input, &mut fake).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: -a -t 192.0.2.10:80 -r 10.0.1.22:80: xlvsd: no such service"
    );
    assert_eq!(fake.calls.len(), 2);
}

#[test]
fn help_and_version_need_no_daemon() {
    let mut fake = Fake::default();
    assert!(run("-h", "", &mut fake).unwrap().contains("--fullnat"));
    assert!(run("-v", "", &mut fake).unwrap().starts_with("xlvsadm v"));
    assert!(fake.calls.is_empty());
}
