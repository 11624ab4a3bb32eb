use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use xlvs_health::{
    config_targets, CheckSpec, Checker, CheckerOptions, HealthEvent, HttpSpec, ScriptSpec,
    SetupError, TargetId, TargetSpec, Transition, Upsert,
};

use crate::servers::{closed_port, eventually, hung, pid_alive, tcp_counter, HttpServer};

fn id(service: &str) -> TargetId {
    TargetId {
        service: service.to_string(),
        address: "127.0.0.1".parse().unwrap(),
        port: None,
    }
}

fn spec(check: CheckSpec, interval_ms: u64, timeout_ms: u64) -> TargetSpec {
    TargetSpec {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        ..TargetSpec::new(check)
    }
}

fn checker() -> (Checker, UnboundedReceiver<HealthEvent>) {
    Checker::new(CheckerOptions {
        max_parallel: 4,
        seed: Some(1),
    })
}

async fn next_event(rx: &mut UnboundedReceiver<HealthEvent>) -> HealthEvent {
    tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("an event within 3 s")
        .expect("channel open")
}

async fn stays(counter: &AtomicUsize) -> bool {
    let before = counter.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    counter.load(Ordering::SeqCst) == before
}

#[tokio::test]
async fn rise_and_fall_against_a_real_http_server() {
    let server = HttpServer::start(200, "ok").await;
    let (mut checker, mut rx) = checker();
    let target = id("web");
    let spec = TargetSpec {
        rise: 2,
        fall: 2,
        alpha: true,
        ..spec(CheckSpec::Http(HttpSpec::new(server.addr())), 60, 50)
    };
    assert_eq!(checker.upsert(target.clone(), spec).unwrap(), Upsert::Added);
    // alpha: down until the first pass.
    assert_eq!(checker.is_up(&target), Some(false));

    let up = next_event(&mut rx).await;
    assert_eq!((&up.target, &up.transition), (&target, &Transition::Up));
    assert!(
        up.detail.starts_with("http GET 127.0.0.1:"),
        "{}",
        up.detail
    );
    assert_eq!(checker.is_up(&target), Some(true));

    server.set(500, "broken", false);
    let flipped = Instant::now();
    let down = next_event(&mut rx).await;
    match &down.transition {
        Transition::Down { reason } => assert_eq!(reason, "HTTP status 500, expected 200"),
        other => panic!("{other:?}"),
    }
    assert!(
        down.detail.ends_with("HTTP status 500, expected 200"),
        "{}",
        down.detail
    );
    // Two failures at ~60 ms intervals, not one.
    assert!(
        down.at - flipped >= Duration::from_millis(50),
        "{:?}",
        down.at - flipped
    );
    let requests_at_down = server.requests.lock().unwrap().len();

    server.set(200, "ok", false);
    let up = next_event(&mut rx).await;
    assert_eq!(up.transition, Transition::Up);
    // rise = 2: at least two more requests (one may have been in flight
    // with the old answer).
    assert!(server.requests.lock().unwrap().len() >= requests_at_down + 2);
    assert!(rx.try_recv().is_err(), "no duplicate events");
}

