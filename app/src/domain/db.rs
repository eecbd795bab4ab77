//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
    TransactionTrait,
};

/// How long the application waits on the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbTimeouts {
    /// For a free connection from the pool (then: 503).
    pub acquire: Duration,
    /// For one statement, on MySQL/MariaDB (the server stops it; then: 503).
    /// SQLite waits at most this long for a lock.
    pub statement: Duration,
}

impl Default for DbTimeouts {
    fn default() -> Self {
        Self {
            acquire: Duration::from_secs(5),
            statement: Duration::from_secs(20),
        }
    }
}

/// Connects to `database_url` (`sqlite://…` or `mysql://…`) and runs pending
/// migrations: see [`connect`].
pub async fn connect_and_migrate(
    database_url: &str,
    max_connections: u32,
    timeouts: DbTimeouts,
) -> Result<DatabaseConnection, DbErr> {
    let db = connect(database_url, max_connections, timeouts).await?;
    migrate(&db, database_url).await?;
    Ok(db)
}

/// A pool of up to `max_connections` to `database_url`, without migrating.
/// For SQLite, creates the file's directory and turns on WAL so readers
/// never wait for the writer.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
    timeouts: DbTimeouts,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(database_url)
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            DbErr::Custom(format!("cannot create {}: {error}", parent.display()))
        })?;
    }
    let mut options = ConnectOptions::new(database_url);
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(timeouts.acquire)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(timeouts.statement.min(Duration::from_secs(5)))
                .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        })
        .map_sqlx_mysql_pool_opts(move |pool| {
            pool.after_connect(move |connection, _| {
                Box::pin(async move {
                    set_statement_timeout(connection, timeouts.statement).await;
                    Ok(())
                })
            })
        });
    Database::connect(options).await
}

/// Asks MySQL/MariaDB to stop any statement of this connection that runs
/// longer than `limit`: MariaDB's `max_statement_time` (seconds, every
/// statement), else MySQL's `max_execution_time` (milliseconds, reads).
async fn set_statement_timeout(connection: &mut sea_orm::sqlx::MySqlConnection, limit: Duration) {
    use sea_orm::sqlx::{AssertSqlSafe, Executor};
    // Numbers formatted by us: nothing a user wrote.
    let mariadb = format!("SET SESSION max_statement_time = {}", limit.as_secs_f64());
    if connection.execute(AssertSqlSafe(mariadb)).await.is_ok() {
        return;
    }
    let mysql = format!("SET SESSION max_execution_time = {}", limit.as_millis());
    if let Err(error) = connection.execute(AssertSqlSafe(mysql)).await {
        tracing::warn!(%error, "this database has no statement timeout");
    }
}

/// WAL pages after which a commit copies the log into the database (SQLite's
/// default is 1,000). Measured with `load closed` (docs/performance.md):
/// 2,000 costs 15% less CPU per message at the same notify p99; 4,000 and
/// up save little more and make the commit that checkpoints stall longer.
const WAL_AUTOCHECKPOINT_PAGES: &str = "2000";

/// When the database last answered. Probes read it first, so under load
/// they answer at once instead of queueing for a connection behind the
/// traffic they are meant to watch.
#[derive(Debug, Default)]
pub struct DbHealth {
    /// Milliseconds since the Unix epoch; 0: never.
    last_ok_ms: std::sync::atomic::AtomicU64,
}

impl DbHealth {
    /// The database just answered.
    pub fn record_ok(&self) {
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        self.last_ok_ms
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether it answered within `within`.
    pub fn answered_within(&self, within: Duration) -> bool {
        let last = self.last_ok_ms.load(std::sync::atomic::Ordering::Relaxed);
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        last > 0
            && now.saturating_sub(last) <= u64::try_from(within.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the database answers: at once if it did a moment ago, else
    /// by asking it (for at most `timeout`).
    pub async fn check(&self, db: &DatabaseConnection, timeout: Duration) -> bool {
        if self.answered_within(Duration::from_secs(2)) {
            return true;
        }
        let answered = tokio::time::timeout(timeout, db.ping())
            .await
            .is_ok_and(|pinged| pinged.is_ok());
        if answered {
            self.record_ok();
        }
        answered
    }
}

/// The MySQL named lock that lets one node at a time migrate.
const MIGRATION_LOCK: &str = "chatapp_migrations";
/// How long a starting node waits for another node's migrations.
const MIGRATION_LOCK_WAIT_SECONDS: u32 = 300;

/// Runs pending migrations. On MySQL/MariaDB, nodes starting together take
/// turns under a named lock, so two never apply the same migration at once;
/// the later ones find nothing to do. The lock is held on a connection of
/// its own, so even a pool of one is free for the migrations. SQLite
/// serialises writers by itself.
async fn migrate(db: &DatabaseConnection, database_url: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::MySql {
        return Migrator::up(db, None).await;
    }
    let lock_connection = lone_connection(database_url).await?;
    let lock = lock_connection.begin().await?;
    let granted = lock
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::MySql,
            "SELECT GET_LOCK(?, ?) AS granted",
            [MIGRATION_LOCK.into(), MIGRATION_LOCK_WAIT_SECONDS.into()],
        ))
        .await?
        .and_then(|row| row.try_get::<Option<i64>>("", "granted").ok().flatten());
    if granted != Some(1) {
        return Err(DbErr::Custom(format!(
            "another node held the migration lock for {MIGRATION_LOCK_WAIT_SECONDS} s"
        )));
    }
    // A migration may run long (a backfill of a big table): it gets a
    // connection without the statement timeout.
    let migrating = lone_connection(database_url).await?;
    let migrated = Migrator::up(&migrating, None).await;
    migrating.close().await.ok();
    lock.execute_raw(Statement::from_sql_and_values(
        DbBackend::MySql,
        "DO RELEASE_LOCK(?)",
        [MIGRATION_LOCK.into()],
    ))
    .await?;
    lock.commit().await?;
    lock_connection.close().await?;
    migrated
}

/// A pool of one connection of its own, without the application's
/// statement timeout: for the migration lock and the migrations.
async fn lone_connection(database_url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(database_url);
    options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// The file path of a SQLite URL, or `None` for other databases and in-memory SQLite.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_path_strips_scheme_and_options() {
        assert_eq!(
            sqlite_path("sqlite://data/chat.db?mode=rwc"),
            Some("data/chat.db")
        );
        assert_eq!(sqlite_path("sqlite:chat.db"), Some("chat.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("mysql://root@localhost/chat"), None);
    }
}
