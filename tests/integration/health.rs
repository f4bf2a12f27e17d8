use serde_json::Value;

use crate::test_both_dbs;

test_both_dbs!(
    healthz_and_readyz_answer_when_the_database_is_current,
    |app| {
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 200);

        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["migrations"], "current");
        assert_eq!(body["database"], "ok");
    }
);

test_both_dbs!(readyz_reports_a_schema_newer_than_the_binary, |app| {
    app.execute(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)",
        vec![],
    )
    .await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["migrations"]
            .as_str()
            .unwrap()
            .contains("newer than this binary"),
        "{body}"
    );
    app.execute(
        "DELETE FROM seaql_migrations WHERE version LIKE 'm2999%'",
        vec![],
    )
    .await;
});

test_both_dbs!(metrics_count_requests_and_show_the_queue, |app| {
    app.get("/healthz").await;
    app.get("/healthz").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"coplane_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains("coplane_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"coplane_job_queue_depth{state="ready"} 0"#),
        "{text}"
    );
});

test_both_dbs!(every_response_carries_a_request_id, |app| {
    let res = app.get("/healthz").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "erp-sync-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "erp-sync-42");

    // An id that is not sane is replaced, not echoed.
    let res = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "<script>");
});

test_both_dbs!(graphiql_is_served_on_get, |app| {
    let res = app.get("/graphql").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("graphiql"));
});
