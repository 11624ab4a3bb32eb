use std::io::ErrorKind;
use std::sync::atomic::Ordering;

use xlvs_health::{CheckError, CheckSpec, Phase};

use crate::servers::{closed_port, tcp_counter};
use crate::{run, GENEROUS};

#[tokio::test]
async fn up_when_the_port_accepts() {
    let (server, accepted) = tcp_counter().await;
    run(&CheckSpec::Tcp(server.addr), GENEROUS).await.unwrap();
    assert!(crate::servers::eventually(GENEROUS, || accepted.load(Ordering::SeqCst) == 1).await);
}

#[tokio::test]
async fn down_when_the_port_refuses() {
    let closed = closed_port();
    let err = run(&CheckSpec::Tcp(closed.addr()), GENEROUS)
        .await
        .unwrap_err();
    match &err {
        CheckError::Io {
            phase: Phase::Connect,
            source,
        } => assert_eq!(source.kind(), ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("connect: "), "{err}");
}
