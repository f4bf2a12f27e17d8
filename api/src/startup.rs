//! Building and running the process: the HTTP server, the job runner, or both.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use coplane_domain::tenancy::{Clusters, Platform};
use coplane_domain::{Clock, SystemClock};
use coplane_graphql::Limits;
use coplane_worker::context::{Mailer, WorkerContext, stripe_client};
use coplane_worker::kube::operator::{self, OperatorConfig, OperatorMetrics};
use coplane_worker::kube::target::{Target, Targets};
use coplane_worker::metrics::JobMetrics;
use coplane_worker::{Runner, RunnerConfig};
use prometheus::Registry;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::db::{self, OnPending};
use crate::http::admit::Gate;
use crate::http::body::BodyLimits;
use crate::http::ratelimit::RateLimiter;
use crate::http::{graphiql, graphql, health, metrics, observe};
use crate::settings::{JwtSettings, Settings};

/// What a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Components {
    /// API and worker (`coplane up`); applies pending migrations.
    Up,
    /// The API alone (`coplane serve`).
    Serve,
    /// The worker alone, with health and metrics over HTTP (`coplane work`).
    Work,
}

/// A built, not yet running, coplane process.
pub struct Application {
    port: u16,
    server: Server,
    runner: Option<Runner<WorkerContext>>,
    operators: Vec<Arc<operator::Context>>,
    db: DatabaseConnection,
    shutdown: CancellationToken,
}

