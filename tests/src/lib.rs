//! The integration harness: [`spawn_app`] starts the real server on port 0
//! with a fresh database — a fresh SQLite file, or a new PostgreSQL database
//! when `COPLANE_TEST_DATABASE_URL` is set — and [`TestApp`] gives typed
//! helpers. Jobs never run in the background here: tests drive them with
//! [`TestApp::run_pending_jobs`] and a [`ManualClock`], and
//! [`TestApp::finish`] fails the test if jobs are left failed or unprocessed.
//! [`test_both_dbs!`] writes a test once and runs it on both backends, on
//! [`spawn_app`] or on an app builder of the test's own;
//! [`test_both_backends!`] runs a function that starts its own app(s).
//! [`table::Table`] runs table-driven checks, reporting every failing row.
//!
//! Logs are quiet unless `TEST_LOG` is set.

use std::sync::{Arc, Once};

use chrono::{DateTime, SubsecRound, Utc};
use coplane_api::cli::TokenArgs;
use coplane_api::{Application, Components, Settings};
use coplane_domain::clock::ManualClock;
use coplane_domain::jobs;
use coplane_worker::{Runner, WorkerContext};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod attacks;
pub mod bench;
pub mod fake_kube;
pub mod http;
pub mod smtp;
pub mod stripe;
pub mod table;

/// The environment variable naming a PostgreSQL server for tests
/// (`postgres://postgres@127.0.0.1:5432/postgres`).
pub const TEST_DATABASE_URL: &str = "COPLANE_TEST_DATABASE_URL";

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the server named by `COPLANE_TEST_DATABASE_URL`.
    Postgres,
}

/// Writes a test once and runs it on SQLite and on PostgreSQL: two tests,
/// `NAME::sqlite` and `NAME::postgres` (which passes without running when
/// `COPLANE_TEST_DATABASE_URL` is not set). The app comes from
/// [`spawn_app`], or from `app = BUILD`, any `BUILD(Backend)` that is a
/// future of a [`TestApp`]; after the body (whose locals are dropped by
/// then), [`TestApp::finish`] ends the test.
///
/// ```ignore
/// test_both_dbs!(viewer_is_anonymous_without_a_token, |app| {
///     let body = app.graphql("{ viewer { roles } }", None).await;
///     assert_eq!(body["data"]["viewer"]["roles"], serde_json::json!([]));
/// });
///
/// // An app of the test's own: `async fn app_with_mail(Backend) -> TestApp`.
/// test_both_dbs!(a_reminder_is_mailed, app = app_with_mail, |app| {
///     // ...
/// });
/// ```
#[macro_export]
macro_rules! test_both_dbs {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::test_both_dbs!($name, app = $crate::spawn_app, |$app| $body);
    };
    ($name:ident, app = $build:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                #[allow(unused_mut)]
                let mut $app = ($build)($crate::Backend::Sqlite).await;
                $body
                $app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if !$crate::postgres_available() {
                    return;
                }
                #[allow(unused_mut)]
                let mut $app = ($build)($crate::Backend::Postgres).await;
                $body
                $app.finish().await;
            }
        }
    };
}

/// Two tests, one per backend (`NAME::sqlite`, `NAME::postgres`), around an
/// `async fn RUN(backend)` that starts and ends its own app(s) — or none:
/// for tests with more than one app, or with something that must outlive
/// the app (a fake API server stopped after [`TestApp::finish`]).
#[macro_export]
macro_rules! test_both_backends {
    ($name:ident, $run:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$run($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::postgres_available() {
                    super::$run($crate::Backend::Postgres).await;
                }
            }
        }
    };
}

/// Whether PostgreSQL tests can run; prints why not, once, when they cannot.
pub fn postgres_available() -> bool {
    static NOTICE: Once = Once::new();
    let set = std::env::var(TEST_DATABASE_URL).is_ok_and(|v| !v.is_empty());
    if !set {
        NOTICE.call_once(|| {
            eprintln!(
                "{TEST_DATABASE_URL} is not set: PostgreSQL variants of the tests do not run"
            );
        });
    }
    set
}

