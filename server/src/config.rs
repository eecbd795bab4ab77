//! The server's configuration: flags or environment variables, parsed once at
//! start-up. `.env.sample` lists every setting with its default.

use std::time::Duration;

use app::domain::Settings;
use app::domain::client_ip::TrustedProxies;
use app::domain::limits::{Rate, Rates};
use clap::{Parser, Subcommand};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "server",
    version,
    about = "ChatApp: a self-hosted person-to-person messenger"
)]
pub struct Config {
    /// Where the data lives: `sqlite://path?mode=rwc` or `mysql://user:pass@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/chat.db?mode=rwc"
    )]
    pub database_url: String,

    /// Redis, to join several server processes (`redis://host:6379`). Unset:
    /// one process, notifications in memory.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Seconds a node's presence entries live in Redis without a refresh:
    /// how long a dead node's users still look online.
    #[arg(long, env = "PRESENCE_TTL_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub presence_ttl_seconds: u64,

    /// Database connections per server process for requests [default: 4 on
    /// SQLite, 10 on MySQL/MariaDB]; the writer has one more of its own.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub database_max_connections: Option<u32>,
    /// Seconds a request waits for a free database connection (then 503).
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub database_acquire_timeout_seconds: u64,
    /// Seconds one statement may run on MySQL/MariaDB before the server
    /// stops it (then 503); on SQLite, the longest wait for a lock (at most 5).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub database_statement_timeout_seconds: u64,

    /// Messages per page of a conversation.
    #[arg(long, env = "MESSAGES_TO_LOAD", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=200))]
    pub messages_to_load: u64,

    /// The longest message accepted, in characters.
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_message_chars: u32,

    /// Mark the session cookie `Secure`; set when users reach ChatApp over https.
    #[arg(long, env = "SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,

    /// Days a session stays valid after log-in.
    #[arg(long, env = "SESSION_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(i64).range(1..=365))]
    pub session_days: i64,

    /// Seconds between WebSocket pings; a socket silent for two is closed.
    #[arg(long, env = "WS_PING_SECONDS", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_ping_seconds: u64,

    /// The most missed events a reconnecting client is replayed one by one;
    /// past this it reloads what it shows instead.
    #[arg(long, env = "REPLAY_LIMIT", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub replay_limit: u64,

    /// Days events are kept for replay; older ones are deleted in the
    /// background, but never a user's latest `REPLAY_LIMIT`.
    #[arg(long, env = "EVENT_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub event_retention_days: u64,

    /// The address users reach ChatApp at (`https://chat.example.org`), for
    /// links in e-mail. Default: `http://` and the listening address.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Send e-mail by SMTP: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS), or plain
    /// `smtp://localhost:25` for a relay on the same machine.
    /// Unset: e-mail goes to files in `MAIL_OUTBOX_DIR` and to the log.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of ChatApp's e-mail.
    #[arg(long, env = "MAIL_FROM", default_value = "ChatApp <chatapp@localhost>")]
    pub mail_from: String,

    /// Seconds an SMTP exchange may take before the mail counts as failed.
    #[arg(long, env = "SMTP_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub smtp_timeout_seconds: u64,

    /// Where e-mail goes without `SMTP_URL`: one `.eml` file per message.
    #[arg(long, env = "MAIL_OUTBOX_DIR", default_value = "data/outbox")]
    pub mail_outbox_dir: std::path::PathBuf,

    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Requests handled at once; past this, new ones get 503 and
    /// `Retry-After` at once instead of waiting in a queue.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_in_flight: u32,

    /// Password hashes (Argon2, ~19 MiB and tens of ms of a core each)
    /// computed at once. Default: half the cores, at least one.
    #[arg(long, env = "HASH_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub hash_concurrency: Option<u32>,

    /// Password hashes that may wait for a turn; past this, log-ins and
    /// sign-ups get 503 and `Retry-After`.
    #[arg(long, env = "HASH_QUEUE", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub hash_queue: u32,

    /// Days a session stays idle before it ends (every request it makes
    /// starts the count again); it ends `SESSION_DAYS` after log-in anyway.
    #[arg(long, env = "SESSION_IDLE_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u64).range(1..=365))]
    pub session_idle_days: u64,

    /// Proxies whose `X-Forwarded-For` (or `Forwarded`) header names the
    /// client: comma-separated addresses or CIDR ranges. Empty: trust none.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "127.0.0.0/8,::1/128")]
    pub trusted_proxies: TrustedProxies,

    /// Sign-ups per client address (`BURST/PERIOD`, e.g. `10/1h`; `off`).
    #[arg(long, env = "LIMIT_SIGN_UP_PER_IP", default_value = "10/1h")]
    pub limit_sign_up_per_ip: Rate,
    /// Log-in attempts per client address.
    #[arg(long, env = "LIMIT_LOG_IN_PER_IP", default_value = "50/10m")]
    pub limit_log_in_per_ip: Rate,
    /// Log-in attempts per account (and current-password checks).
    #[arg(long, env = "LIMIT_LOG_IN_PER_ACCOUNT", default_value = "10/100s")]
    pub limit_log_in_per_account: Rate,
    /// Messages sent per user (and edits, deletions).
    #[arg(long, env = "LIMIT_SENDS_PER_USER", default_value = "60/10s")]
    pub limit_sends_per_user: Rate,
    /// Data exports per user.
    #[arg(long, env = "LIMIT_EXPORTS_PER_USER", default_value = "5/1h")]
    pub limit_exports_per_user: Rate,
    /// Mails with a link (password reset, address confirmation) per e-mail address.
    #[arg(long, env = "LIMIT_RESET_PER_ADDRESS", default_value = "3/1h")]
    pub limit_reset_per_address: Rate,
    /// Password-reset requests per client address.
    #[arg(long, env = "LIMIT_RESET_PER_IP", default_value = "10/1h")]
    pub limit_reset_per_ip: Rate,
    /// WebSocket connections opened per user.
    #[arg(long, env = "LIMIT_SOCKETS_PER_USER", default_value = "30/1m")]
    pub limit_sockets_per_user: Rate,
    /// WebSocket connections opened per client address.
    #[arg(long, env = "LIMIT_SOCKETS_PER_IP", default_value = "120/1m")]
    pub limit_sockets_per_ip: Rate,
    /// Typing and away/online frames per socket; over it they are dropped.
    #[arg(long, env = "LIMIT_SIGNALS_PER_SOCKET", default_value = "20/10s")]
    pub limit_signals_per_socket: Rate,
    /// WebSockets one user may hold open on one node at once.
    #[arg(long, env = "MAX_SOCKETS_PER_USER", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_sockets_per_user: u32,

    /// Seconds a client gets to send a request's headers (new connections
    /// and kept-alive ones between requests).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_read_timeout_seconds: u64,
    /// Seconds a request (not a WebSocket) may take before it is abandoned
    /// with 503 and `Retry-After`.
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_seconds: u64,
    /// Seconds shutdown waits for requests, sockets and background work.
    #[arg(long, env = "SHUTDOWN_DEADLINE_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub shutdown_deadline_seconds: u64,

    /// Serve `/metrics` on this address of its own (e.g. `10.0.0.11:9100`)
    /// as well; on the main port it answers only local, unproxied clients.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Log lines as text (for people) or one JSON object per line (for a
    /// log collector).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` `EnvFilter` syntax.
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info,sqlx=warn,sea_orm=warn,tower_sessions=warn"
    )]
    pub log: String,
}

