//! The server's configuration: flags or environment variables, parsed once at
//! start-up. `.env.sample` lists every setting with its default.

use app::domain::Settings;
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

    /// Database connections per server process [default: 4 on SQLite, 10
    /// on MySQL/MariaDB].
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub database_max_connections: Option<u32>,

    /// Messages per page of a conversation.
    #[arg(long, env = "MESSAGES_TO_LOAD", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=200))]
    pub messages_to_load: u64,

    /// The longest message accepted, in characters.
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..=50_000))]
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
            ..Settings::default()
        }
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

/// Commands besides serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage accounts (the original's `createsuperuser` and admin site).
    #[command(subcommand)]
    User(UserCommand),
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