fn init_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            coplane_api::telemetry::init(coplane_api::settings::LogFormat::Pretty);
        }
    });
}

/// A fresh, empty database of `backend`, and how to drop it.
pub struct FreshDatabase {
    /// Its URL.
    pub url: String,
    drop: Option<(String, String)>,
}

impl FreshDatabase {
    /// Creates one.
    pub async fn create(backend: Backend) -> Self {
        let name = format!("coplane_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Self {
                    url: format!("sqlite://{}", path.display()),
                    drop: None,
                }
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var(TEST_DATABASE_URL).expect("COPLANE_TEST_DATABASE_URL is set");
                let admin = sea_orm::Database::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach {TEST_DATABASE_URL} ({admin_url}): {e}")
                    });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("CREATE DATABASE");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    drop: Some((admin_url, name)),
                }
            }
        }
    }

    /// Drops it (PostgreSQL); SQLite files live in the temp directory.
    pub async fn drop(self) {
        if let Some((admin_url, name)) = self.drop
            && let Ok(admin) = sea_orm::Database::connect(&admin_url).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

/// A running coplane (API only; jobs run when the test says so).
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The backend under test.
    pub backend: Backend,
    /// The app's database pool.
    pub db: DatabaseConnection,
    /// The clock jobs and domain functions see.
    pub clock: Arc<ManualClock>,
    /// The settings the app was built with.
    pub settings: Settings,
    /// The production job runner, on the test clock.
    pub runner: Runner<WorkerContext>,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    server: JoinHandle<anyhow::Result<()>>,
    database: FreshDatabase,
    _manifests: TempDir,
}

/// Settings environment for a test app on `database_url`.
pub fn test_env(database_url: &str, manifests: &std::path::Path) -> Vec<(String, String)> {
    [
        ("COPLANE_DATABASE_URL", database_url.to_owned()),
        ("COPLANE_LISTEN", "127.0.0.1:0".to_owned()),
        (
            "COPLANE_JWT_SECRET",
            format!("test-secret-{}", uuid::Uuid::new_v4().simple()),
        ),
        (
            "COPLANE_KUBE_TARGET",
            format!("manifests:{}", manifests.display()),
        ),
        ("COPLANE_DATABASE_MAX_CONNECTIONS", "8".to_owned()),
        // The suite calls faster than any client should; the rate-limit
        // tests turn the limits on.
        ("COPLANE_RATE_LIMIT_ANONYMOUS", "off".to_owned()),
        ("COPLANE_RATE_LIMIT_CREDENTIAL", "off".to_owned()),
        ("COPLANE_RATE_LIMIT_USAGE", "off".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Starts coplane on a fresh database of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts coplane on a fresh database, after `configure` edits the environment.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Vec<(String, String)>),
) -> TestApp {
    init_logs();
    let database = FreshDatabase::create(backend).await;
    let manifests = TempDir::new();
    let mut env = test_env(&database.url, &manifests.0);
    configure(&mut env);
    let settings = Settings::from_sources(None, env).expect("test settings are valid");
    // Apply migrations as `coplane migrate` does, then serve without a
    // background worker.
    let conn = coplane_api::db::connect(&settings.database)
        .await
        .expect("connect");
    coplane_api::db::prepare(&conn, coplane_api::db::OnPending::Apply)
        .await
        .expect("migrate");
    conn.close().await.ok();

    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(0)));
    let app = Application::build_with_clock(settings.clone(), Components::Serve, clock.clone())
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let runner = coplane_api::startup::build_runner(&settings, db.clone(), clock.clone())
        .await
        .expect("runner");
    TestApp {
        address,
        backend,
        db,
        clock,
        settings,
        runner,
        client: reqwest::Client::new(),
        shutdown,
        server,
        database,
        _manifests: manifests,
    }
}

impl TestApp {
    /// `POST /graphql` with `query`, as `token` (or anonymous); the JSON body.
    pub async fn graphql(&self, query: &str, token: Option<&str>) -> Value {
        self.graphql_vars(query, json!({}), token).await
    }

