//! Opening the database and checking its schema against this binary's
//! migrations, in both directions.

use anyhow::Context as _;
use coplane_migrations::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use secrecy::ExposeSecret;

use crate::settings::DatabaseSettings;

/// Where the database's migrations stand relative to this binary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Known to this binary, not applied yet.
    pub pending: Vec<String>,
    /// Applied, but unknown to this binary (a newer coplane migrated it).
    pub unknown: Vec<String>,
}

impl SchemaStatus {
    /// Whether the schema is exactly what this binary expects.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty()
    }
}

impl std::fmt::Display for SchemaStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pending.as_slice(), self.unknown.as_slice()) {
            ([], []) => f.write_str("current"),
            (_, [.., newest]) => write!(
                f,
                "{} migration(s) newer than this binary (newest: {newest})",
                self.unknown.len()
            ),
            ([first, ..], []) => write!(
                f,
                "{} migration(s) pending (first: {first})",
                self.pending.len()
            ),
        }
    }
}

/// Reads the applied migrations and compares them with this binary's.
pub async fn schema_status(db: &DatabaseConnection) -> Result<SchemaStatus, DbErr> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let applied: Vec<String> = if SchemaManager::new(db).has_table("seaql_migrations").await? {
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    Ok(SchemaStatus {
        pending: known
            .iter()
            .filter(|k| !applied.contains(k))
            .cloned()
            .collect(),
        unknown: applied.into_iter().filter(|a| !known.contains(a)).collect(),
    })
}

/// Connects, failing with a message that names the (redacted) URL.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    let mut config = coplane_domain::db::DbConfig::new(settings.url.expose_secret());
    config.max_connections = settings.max_connections;
    coplane_domain::db::connect(&config).await.with_context(|| {
        format!(
            "cannot connect to the database at {}",
            settings.redacted_url()
        )
    })
}

/// What to do about pending migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPending {
    /// Apply them (`coplane up`, `coplane migrate`).
    Apply,
    /// Refuse to start (`coplane serve`, `coplane work`: production runs `coplane migrate` first).
    Refuse,
}

/// Makes sure the schema is what this binary expects, or fails saying why.
pub async fn prepare(db: &DatabaseConnection, on_pending: OnPending) -> anyhow::Result<()> {
    let status = schema_status(db)
        .await
        .context("cannot read the database's migrations")?;
    if !status.unknown.is_empty() {
        anyhow::bail!(
            "the database has {} migration(s) this binary does not know ({}): it was migrated by a \
             newer coplane. Run that version or a newer one.",
            status.unknown.len(),
            status.unknown.join(", ")
        );
    }
    if status.pending.is_empty() {
        return Ok(());
    }
    match on_pending {
        OnPending::Apply => {
            tracing::info!(pending = status.pending.len(), "applying migrations");
            Migrator::up(db, None)
                .await
                .context("applying migrations failed")?;
            Ok(())
        }
        OnPending::Refuse => anyhow::bail!(
            "the database schema is behind this binary: {status}. Run `coplane migrate` first."
        ),
    }
}
