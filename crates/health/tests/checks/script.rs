use std::path::Path;
use std::time::Duration;

use xlvs_health::{CheckError, CheckSpec, Phase, Probe, ScriptSpec, SetupError};

use crate::servers::{eventually, pid_alive};
use crate::{run, GENEROUS};

fn sh(script: &str) -> CheckSpec {
    CheckSpec::Script(ScriptSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".to_string(), script.to_string()],
    })
}

fn read_pids(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn exit_status_zero_is_up() {
    run(&sh("exit 0"), GENEROUS).await.unwrap();
    // Arguments are passed as they are, no shell in between.
    let spec = CheckSpec::Script(ScriptSpec {
        program: "/usr/bin/test".into(),
        args: vec!["a b".to_string(), "=".to_string(), "a b".to_string()],
    });
    run(&spec, GENEROUS).await.unwrap();
}

#[tokio::test]
async fn other_exit_statuses_are_down_with_the_output() {
    let err = run(
        &sh("echo progress; echo 'db: connection refused' >&2; exit 3"),
        GENEROUS,
    )
    .await
    .unwrap_err();
    match &err {
        CheckError::Script {
            program,
            status,
            output,
        } => {
            assert_eq!(program, Path::new("/bin/sh"));
            assert!(status.contains('3'), "{status}");
            assert_eq!(output, "db: connection refused");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "/bin/sh failed: exit status: 3: db: connection refused"
    );
    // Without stderr, stdout's last line; a lot of output does not block.
    let err = run(&sh("seq 1 100000; exit 1"), GENEROUS)
        .await
        .unwrap_err();
    match err {
        CheckError::Script { output, .. } => assert!(!output.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_script_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The shell records its pid and that of a background child, then waits.
    let script = format!(
        "echo $$ > {p}; sleep 30 & echo $! >> {p}; wait",
        p = pids.display()
    );
    let timeout = Duration::from_millis(500);
    let err = run(&sh(&script), timeout).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Timeout { phase: Phase::Script, after } if after == timeout),
        "{err:?}"
    );
    let pids = read_pids(&pids);
    assert_eq!(pids.len(), 2, "{pids:?}");
    // The shell was reaped by the check; its child dies with the group.
    assert!(!pid_alive(pids[0]), "shell {} still alive", pids[0]);
    assert!(
        eventually(Duration::from_secs(2), || !pid_alive(pids[1])).await,
        "background sleep {} still alive",
        pids[1]
    );
}

#[tokio::test]
async fn a_background_child_holding_the_output_does_not_hang_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Exits 0 at once, but a child keeps stdout open.
    let script = format!("sleep 30 & echo $! > {}; exit 0", pids.display());
    run(&sh(&script), Duration::from_millis(500)).await.unwrap();
    let pids = read_pids(&pids);
    assert!(
        eventually(Duration::from_secs(2), || !pid_alive(pids[0])).await,
        "leftover sleep {} still alive",
        pids[0]
    );
}

#[tokio::test]
async fn a_missing_program_is_down() {
    let spec = CheckSpec::Script(ScriptSpec {
        program: "/nonexistent/check".into(),
        args: vec![],
    });
    let err = run(&spec, GENEROUS).await.unwrap_err();
    assert!(matches!(err, CheckError::Spawn { .. }), "{err:?}");
}

#[test]
fn a_relative_program_fails_at_setup() {
    let spec = CheckSpec::Script(ScriptSpec {
        program: "sh".into(),
        args: vec![],
    });
    assert!(matches!(
        Probe::new(&spec),
        Err(SetupError::RelativeProgram(_))
    ));
}
