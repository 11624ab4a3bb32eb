use std::io::ErrorKind;
use std::sync::atomic::Ordering;

use xlvs_health::{CheckError, CheckSpec, DnsSpec, DnsType, Phase, Probe, SetupError};

use crate::servers::{closed_port, dns_responder, DnsMode};
use crate::{run, GENEROUS, SHORT};

#[tokio::test]
async fn up_on_a_matching_reply() {
    let (server, queries) = dns_responder(DnsMode::Answer).await;
    run(&CheckSpec::Dns(DnsSpec::new(server.addr)), GENEROUS)
        .await
        .unwrap();
    let spec = DnsSpec {
        name: "localhost".to_string(),
        qtype: DnsType::Soa,
        ..DnsSpec::new(server.addr)
    };
    run(&CheckSpec::Dns(spec), GENEROUS).await.unwrap();
    assert_eq!(queries.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_reply_with_another_id_is_ignored_until_the_timeout() {
    let (server, queries) = dns_responder(DnsMode::WrongId).await;
    let err = run(&CheckSpec::Dns(DnsSpec::new(server.addr)), SHORT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::Timeout {
                phase: Phase::DnsReply,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(queries.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn garbage_with_our_id_is_down() {
    let (server, _) = dns_responder(DnsMode::Garbage).await;
    let err = run(&CheckSpec::Dns(DnsSpec::new(server.addr)), GENEROUS)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::BadDns { .. }), "{err:?}");
}

#[tokio::test]
async fn a_closed_port_is_refused_at_once() {
    // Bound as TCP, but nobody has the UDP port either (ephemeral ports are
    // shared per protocol only by chance; the ICMP error proves it).
    let closed = closed_port();
    let err = run(&CheckSpec::Dns(DnsSpec::new(closed.addr())), GENEROUS)
        .await
        .unwrap_err();
    match err {
        CheckError::Io { source, .. } => assert_eq!(source.kind(), ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_names_fail_at_setup() {
    let spec = DnsSpec {
        name: "a..b".to_string(),
        ..DnsSpec::new("127.0.0.1:53".parse().unwrap())
    };
    assert!(matches!(
        Probe::new(&CheckSpec::Dns(spec)),
        Err(SetupError::DnsName { .. })
    ));
}
