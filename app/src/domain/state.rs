//! The state every request handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channel_layer::ChannelLayer;
use super::session_store::SessionStore;

/// Application settings the domain needs, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Messages per page of a conversation (the original's `MESSAGES_TO_LOAD`).
    pub messages_to_load: u64,
    /// The longest message body accepted, in characters.
    pub max_message_chars: usize,
    /// Mark the session cookie `Secure` (serve over https).
    pub secure_cookies: bool,
    /// How long a session lives after log-in, in days.
    pub session_days: i64,
    /// How often the server pings each WebSocket; two silent intervals and
    /// the socket is closed as dead.
    pub ws_ping_interval: std::time::Duration,
    /// The most events a reconnecting client is replayed one by one; past
    /// this it is told to resync (reload what it shows) instead.
    pub replay_limit: u64,
    /// The address users reach ChatApp at, for links in e-mail.
    pub public_url: String,
    /// How often each client address, account and socket may do what.
    pub rates: super::limits::Rates,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: super::client_ip::TrustedProxies,
    /// How long a session may stay unused before it ends.
    pub session_idle: std::time::Duration,
    /// WebSockets one user may hold open on one node.
    pub max_sockets_per_user: usize,
    /// How long a request may take.
    pub request_timeout: std::time::Duration,
    /// Requests handled at once; more are refused with 503 at once rather
    /// than queued.
    pub max_in_flight: usize,
    /// How long events are kept (each user's latest `replay_limit` always are).
    pub event_retention: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            messages_to_load: 15,
            max_message_chars: 5000,
            secure_cookies: false,
            session_days: 14,
            ws_ping_interval: std::time::Duration::from_secs(25),
            replay_limit: super::stream::DEFAULT_REPLAY_LIMIT,
            public_url: "http://127.0.0.1:3000".to_owned(),
            rates: super::limits::Rates::default(),
            trusted_proxies: super::client_ip::TrustedProxies::default(),
            session_idle: std::time::Duration::from_hours(24 * 7),
            max_sockets_per_user: 20,
            request_timeout: std::time::Duration::from_secs(30),
            max_in_flight: 512,
            event_retention: std::time::Duration::from_hours(24 * 30),
        }
    }
}

/// The state every request shares: one pointer, so a request (and each
/// extractor and middleware that takes it) clones one reference count, not
/// a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl AppState {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// `leptos_axum` finds its options in the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What [`AppState`] holds.
pub struct Parts {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub channels: Arc<dyn ChannelLayer>,
    pub sessions: SessionStore,
    pub limits: Arc<super::limits::RateLimits>,
    pub mailer: Arc<super::mail::Mailer>,
    /// Users by id and name, from memory first.
    pub directory: Arc<super::directory::Directory>,
    /// The node's one writer of event-emitting writes (group commit).
    pub writer: Arc<super::stream::Writer>,
    /// When the database last answered (for probes under load).
    pub db_health: Arc<super::db::DbHealth>,
    /// Work done after the answer (e-mail), in order, by one owned task.
    pub jobs: Arc<super::jobs::JobQueue>,
    pub presence: Arc<super::presence::Presence>,
    /// Cancelled on shutdown: long-lived tasks (WebSockets, clean-ups) stop on it.
    pub shutdown: CancellationToken,
    /// Every task the node runs besides requests (sockets, workers): shutdown
    /// waits for them, up to a deadline.
    pub tasks: TaskTracker,
    /// Messages just sent, for the fetches that follow their notifications.
    pub recent_messages: Arc<super::messages::RecentMessages>,
}

impl AppState {
    /// The state for server functions, provided by the server's router.
    pub fn from_context() -> Self {
        leptos::prelude::expect_context::<Self>()
    }
}
