//! Connecting to the database: PostgreSQL in production, an embedded SQLite
//! file by default.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// A raw statement for `db`'s backend (`$1`-style placeholders work on
/// both PostgreSQL and SQLite): the one helper every raw query uses.
pub fn stmt(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct DbConfig {
    /// `postgres://…` or `sqlite://…`.
    pub url: String,
    /// Pool size on PostgreSQL. SQLite always uses one connection.
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub acquire_timeout: Duration,
}

impl DbConfig {
    /// A configuration with the default pool settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens a pool and checks that the database answers.
///
/// SQLite gets a single connection: SQLite has one writer at a time anyway,
/// and a single connection turns what would be `SQLITE_BUSY` failures between
/// concurrent transactions into plain waiting, so every use case is
/// serializable there by construction. PostgreSQL gets a real pool and row
/// locks.
pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .sqlx_logging(false);
    if config.url.starts_with("sqlite:") {
        options
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
            });
    } else {
        options.max_connections(config.max_connections);
    }
    let db = Database::connect(options).await?;
    db.ping().await?;
    Ok(db)
}

/// Whether the connection speaks PostgreSQL.
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}
