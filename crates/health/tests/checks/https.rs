use xlvs_health::{CheckError, CheckSpec, HttpSpec, Phase, Probe, SetupError, TlsSpec, TlsVerify};

use crate::servers::{hung, self_signed, HttpServer};
use crate::{run, GENEROUS, SHORT};

fn https(
    server_addr: std::net::SocketAddr,
    server_name: Option<&str>,
    verify: TlsVerify,
) -> CheckSpec {
    CheckSpec::Https {
        http: HttpSpec {
            path: "/status".to_string(),
            expect_body: Some("green".to_string()),
            ..HttpSpec::new(server_addr)
        },
        tls: TlsSpec {
            server_name: server_name.map(str::to_string),
            verify,
        },
    }
}

fn handshake_error(err: &CheckError) -> String {
    match err {
        CheckError::Io {
            phase: Phase::TlsHandshake,
            source,
        } => source.to_string(),
        other => panic!("not a handshake error: {other:?}"),
    }
}

#[tokio::test]
async fn insecure_accepts_a_self_signed_certificate() {
    let cert = self_signed();
    let server = HttpServer::start_with(200, "all green", Some(cert.acceptor.clone())).await;
    run(&https(server.addr(), None, TlsVerify::Insecure), GENEROUS)
        .await
        .unwrap();
    // The request went through TLS and carries the SNI name as Host.
    run(
        &https(server.addr(), Some("localhost"), TlsVerify::Insecure),
        GENEROUS,
    )
    .await
    .unwrap();
    let requests = server.requests.lock().unwrap().clone();
    let port = server.addr().port();
    assert!(
        requests[1].contains(&format!("\r\nHost: localhost:{port}\r\n")),
        "{requests:?}"
    );

    server.set(500, "all red", false);
    let err = run(&https(server.addr(), None, TlsVerify::Insecure), GENEROUS)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckError::Status { got: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn verification_rejects_a_self_signed_certificate() {
    let cert = self_signed();
    let server = HttpServer::start_with(200, "all green", Some(cert.acceptor.clone())).await;
    let err = run(
        &https(server.addr(), Some("localhost"), TlsVerify::SystemRoots),
        GENEROUS,
    )
    .await
    .unwrap_err();
    let why = handshake_error(&err);
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert!(err.to_string().starts_with("TLS handshake: "), "{err}");
    // No request reached the server.
    assert!(server.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn verification_with_the_certificate_as_ca_checks_the_name() {
    let cert = self_signed();
    let server = HttpServer::start_with(200, "all green", Some(cert.acceptor.clone())).await;
    let ca = TlsVerify::CaFile(cert.pem_file.path().to_path_buf());
    run(
        &https(server.addr(), Some("localhost"), ca.clone()),
        GENEROUS,
    )
    .await
    .unwrap();
    // Without a server name the address is checked, and the certificate
    // only names localhost.
    let err = run(&https(server.addr(), None, ca), GENEROUS)
        .await
        .unwrap_err();
    let why = handshake_error(&err);
    assert!(why.contains("not valid for name \"127.0.0.1\""), "{why}");
}

#[tokio::test]
async fn a_hung_tls_server_times_out_in_the_handshake() {
    let server = hung().await;
    let err = run(&https(server.addr, None, TlsVerify::Insecure), SHORT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::Timeout {
                phase: Phase::TlsHandshake,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn bad_tls_settings_fail_at_setup() {
    let addr = "127.0.0.1:443".parse().unwrap();
    let missing = TlsVerify::CaFile("/nonexistent/ca.pem".into());
    assert!(matches!(
        Probe::new(&https(addr, None, missing)),
        Err(SetupError::CaFile { .. })
    ));
    let empty = tempfile::NamedTempFile::new().unwrap();
    let err = Probe::new(&https(addr, None, TlsVerify::CaFile(empty.path().into()))).unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");
    assert!(matches!(
        Probe::new(&https(addr, Some("bad name!"), TlsVerify::Insecure)),
        Err(SetupError::ServerName { .. })
    ));
}
