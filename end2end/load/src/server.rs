//! Server processes for a suite: the release binary, on a fresh SQLite file
//! or a fresh MariaDB database, started and stopped by the suite so it can
//! read each one's CPU and memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

use crate::Result;

/// Which database a server runs on.
#[derive(Debug, Clone)]
pub enum Database {
    /// A fresh SQLite file in the run's directory.
    Sqlite,
    /// A fresh database on the MariaDB server at this URL (`mysql://…`).
    MariaDb(String),
}

impl Database {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::MariaDb(_) => "MariaDB",
        }
    }

    /// A `DATABASE_URL` for a new, empty database.
    pub async fn fresh_url(&self, dir: &Path, name: &str) -> Result<String> {
        match self {
            Self::Sqlite => {
                // An earlier run's file (and its WAL) would not be empty.
                let file = dir.join(format!("{name}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = file.clone().into_os_string();
                    path.push(suffix);
                    match std::fs::remove_file(&path) {
                        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                            return Err(error.into());
                        }
                        _ => {}
                    }
                }
                Ok(format!("sqlite://{}?mode=rwc", file.display()))
            }
            Self::MariaDb(server) => {
                let server = server.trim_end_matches('/');
                let admin = sea_orm::Database::connect(server).await?;
                let database = format!("chatapp_bench_{name}");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{database}`"))
                    .await?;
                admin
                    .execute_unprepared(&format!(
                        "CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    ))
                    .await?;
                admin.close().await?;
                Ok(format!("{server}/{database}"))
            }
        }
    }
}

/// Every rate limit off (docs/security.md lists them), and sockets per user
/// as many as the idle-socket runs open.
pub const LIMITS_OFF: &[(&str, &str)] = &[
    ("MAX_SOCKETS_PER_USER", "10000"),
    ("LIMIT_SIGN_UP_PER_IP", "off"),
    ("LIMIT_LOG_IN_PER_IP", "off"),
    ("LIMIT_LOG_IN_PER_ACCOUNT", "off"),
    ("LIMIT_SENDS_PER_USER", "off"),
    ("LIMIT_EXPORTS_PER_USER", "off"),
    ("LIMIT_RESET_PER_ADDRESS", "off"),
    ("LIMIT_RESET_PER_IP", "off"),
    ("LIMIT_SOCKETS_PER_USER", "off"),
    ("LIMIT_SOCKETS_PER_IP", "off"),
    ("LIMIT_SIGNALS_PER_SOCKET", "off"),
];

/// A running server process.
pub struct Server {
    child: tokio::process::Child,
    pub pid: u32,
    /// `http://ip:port`
    pub base: String,
    pub log: PathBuf,
    pub database_url: String,
}

impl Server {
    /// Starts `binary` on `address` with `database_url` and `settings`
    /// (environment variables), logging to `log`, and waits until it answers.
    pub async fn start(
        binary: &Path,
        address: &str,
        database_url: &str,
        settings: &[(&str, String)],
        log: PathBuf,
    ) -> Result<Self> {
        let child = tokio::process::Command::new(binary)
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", address)
            .env("LEPTOS_OUTPUT_NAME", "chatapp")
            .env("RUST_LOG", "warn")
            // The generator is many users on one address, each sending far
            // faster than a person: the limits would measure themselves. A setting given by the caller wins.
            .envs(LIMITS_OFF.iter().copied())
            .envs(settings.iter().map(|(key, value)| (*key, value.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("the server exited at once")?;
        let server = Self {
            child,
            pid,
            base: format!("http://{address}"),
            log,
            database_url: database_url.to_owned(),
        };
        server.until_healthy().await?;
        Ok(server)
    }

    async fn until_healthy(&self) -> Result<()> {
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = http
                .get(format!("{}/healthz", self.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                && response.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_mins(1) {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("{} did not answer within a minute: {log}", self.base).into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then a wait for it to exit.
    pub async fn stop(mut self) {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A port nothing listens on, on `ip`.
pub fn free_port(ip: &str) -> Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}