    /// `POST /graphql` with variables.
    pub async fn graphql_vars(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let res = self.graphql_response(query, variables, token).await;
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert!(
            status.is_success(),
            "POST /graphql answered {status}: {body}"
        );
        body
    }

    /// `POST /graphql`, the raw response.
    pub async fn graphql_response(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("the server answers")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    /// A JWT for `sub` with `roles`, as `coplane token` mints it.
    pub fn token(&self, roles: &[&str], sub: &str) -> String {
        self.token_with(TokenArgs {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            sub: sub.to_owned(),
            reseller: None,
            member: None,
            customer: None,
            tenants: Vec::new(),
            scopes: Vec::new(),
            coop_wide: false,
            ttl: "1h".to_owned(),
        })
    }

    /// A JWT as `coplane token` mints it from `args`.
    pub fn token_with(&self, args: TokenArgs) -> String {
        coplane_api::cli::mint(&self.settings, &args).expect("a token")
    }

    /// The current test time.
    pub fn now(&self) -> DateTime<Utc> {
        coplane_domain::Clock::now(&*self.clock)
    }

    /// Points the worker at a Kubernetes API (the fake one, or a real cluster)
    /// instead of a manifests directory.
    pub fn use_cluster(&mut self, client: kube::Client) {
        self.use_cluster_named(coplane_domain::tenancy::tenants::DEFAULT_CLUSTER, client);
    }

    /// Points the worker's cluster `name` at a Kubernetes API.
    pub fn use_cluster_named(&mut self, name: &str, client: kube::Client) {
        let mut ctx = self.runner.context().clone();
        ctx.targets
            .insert(name, coplane_worker::kube::target::Target::Cluster(client));
        let config = coplane_worker::RunnerConfig {
            worker_id: "test-worker".into(),
            ..Default::default()
        };
        self.runner = coplane_worker::build_runner(ctx, config);
    }

    /// Where the worker writes manifests (the default target in tests).
    pub fn manifests_dir(&self) -> &std::path::Path {
        &self._manifests.0
    }

    /// SQL statements the server has run so far (`coplane_db_statements_total`
    /// from `/metrics`; the scrape itself reads the job queue's depth).
    pub async fn statements(&self) -> i64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("coplane_db_statements_total "))
            .unwrap_or_else(|| panic!("no statement counter: {text}"))
            .parse()
            .unwrap()
    }

    /// Runs every due job, as a worker would; returns how many ran.
    pub async fn run_pending_jobs(&self) -> usize {
        self.runner
            .run_pending()
            .await
            .expect("the queue is readable")
    }

    /// Runs `sql` on the app's database.
    pub async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) -> u64 {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                values,
            ))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected()
    }

    /// Ends the test: fails if jobs are failed or left unprocessed, stops the
    /// server gracefully and drops the database.
    pub async fn finish(self) {
        let failed = jobs::failed(&self.db).await.expect("read failed jobs");
        assert!(failed.is_empty(), "jobs failed during the test: {failed:?}");
        let periodic = self.runner.periodic_names();
        let unfinished = jobs::unfinished(&self.db, self.now(), &periodic)
            .await
            .expect("read jobs");
        assert!(
            unfinished.is_empty(),
            "jobs left unprocessed at the end of the test: {unfinished:?}"
        );
        self.shutdown.cancel();
        match tokio::time::timeout(std::time::Duration::from_secs(30), self.server).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("the server did not stop cleanly: {other:?}"),
        }
        self.db.close().await.ok();
        self.database.drop().await;
    }
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates one.
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("coplane-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a mutation as `token` and returns its payload, failing on GraphQL
/// errors or user errors.
pub async fn mutate(
    app: &TestApp,
    token: &str,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let query = format!(
        "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} userErrors {{ field message code }} }} }}"
    );
    let body = app
        .graphql_vars(&query, json!({ "input": input }), Some(token))
        .await;
    assert!(body.get("errors").is_none(), "{field}: {body}");
    let payload = body["data"][field].clone();
    assert_eq!(payload["userErrors"], json!([]), "{field}: {payload}");
    payload
}