#[tokio::test]
async fn a_hung_target_does_not_delay_a_healthy_one() {
    let (healthy, accepted) = tcp_counter().await;
    let stuck = hung().await;
    let (mut checker, mut rx) = Checker::new(CheckerOptions {
        max_parallel: 2,
        seed: Some(7),
    });
    let started = Instant::now();
    let hung_spec = TargetSpec {
        fall: 2,
        ..spec(CheckSpec::Http(HttpSpec::new(stuck.addr)), 400, 300)
    };
    checker.upsert(id("stuck"), hung_spec).unwrap();
    let healthy_spec = TargetSpec {
        alpha: true,
        ..spec(CheckSpec::Tcp(healthy.addr), 100, 80)
    };
    checker.upsert(id("healthy"), healthy_spec).unwrap();

    let first = next_event(&mut rx).await;
    assert_eq!(
        (first.target.service.as_str(), &first.transition),
        ("healthy", &Transition::Up)
    );
    assert!(
        first.at - started < Duration::from_millis(200),
        "{:?}",
        first.at - started
    );

    let second = next_event(&mut rx).await;
    assert_eq!(second.target.service, "stuck");
    match &second.transition {
        Transition::Down { reason } => {
            assert_eq!(reason, "timed out after 300ms (reading response)")
        }
        other => panic!("{other:?}"),
    }
    // Two 300 ms timeouts passed; meanwhile the healthy target kept its
    // 100 ms pace (about 7 checks; allow for a slow machine).
    let elapsed = second.at - started;
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    let checks = accepted.load(Ordering::SeqCst);
    assert!(checks >= 5, "{checks} healthy checks in {elapsed:?}");
}

#[tokio::test]
async fn replace_keeps_the_state_and_remove_stops_the_checks() {
    let (a, a_count) = tcp_counter().await;
    let (b, b_count) = tcp_counter().await;
    let (mut checker, mut rx) = checker();
    let target = id("r");
    let on_a = spec(CheckSpec::Tcp(a.addr), 50, 40);
    assert_eq!(
        checker.upsert(target.clone(), on_a.clone()).unwrap(),
        Upsert::Added
    );
    assert!(
        eventually(Duration::from_secs(2), || a_count.load(Ordering::SeqCst)
            >= 2)
        .await
    );
    assert_eq!(
        checker.upsert(target.clone(), on_a).unwrap(),
        Upsert::Unchanged
    );

    let on_b = spec(CheckSpec::Tcp(b.addr), 50, 40);
    assert_eq!(
        checker.upsert(target.clone(), on_b).unwrap(),
        Upsert::Replaced
    );
    assert_eq!(checker.len(), 1);
    assert!(
        eventually(Duration::from_secs(2), || b_count.load(Ordering::SeqCst)
            >= 2)
        .await
    );
    assert!(stays(&a_count).await, "the old check still runs");
    assert_eq!(checker.is_up(&target), Some(true));

    assert!(checker.remove(&target));
    assert!(!checker.remove(&target));
    assert_eq!(checker.is_up(&target), None);
    assert!(stays(&b_count).await, "a removed target is still checked");
    // Up all along: no transition, and removal sends none.
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn a_down_real_stays_down_across_a_replace_until_it_rises() {
    let (server, _) = tcp_counter().await;
    let (mut checker, mut rx) = checker();
    let target = id("r");
    let closed = closed_port();
    let broken = TargetSpec {
        fall: 1,
        ..spec(CheckSpec::Tcp(closed.addr()), 50, 40)
    };
    checker.upsert(target.clone(), broken).unwrap();
    let down = next_event(&mut rx).await;
    assert!(!down.transition.is_up());

    let fixed = TargetSpec {
        rise: 3,
        ..spec(CheckSpec::Tcp(server.addr), 50, 40)
    };
    let replaced = Instant::now();
    assert_eq!(
        checker.upsert(target.clone(), fixed).unwrap(),
        Upsert::Replaced
    );
    assert_eq!(checker.is_up(&target), Some(false));
    let up = next_event(&mut rx).await;
    assert_eq!(up.transition, Transition::Up);
    // Three passes at <= 50 ms intervals, the first after up to 5 ms.
    assert!(
        up.at - replaced >= Duration::from_millis(90),
        "{:?}",
        up.at - replaced
    );
}

#[tokio::test]
async fn sync_applies_a_reload() {
    let (server, _) = tcp_counter().await;
    let (mut checker, _rx) = checker();
    let tcp = spec(CheckSpec::Tcp(server.addr), 1000, 500);
    let none = spec(CheckSpec::None, 1000, 500);
    assert!(checker
        .sync([(id("a"), tcp.clone()), (id("b"), tcp.clone())])
        .is_empty());

    let bad = spec(
        CheckSpec::Script(ScriptSpec {
            program: "relative".into(),
            args: vec![],
        }),
        1000,
        500,
    );
    let errors = checker.sync([
        (id("b"), none.clone()),
        (id("c"), tcp.clone()),
        (id("d"), bad),
    ]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, id("d"));
    assert!(matches!(errors[0].1, SetupError::RelativeProgram(_)));
    let mut now: Vec<_> = checker
        .targets()
        .map(|(id, spec)| (id.service.clone(), spec.check.kind()))
        .collect();
    now.sort();
    assert_eq!(now, [("b".to_string(), "none"), ("c".to_string(), "tcp")]);
}

#[tokio::test]
async fn none_checks_and_invalid_specs() {
    let (mut checker, mut rx) = checker();
    let always = TargetSpec {
        alpha: true,
        ..spec(CheckSpec::None, 1000, 500)
    };
    checker.upsert(id("n"), always).unwrap();
    let up = next_event(&mut rx).await;
    assert_eq!(
        (up.transition, up.detail.as_str()),
        (Transition::Up, "none: passed")
    );

    let zero = spec(CheckSpec::None, 0, 500);
    assert!(matches!(
        checker.upsert(id("z"), zero),
        Err(SetupError::Zero { what: "interval" })
    ));
    assert_eq!(checker.len(), 1);
}

#[tokio::test]
async fn removing_a_target_kills_its_running_script() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 30", pid_file.display());
    let (mut checker, _rx) = checker();
    let check = CheckSpec::Script(ScriptSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".to_string(), script],
    });
    checker.upsert(id("s"), spec(check, 10_000, 5_000)).unwrap();
    let pid = || {
        std::fs::read_to_string(&pid_file)
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    };
    assert!(eventually(Duration::from_secs(2), || pid().is_some()).await);
    let pid = pid().unwrap();
    assert!(pid_alive(pid));
    checker.remove(&id("s"));
    assert!(
        eventually(Duration::from_secs(2), || !pid_alive(pid)).await,
        "script {pid} outlived its target"
    );
}

