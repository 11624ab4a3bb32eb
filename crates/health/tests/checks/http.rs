use xlvs_health::{CheckError, CheckSpec, HttpSpec, Phase};

use crate::servers::{hung, HttpServer, LOCALHOST};
use crate::{run, GENEROUS, SHORT};

fn get(server: &HttpServer, path: &str) -> HttpSpec {
    HttpSpec {
        path: path.to_string(),
        ..HttpSpec::new(server.addr())
    }
}

#[tokio::test]
async fn up_on_the_expected_status_and_the_request_is_well_formed() {
    let server = HttpServer::start(200, "fine").await;
    run(&CheckSpec::Http(get(&server, "/healthz?deep=1")), GENEROUS)
        .await
        .unwrap();
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let port = server.addr().port();
    assert!(
        requests[0].starts_with(&format!(
            "GET /healthz?deep=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        )),
        "{:?}",
        requests[0]
    );
    assert!(requests[0].contains("\r\nConnection: close\r\n"));
}

#[tokio::test]
async fn down_on_another_status() {
    let server = HttpServer::start(503, "maintenance").await;
    let err = run(&CheckSpec::Http(get(&server, "/")), GENEROUS)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::Status {
                got: 503,
                expected: 200
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "HTTP status 503, expected 200");

    // A non-200 expectation is honoured both ways.
    let spec = HttpSpec {
        expect_status: 503,
        ..get(&server, "/")
    };
    run(&CheckSpec::Http(spec.clone()), GENEROUS).await.unwrap();
    server.set(200, "back", false);
    let err = run(&CheckSpec::Http(spec), GENEROUS).await.unwrap_err();
    assert!(matches!(
        err,
        CheckError::Status {
            got: 200,
            expected: 503
        }
    ));
}

#[tokio::test]
async fn body_substring_with_length_and_chunked_bodies() {
    let server = HttpServer::start(200, "status: database ok").await;
    let spec = HttpSpec {
        expect_body: Some("database ok".to_string()),
        ..get(&server, "/")
    };
    run(&CheckSpec::Http(spec.clone()), GENEROUS).await.unwrap();

    // Chunked, with the text split across the two chunks.
    server.set(200, "status: database ok", true);
    run(&CheckSpec::Http(spec.clone()), GENEROUS).await.unwrap();

    for chunked in [false, true] {
        server.set(200, "status: database degraded", chunked);
        let err = run(&CheckSpec::Http(spec.clone()), GENEROUS)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CheckError::Body { searched: 25, .. }),
            "chunked {chunked}: {err:?}"
        );
        assert!(err.to_string().contains("\"database ok\""), "{err}");
    }
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_costs_one_timeout() {
    let server = hung().await;
    let err = run(&CheckSpec::Http(HttpSpec::new(server.addr)), SHORT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckError::Timeout { phase: Phase::Response, after } if after == SHORT),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "timed out after 300ms (reading response)");
}

#[tokio::test]
async fn a_server_that_closes_at_once_is_a_malformed_response() {
    let listener = tokio::net::TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            drop(conn);
        }
    });
    let err = run(&CheckSpec::Http(HttpSpec::new(addr)), GENEROUS)
        .await
        .unwrap_err();
    task.abort();
    // Either the close is seen as EOF or, if it raced the request, as a
    // reset; both must fail the check, quickly.
    assert!(
        matches!(&err, CheckError::BadHttp { .. } | CheckError::Io { .. }),
        "{err:?}"
    );
}
