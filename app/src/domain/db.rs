//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Connects to `database_url` (`sqlite://…` or `mysql://…`) and runs pending
/// migrations. For SQLite, creates the file's directory and turns on WAL so
/// readers never wait for the writer.
pub async fn connect_and_migrate(
    database_url: &str,
    max_connections: u32,
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
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
        });
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
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
