use xlvs_health::{CheckError, CheckSpec, HttpSpec};

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
