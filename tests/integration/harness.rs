//! The harness itself: a test that leaves jobs behind fails.

use coplane_domain::jobs::{self, Job};
use serde::{Deserialize, Serialize};

use crate::{Backend, spawn_app};

#[derive(Serialize, Deserialize)]
struct Forgotten {}

impl Job for Forgotten {
    const NAME: &'static str = "test.forgotten";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "jobs left unprocessed at the end of the test")]
async fn a_test_that_leaves_jobs_unprocessed_fails() {
    let app = spawn_app(Backend::Sqlite).await;
    jobs::enqueue(&app.db, &Forgotten {}, app.now())
        .await
        .unwrap();
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "jobs failed during the test")]
async fn a_test_that_leaves_failed_jobs_fails() {
    let app = spawn_app(Backend::Sqlite).await;
    // No handler is registered for this kind: the run fails, out of attempts at once.
    app.execute(
        "INSERT INTO jobs (id, name, payload, state, attempts, max_attempts, run_at, created_at, \
         updated_at) VALUES ($1, 'test.unknown', '{}', 'pending', 0, 1, $2, $2, $2)",
        vec![uuid::Uuid::now_v7().into(), app.now().into()],
    )
    .await;
    assert_eq!(app.run_pending_jobs().await, 1);
    app.finish().await;
}