/// `[service.real.health]` from the config file down to the checks: the
/// real with its own short timers and `fall = 1` goes down on them, the
/// other one, on the service's timers, only after its three failures.
#[tokio::test]
async fn a_real_with_its_own_timers_is_checked_on_them() {
    let closed = closed_port();
    let port = closed.port();
    let text = format!(
        r#"{}
[[service]]
name = "web"
vip = "192.0.2.10"
ports = [80]
[service.health]
check = "tcp"
port = {port}
interval = "1s"
timeout = "500ms"
fall = 3

[[service.real]]
address = "127.0.0.2"

[[service.real]]
address = "127.0.0.1"
[service.real.health]
interval = "100ms"
timeout = "50ms"
fall = 1
"#,
        xlvs_config::EXAMPLE_NODE
    );
    let config = xlvs_config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let (mut checker, mut rx) = checker();
    let started = Instant::now();
    let targets = config_targets(&config).map(|(id, spec)| (id, spec.unwrap()));
    assert!(checker.sync(targets).is_empty());

    let first = next_event(&mut rx).await;
    assert_eq!(first.target.to_string(), "web/127.0.0.1");
    assert!(matches!(first.transition, Transition::Down { .. }));
    let other = TargetId {
        address: "127.0.0.2".parse().unwrap(),
        ..first.target.clone()
    };
    assert_eq!(
        checker.is_up(&other),
        Some(true),
        "still on the service's fall"
    );

    let second = next_event(&mut rx).await;
    assert_eq!(second.target, other);
    assert!(matches!(second.transition, Transition::Down { .. }));
    // Three failures at intervals of at least 900 ms (1 s less jitter).
    let took = second.at - started;
    assert!(took >= Duration::from_millis(1700), "{took:?}");
}