impl Application {
    /// Builds the process with the system clock.
    pub async fn build(settings: Settings, components: Components) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, components, Arc::new(SystemClock)).await
    }

    /// Builds the process with `clock` (tests drive time through it).
    pub async fn build_with_clock(
        settings: Settings,
        components: Components,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let registry = Registry::new_custom(None, None).context("creating the metrics registry")?;
        let statements =
            prometheus::IntCounter::new("coplane_db_statements_total", "SQL statements run.")
                .context("creating the statement counter")?;
        registry
            .register(Box::new(statements.clone()))
            .context("registering the statement counter")?;
        let mut db = db::connect(&settings.database).await?;
        db.set_metric_callback(move |info| {
            statements.inc();
            tracing::trace!(target: "coplane::sql", elapsed = ?info.elapsed, failed = info.failed, sql = %info.statement.sql);
        });
        let on_pending = if components == Components::Up {
            OnPending::Apply
        } else {
            OnPending::Refuse
        };
        db::prepare(&db, on_pending).await?;
        coplane_domain::billing::metrics::ensure_builtin(&db, clock.now())
            .await
            .context("creating the allocation metrics")?;
        if settings.database.is_default {
            tracing::info!(
                "database: embedded SQLite file coplane.db in the working directory \
                 (set COPLANE_DATABASE_URL for PostgreSQL)"
            );
        } else {
            tracing::info!(database = %settings.database.redacted_url(), "database connected");
        }

        let http_metrics = observe_metrics(&registry)?;
        let metrics_state = metrics::MetricsState::new(registry.clone(), db.clone(), clock.clone())
            .context("registering queue metrics")?;

        let runner = if components == Components::Serve {
            None
        } else {
            let job_metrics = JobMetrics::register(&registry).context("registering job metrics")?;
            Some(
                build_runner(&settings, db.clone(), clock.clone())
                    .await?
                    .with_metrics(job_metrics),
            )
        };
        // Against a cluster, the worker runs the operator too: one per cluster.
        let mut operators = Vec::new();
        if let (Some(r), Components::Up | Components::Work) = (&runner, components) {
            let mut metrics = None;
            for (_, target) in r.context().targets.iter() {
                if let Target::Cluster(client) = target {
                    if metrics.is_none() {
                        metrics = Some(
                            OperatorMetrics::register(&registry)
                                .context("registering operator metrics")?,
                        );
                    }
                    operators.push(Arc::new(operator::Context {
                        client: client.clone(),
                        config: operator_config(&settings),
                        clock: clock.clone(),
                        metrics: metrics.clone(),
                    }));
                }
            }
        }

        let api = if components == Components::Work {
            None
        } else {
            if let JwtSettings::Hs256 { source, .. } = &settings.jwt {
                tracing::info!("JWTs: HS256 with the {source}");
            }
            let clusters = Clusters::new(
                &settings
                    .kube
                    .clusters
                    .iter()
                    .map(|(name, _)| name.clone())
                    .collect::<Vec<_>>(),
            )
            .map_err(|m| anyhow::anyhow!("COPLANE_KUBE_CLUSTERS: {m}"))?;
            let platform = Platform {
                clusters,
                app_domain: settings.kube.app_domain.clone(),
            };
            let recorded = coplane_domain::orders::installs::record_missing_hosts(&db, &platform)
                .await
                .context("recording the hosts of existing installs")?;
            if recorded > 0 {
                tracing::info!(recorded, "recorded the hosts of existing installs");
            }
            let schema = coplane_graphql::build_schema(
                db.clone(),
                clock.clone(),
                platform,
                Limits::default(),
            );
            let gate = Gate {
                auth: Authenticator::new(&settings.jwt),
                db: db.clone(),
                clock: clock.clone(),
                limiter: RateLimiter::new(&settings.http),
                sockets: Default::default(),
            };
            Some((schema, gate))
        };

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {} (COPLANE_LISTEN)", settings.listen))?;
        let port = listener.local_addr()?.port();
        let server = http_server(
            listener,
            Shared {
                db: db.clone(),
                clock: clock.clone(),
                http_metrics,
                metrics_state,
            },
            api,
            Api {
                webhook_secret: crate::http::billing::WebhookSecret(
                    settings.billing.stripe_webhook_secret.clone(),
                ),
                limits: BodyLimits {
                    graphql: settings.http.graphql_body_limit,
                    usage: settings.http.usage_body_limit,
                },
                cors_origins: settings.http.cors_origins.clone(),
            },
        )?;
        tracing::info!(address = %settings.listen.ip(), port, ?components, "listening");
        Ok(Self {
            port,
            server,
            runner,
            operators,
            db,
            shutdown: CancellationToken::new(),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Cancelling this token stops the process gracefully, as SIGTERM does.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until SIGINT, SIGTERM or the shutdown token; then lets
    /// in-flight requests and jobs finish, for at most [`DRAIN`] each: a
    /// job or an operator stuck on an unreachable cluster is abandoned
    /// (its lease expires and another worker runs it again). A second
    /// signal stops at once.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            runner,
            operators,
            shutdown,
            ..
        } = self;
        let handle = server.handle();
        let signals = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    () = wait_for_signal() => tracing::info!("signal received; shutting down"),
                    () = shutdown.cancelled() => {}
                }
                shutdown.cancel();
                tokio::select! {
                    () = handle.stop(true) => {}
                    () = wait_for_signal() => {
                        tracing::warn!("second signal: stopping without draining");
                        std::process::exit(130);
                    }
                }
                wait_for_signal().await;
                tracing::warn!("second signal: stopping without draining");
                std::process::exit(130);
            }
        });
        let mut background: Vec<(&str, tokio::task::JoinHandle<()>)> = Vec::new();
        if let Some(r) = runner {
            background.push(("the job runner", tokio::spawn(r.run(shutdown.clone()))));
        }
        for ctx in operators {
            background.push((
                "the operator",
                tokio::spawn(operator::run(ctx, shutdown.clone())),
            ));
        }
        let served = server.await;
        shutdown.cancel();
        let deadline = tokio::time::Instant::now() + DRAIN;
        for (what, task) in background {
            let abort = task.abort_handle();
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.is_panic() => anyhow::bail!("{what} panicked"),
                Ok(Err(_)) => {}
                Err(_) => {
                    tracing::warn!(
                        "{what} did not stop within {} s; abandoning it",
                        DRAIN.as_secs()
                    );
                    abort.abort();
                }
            }
        }
        signals.abort();
        served.context("the HTTP server failed")
    }
}

/// How long in-flight requests, jobs and the operator get to finish once a
/// stop is asked for.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The operator's tuning from the settings.
pub fn operator_config(settings: &Settings) -> OperatorConfig {
    OperatorConfig {
        retention: chrono::Duration::from_std(settings.kube.namespace_retention)
            .unwrap_or(chrono::Duration::days(30)),
        app_domain: settings.kube.app_domain.clone(),
        ..OperatorConfig::default()
    }
}

fn observe_metrics(registry: &Registry) -> anyhow::Result<crate::http::metrics::HttpMetrics> {
    crate::http::metrics::HttpMetrics::register(registry).context("registering HTTP metrics")
}

