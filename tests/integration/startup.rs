//! Start-up refuses what it cannot run with, saying why.

use std::sync::Arc;

use coplane_api::{Application, Components, Settings};
use coplane_domain::SystemClock;
use sea_orm::ConnectionTrait;

use crate::{Backend, FreshDatabase, TempDir, test_env};

async fn build_error(env: Vec<(String, String)>, components: Components) -> String {
    let settings = Settings::from_sources(None, env).expect("valid settings");
    match Application::build_with_clock(settings, components, Arc::new(SystemClock)).await {
        Ok(_) => panic!("the application started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn an_unreachable_database_fails_start_naming_it() {
    let dir = TempDir::new();
    let e = build_error(
        test_env("postgres://coplane:hunter2@127.0.0.1:1/nowhere", &dir.0),
        Components::Serve,
    )
    .await;
    assert!(
        e.contains("cannot connect to the database at postgres://coplane:***@127.0.0.1:1/nowhere"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "the password leaked: {e}");
}

// Not a TestApp: builds of the application on a fresh database, which start-up refuses.
crate::test_both_backends!(
    a_schema_behind_or_ahead_of_the_binary_fails_start,
    schema_checks
);

async fn schema_checks(backend: Backend) {
    let db = FreshDatabase::create(backend).await;
    let dir = TempDir::new();
    let e = build_error(test_env(&db.url, &dir.0), Components::Serve).await;
    assert!(
        e.contains("behind this binary") && e.contains("coplane migrate"),
        "{e}"
    );

    // `up` applies them and starts.
    let settings = Settings::from_sources(None, test_env(&db.url, &dir.0)).unwrap();
    let app = Application::build(settings, Components::Up)
        .await
        .expect("up migrates and starts");
    let conn = app.db().clone();
    drop(app);
    conn.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();
    for components in [Components::Up, Components::Serve, Components::Work] {
        let e = build_error(test_env(&db.url, &dir.0), components).await;
        assert!(
            e.contains("m29991231_000001_from_the_future") && e.contains("newer coplane"),
            "{e}"
        );
    }
    db.drop().await;
}
