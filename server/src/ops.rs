//! Commands an operator runs beside the service: `server check-config`
//! validates the settings without serving, `server backup PATH` copies a
//! live SQLite database consistently.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use app::domain::mail::Mailer;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::config::Config;
use crate::site;

/// Checks every setting that can be checked without serving: the database
/// and Redis URLs, the mail settings, and the site files the pages link.
/// Nothing is connected to, created or changed. Returns a summary.
pub fn check_config(config: &Config) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut summary = String::new();
    let database = &config.database_url;
    if database.starts_with("sqlite:") {
        let _ = writeln!(summary, "database: SQLite ({database})");
    } else if database.starts_with("mysql:") || database.starts_with("mariadb:") {
        let _ = writeln!(summary, "database: MySQL/MariaDB");
    } else {
        problems.push(format!(
            "DATABASE_URL must start with sqlite: or mysql:, not {:?}",
            database.split(':').next().unwrap_or_default()
        ));
    }
    match &config.redis_url {
        Some(url) => match redis::Client::open(url.as_str()) {
            Ok(_) => {
                let _ = writeln!(summary, "redis: set (several nodes)");
            }
            Err(error) => problems.push(format!("REDIS_URL is not usable: {error}")),
        },
        None => {
            let _ = writeln!(summary, "redis: none (one node)");
        }
    }
    match Mailer::new(
        config.smtp_url.as_deref(),
        &config.mail_outbox_dir,
        &config.mail_from,
        Duration::from_secs(config.smtp_timeout_seconds),
    ) {
        Ok(mailer) => {
            let _ = match mailer.outbox() {
                Some(dir) => writeln!(summary, "mail: files in {}", dir.display()),
                None => writeln!(summary, "mail: SMTP"),
            };
        }
        Err(problem) => problems.push(problem),
    }
    if let Some(url) = &config.public_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        problems.push(format!(
            "PUBLIC_URL must start with https:// or http://, not {url:?}"
        ));
    }
    match site::locate() {
        Ok(options) => {
            let _ = writeln!(
                summary,
                "site: {} ({} names), listening on {}",
                options.site_root,
                if options.hash_files {
                    "hashed"
                } else {
                    "plain"
                },
                options.site_addr
            );
        }
        Err(problem) => problems.push(problem),
    }
    if problems.is_empty() {
        Ok(format!("{summary}The configuration is valid."))
    } else {
        Err(format!(
            "{summary}The configuration has problems:\n- {}",
            problems.join("\n- ")
        ))
    }
}

/// Copies the SQLite database to `target` with `VACUUM INTO`: one
/// consistent snapshot, taken while the server keeps serving (readers and
/// the writer are not stopped), then checked. MySQL/MariaDB have their own
/// tool (the message says which).
pub async fn backup(config: &Config, target: &Path) -> Result<String, String> {
    let url = &config.database_url;
    let Some(source) = db_file(url) else {
        return Err(
            "`server backup` copies a SQLite database. For MySQL/MariaDB use \
             `mysqldump --single-transaction --quick DATABASE > chatapp.sql` \
             (docs/deploy.md, Backups)."
                .to_owned(),
        );
    };
    if !Path::new(source).is_file() {
        return Err(format!("there is no database at {source}"));
    }
    if target.exists() {
        return Err(format!("{} exists: name a new file", target.display()));
    }
    let target_text = target
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", target.display()))?;
    let db = Database::connect(format!("sqlite://{source}?mode=ro"))
        .await
        .map_err(|error| format!("cannot open {source}: {error}"))?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [target_text.into()],
    ))
    .await
    .map_err(|error| format!("the backup failed: {error}"))?;
    db.close().await.ok();

    let copy = Database::connect(format!("sqlite://{target_text}?mode=ro"))
        .await
        .map_err(|error| format!("cannot open the backup: {error}"))?;
    let single = |sql: &str| {
        let copy = &copy;
        let sql = sql.to_owned();
        async move {
            copy.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .map_err(|error| format!("cannot read the backup: {error}"))?
                .ok_or_else(|| "the backup answered nothing".to_owned())
        }
    };
    let integrity: String = single("PRAGMA integrity_check")
        .await?
        .try_get_by_index(0)
        .map_err(|error| error.to_string())?;
    if integrity != "ok" {
        return Err(format!("the backup is damaged: {integrity}"));
    }
    let messages: i64 = single("SELECT COUNT(*) FROM messages")
        .await?
        .try_get_by_index(0)
        .map_err(|error| error.to_string())?;
    let users: i64 = single("SELECT COUNT(*) FROM users")
        .await?
        .try_get_by_index(0)
        .map_err(|error| error.to_string())?;
    copy.close().await.ok();
    let bytes = std::fs::metadata(target).map_or(0, |meta| meta.len());
    #[expect(clippy::cast_precision_loss, reason = "a size to show")]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    Ok(format!(
        "Backed up {source} to {target_text}: {users} accounts, {messages} messages, \
         {mib:.1} MiB; integrity ok."
    ))
}

/// The file of a `sqlite:` URL (`sqlite://data/chat.db?mode=rwc` →
/// `data/chat.db`), or `None` for other databases and in-memory SQLite.
fn db_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}