/// The production job runner for these settings.
pub async fn build_runner(
    settings: &Settings,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Runner<WorkerContext>> {
    let mailer = settings
        .email
        .smtp_url
        .as_ref()
        .map(|u| Mailer::from_url(u.expose_secret()))
        .transpose()
        .context("COPLANE_SMTP_URL")?;
    let stripe = settings
        .billing
        .stripe_secret_key
        .as_ref()
        .map(|k| {
            stripe_client(
                k.expose_secret(),
                settings
                    .billing
                    .stripe_api_base
                    .as_ref()
                    .map(url::Url::as_str),
            )
        })
        .transpose()
        .context("COPLANE_STRIPE_SECRET_KEY")?;
    let mut targets = Targets::default();
    for (cluster, target) in &settings.kube.clusters {
        tracing::info!(
            "kubernetes target of cluster {cluster}: {target} ({})",
            settings.kube.reason
        );
        let connected = Target::connect(target).await.with_context(|| {
            format!(
                "cannot reach Kubernetes for cluster {cluster} ({target}); \
                 set COPLANE_KUBE_TARGET=manifests:DIR to run without a cluster"
            )
        })?;
        targets.insert(cluster.clone(), connected);
    }
    let ctx = WorkerContext {
        db,
        clock,
        targets,
        ingress_namespaces: settings.kube.ingress_namespaces.clone(),
        namespace_retention: chrono::Duration::from_std(settings.kube.namespace_retention)
            .context("COPLANE_NAMESPACE_RETENTION is too long")?,
        mailer,
        mail: coplane_worker::mail::MailConfig {
            from: settings.email.from.clone(),
            templates: settings.email.templates.clone(),
        },
        stripe,
        failed_job_retention: chrono::Duration::from_std(settings.worker.failed_job_retention)
            .context("COPLANE_FAILED_JOB_RETENTION is too long")?,
    };
    let config = RunnerConfig {
        concurrency: settings.worker.concurrency,
        poll_interval: settings.worker.poll_interval,
        lease: chrono::Duration::from_std(settings.worker.lease)
            .context("COPLANE_JOB_LEASE is too long")?,
        ..RunnerConfig::default()
    };
    Ok(coplane_worker::build_runner(ctx, config))
}

/// What every route shares.
struct Shared {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    http_metrics: crate::http::metrics::HttpMetrics,
    metrics_state: metrics::MetricsState,
}

/// The API's HTTP settings.
struct Api {
    webhook_secret: crate::http::billing::WebhookSecret,
    limits: BodyLimits,
    cors_origins: Vec<String>,
}

/// CORS for the configured origins only: a browser on any other origin gets
/// no `Access-Control-Allow-Origin`, so it cannot read the answers.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
        ])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

fn http_server(
    listener: TcpListener,
    shared: Shared,
    api: Option<(coplane_graphql::Api, Gate)>,
    settings: Api,
) -> anyhow::Result<Server> {
    let webhook_secret = web::Data::new(settings.webhook_secret);
    let limits = web::Data::new(settings.limits);
    let origins = settings.cors_origins;
    let db = web::Data::new(shared.db);
    let clock = web::Data::new(shared.clock);
    let http_metrics = web::Data::new(shared.http_metrics);
    let metrics_state = web::Data::new(shared.metrics_state);
    let api = api.map(|(schema, gate)| (web::Data::new(schema), web::Data::new(gate)));
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(db.clone())
            .app_data(clock.clone())
            .app_data(http_metrics.clone())
            .app_data(metrics_state.clone())
            .wrap(Compress::default())
            .wrap(from_fn(observe::observe))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(metrics::metrics));
        if let Some((schema, gate)) = &api {
            app = app
                .app_data(schema.clone())
                .app_data(gate.clone())
                .app_data(limits.clone())
                .app_data(webhook_secret.clone())
                .service(
                    web::resource("/graphql")
                        .wrap(cors(&origins))
                        .route(web::post().to(graphql::graphql))
                        .route(web::get().to(graphiql::page)),
                )
                .route("/graphql/assets/{file}", web::get().to(graphiql::asset))
                .route("/graphql/ws", web::get().to(graphql::subscriptions))
                .service(
                    web::resource("/v1/usage")
                        .wrap(cors(&origins))
                        .route(web::post().to(crate::http::billing::ingest)),
                )
                .route(
                    "/webhooks/stripe",
                    web::post().to(crate::http::billing::stripe_webhook),
                );
        }
        app
    })
    .disable_signals()
    .shutdown_timeout(DRAIN.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
