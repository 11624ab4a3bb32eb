use xlvs_health::{CheckError, CheckSpec, HttpSpec, Phase, ProxyHeader, TlsSpec, TlsVerify};

use crate::servers::{pid_alive, Nginx};
use crate::{run, GENEROUS};

#[tokio::test]
async fn http_check_against_real_nginx() {
    let nginx = Nginx::start(
        "    location = /health { return 200 \"nginx ok\\n\"; }\n\
         location = /down { return 503 \"maintenance\\n\"; }",
    )
    .await;
    let pid = nginx.pid();
    let get = |path: &str, body: Option<&str>| {
        CheckSpec::Http(HttpSpec {
            path: path.to_string(),
            expect_body: body.map(str::to_string),
            ..HttpSpec::new(nginx.addr)
        })
    };
    run(&get("/health", Some("nginx ok")), GENEROUS)
        .await
        .unwrap();
    let err = run(&get("/health", Some("degraded")), GENEROUS)
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Body { .. }), "{err:?}");
    let err = run(&get("/down", None), GENEROUS).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Status { got: 503, .. }),
        "{err:?}"
    );
    let err = run(&get("/missing", None), GENEROUS).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Status { got: 404, .. }),
        "{err:?}"
    );

    let dir = nginx.dir().to_path_buf();
    drop(nginx);
    assert!(!pid_alive(pid), "nginx {pid} survived its guard");
    assert!(!dir.exists());
}

/// nginx reading PROXY headers on its port (`listen ... proxy_protocol`),
/// as the reals of a service with `client_address = "proxy-v2"` or
/// `"proxy-v1"` do: a check sending the header (LOCAL, UNKNOWN) is
/// answered, one without it is refused, as nginx refuses any connection
/// without one there.
#[tokio::test]
async fn http_and_https_checks_send_a_proxy_header_where_nginx_reads_one() {
    let health = "    location = /health { return 200 \"proxied ok\\n\"; }";
    let nginx = Nginx::start_listening(" proxy_protocol", health).await;
    let get = |proxy| {
        CheckSpec::Http(HttpSpec {
            path: "/health".to_string(),
            expect_body: Some("proxied ok".to_string()),
            proxy,
            ..HttpSpec::new(nginx.addr)
        })
    };
    run(&get(Some(ProxyHeader::V2)), GENEROUS).await.unwrap();
    run(&get(Some(ProxyHeader::V1)), GENEROUS).await.unwrap();
    let err = run(&get(None), GENEROUS).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Io { .. } | CheckError::BadHttp { .. }),
        "{err:?}"
    );

    // HTTPS: the header comes before the TLS handshake.
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (cert, key) = (keys.path().join("cert.pem"), keys.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let tls_server = format!(
        "    ssl_certificate {};\n    ssl_certificate_key {};\n{health}",
        cert.display(),
        key.display()
    );
    let tls_nginx = Nginx::start_listening(" ssl proxy_protocol", &tls_server).await;
    let get = |proxy| CheckSpec::Https {
        http: HttpSpec {
            path: "/health".to_string(),
            expect_body: Some("proxied ok".to_string()),
            proxy,
            ..HttpSpec::new(tls_nginx.addr)
        },
        tls: TlsSpec {
            server_name: Some("localhost".to_string()),
            verify: TlsVerify::Insecure,
        },
    };
    run(&get(Some(ProxyHeader::V2)), GENEROUS).await.unwrap();
    let err = run(&get(None), GENEROUS).await.unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::Io {
                phase: Phase::TlsHandshake,
                ..
            }
        ),
        "{err:?}"
    );
}