impl Config {
    /// The pool size: SQLite writes one transaction at a time (the writer's)
    /// and each connection carries its own page and statement caches, so a
    /// few connections serve it as fast as many and use less memory.
    pub fn database_max_connections(&self) -> u32 {
        self.database_max_connections.unwrap_or_else(|| {
            if self.database_url.starts_with("sqlite:") {
                4
            } else {
                10
            }
        })
    }

    /// How long the application waits on the database.
    pub fn database_timeouts(&self) -> app::domain::db::DbTimeouts {
        app::domain::db::DbTimeouts {
            acquire: Duration::from_secs(self.database_acquire_timeout_seconds),
            statement: Duration::from_secs(self.database_statement_timeout_seconds),
        }
    }

    /// The settings the domain layer reads.
    pub fn settings(&self) -> Settings {
        Settings {
            messages_to_load: self.messages_to_load,
            max_message_chars: self.max_message_chars as usize,
            secure_cookies: self.secure_cookies,
            session_days: self.session_days,
            ws_ping_interval: std::time::Duration::from_secs(self.ws_ping_seconds),
            replay_limit: self.replay_limit,
            public_url: self.public_url.clone().unwrap_or_default(),
            max_in_flight: self.max_in_flight as usize,
            event_retention: std::time::Duration::from_hours(24 * self.event_retention_days),
            session_idle: Duration::from_hours(24 * self.session_idle_days),
            trusted_proxies: self.trusted_proxies.clone(),
            rates: Rates {
                sign_up_per_ip: self.limit_sign_up_per_ip,
                log_in_per_ip: self.limit_log_in_per_ip,
                log_in_per_account: self.limit_log_in_per_account,
                sends_per_user: self.limit_sends_per_user,
                exports_per_user: self.limit_exports_per_user,
                reset_per_address: self.limit_reset_per_address,
                reset_per_ip: self.limit_reset_per_ip,
                sockets_per_user: self.limit_sockets_per_user,
                sockets_per_ip: self.limit_sockets_per_ip,
                signals_per_socket: self.limit_signals_per_socket,
            },
            max_sockets_per_user: self.max_sockets_per_user as usize,
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
        }
    }

    /// How connections are served.
    pub fn connection_limits(&self) -> crate::listener::ConnectionLimits {
        crate::listener::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
        }
    }

    /// How long shutdown waits.
    pub fn shutdown_deadline(&self) -> Duration {
        Duration::from_secs(self.shutdown_deadline_seconds)
    }

    /// How password hashing is bounded.
    pub fn hashing_limits(&self) -> app::domain::accounts::HashingLimits {
        let default = app::domain::accounts::HashingLimits::default();
        app::domain::accounts::HashingLimits {
            concurrent: self
                .hash_concurrency
                .map_or(default.concurrent, |n| n as usize),
            waiting: self.hash_queue as usize,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Commands besides serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage accounts (the original's `createsuperuser` and admin site).
    #[command(subcommand)]
    User(UserCommand),
    /// Check the settings (and the site files the pages link) without
    /// serving; exits non-zero and says what is wrong.
    CheckConfig,
    /// Copy the live SQLite database to PATH, consistently, while it serves.
    Backup {
        /// A new file for the copy.
        path: std::path::PathBuf,
    },
    /// Print the REST API's OpenAPI document (what `/api/v1/openapi.json`
    /// serves), to generate a client or check it offline.
    Openapi,
}

/// `server user …`. Passwords are read from standard input (one line), or
/// asked for without echo on a terminal, never from the command line.
#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Make it an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List every account.
    List,
    /// Set a new password; the user's sessions end everywhere.
    SetPassword { username: String },
    /// Deactivate: no log-in, sessions end, hidden from search; the people
    /// they wrote to still read their messages.
    Deactivate { username: String },
    /// Make an administrator.
    MakeAdmin { username: String },
}
