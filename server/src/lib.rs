//! ChatApp's HTTP server, as a library so tests drive the real router.
//!
//! - [`app`] builds the router: pages and server functions (Leptos), the REST
//!   API under `/api/v1`, the notification socket at `/ws`, health checks and
//!   static assets, behind sessions, a cross-site check, compression and logs.
//! - [`serve`] runs it until SIGTERM/Ctrl-C, then shuts down gracefully.

pub mod admin;
pub mod api;
pub mod around;
pub mod config;
pub mod guard;
pub mod listener;
pub mod monitoring;
pub mod ops;
pub mod rpc;
pub mod security;
pub mod site;
pub mod stray_owner;
pub mod telemetry;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use app::domain::auth::Backend;
use app::domain::channel_layer::redis::RedisChannelLayer;
use app::domain::channel_layer::{ChannelLayer, InProcessChannelLayer, LayerStatus};
use app::domain::db::DbHealth;
use app::domain::directory::Directory;
use app::domain::jobs::JobQueue;
use app::domain::limits::RateLimits;
use app::domain::mail::Mailer;
use app::domain::messages::RecentMessages;
use app::domain::presence::Presence;
use app::domain::redis_link::RedisLink;
use app::domain::state::Parts;
use app::domain::stream::Writer;
use app::domain::stream::retention::{self, Retention};
use app::domain::{AppState, db, link_token, session_store};
use app::error::AppError;
use app::wire::health::{Health, Overall, PartStatus, Readiness};
use app::{App, shell};
use around::AroundLayer;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Router};
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder};
use guard::GuardLayer;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use crate::config::Config;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chatapp_session";
/// Its name over https: the `__Host-` prefix makes browsers refuse it unless
/// it is `Secure`, for this exact host and path `/`, so a sibling subdomain
/// cannot plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-chatapp_session";
/// How long `/readyz` waits for the database before calling it unreachable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// How often expired sessions and e-mailed links are swept from the database.
const SWEEP_PERIOD: Duration = Duration::from_hours(1);

/// The parts a node runs besides its database: where notifications go,
/// presence, and the owner of every background task.
pub struct Runtime {
    pub channels: Arc<dyn ChannelLayer>,
    /// The link to the other nodes, when there are any.
    pub redis: Option<Arc<RedisLink>>,
    pub presence: Arc<Presence>,
    pub recent_messages: Arc<RecentMessages>,
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
}

impl Runtime {
    /// One node on its own: notifications and presence in memory.
    pub fn single_node() -> Self {
        let recent_messages = Arc::new(RecentMessages::default());
        Self {
            channels: Arc::new(InProcessChannelLayer::observed_by(observer(
                &recent_messages,
            ))),
            redis: None,
            presence: Presence::in_process(),
            recent_messages,
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }
    }

    /// One of several nodes joined by the Redis at `url` (one link, one node
    /// identity, for notifications and presence alike).
    pub fn clustered(url: &str, presence_ttl: Duration) -> redis::RedisResult<Self> {
        let link = RedisLink::new(url)?;
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        // Another node's edit could reach a client before it reaches this
        // node's cache: fetch from the database instead.
        let recent_messages = Arc::new(RecentMessages::off());
        Ok(Self {
            channels: Arc::new(RedisChannelLayer::start(
                Arc::clone(&link),
                &tasks,
                &shutdown,
            )),
            presence: Presence::shared(Arc::clone(&link), presence_ttl, &tasks, &shutdown),
            redis: Some(link),
            recent_messages,
            tasks,
            shutdown,
        })
    }
}

/// What this node's connections receive, seen first by the cache of recent
/// messages (an edit or deletion forgets its message there).
fn observer(recent: &Arc<RecentMessages>) -> app::domain::channel_layer::Observer {
    let recent = Arc::clone(recent);
    Arc::new(move |deliveries| recent.observe(deliveries))
}

/// Connects to the database (migrating it), picks the channel layer (Redis
/// when `REDIS_URL` is set) and assembles the shared state.
pub async fn build_state(
    config: &Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, Box<dyn std::error::Error>> {
    app::domain::accounts::configure_hashing(config.hashing_limits());
    let db = db::connect_and_migrate(
        &config.database_url,
        config.database_max_connections(),
        config.database_timeouts(),
    )
    .await?;
    let writer_db = db::connect(&config.database_url, 1, config.database_timeouts()).await?;
    let runtime = match &config.redis_url {
        Some(url) => Runtime::clustered(url, Duration::from_secs(config.presence_ttl_seconds))?,
        None => Runtime::single_node(),
    };
    let mut settings = config.settings();
    if settings.public_url.is_empty() {
        settings.public_url = format!("http://{}", leptos_options.site_addr);
    }
    let mailer = Mailer::new(
        config.smtp_url.as_deref(),
        &config.mail_outbox_dir,
        &config.mail_from,
        Duration::from_secs(config.smtp_timeout_seconds),
    )?;
    Ok(assemble_state(
        db,
        writer_db,
        settings,
        runtime,
        mailer,
        leptos_options,
    ))
}

/// The shared state over an open database and a runtime; starts the tasks
/// every node runs (the job queue, the sweep of expired sessions, and the
/// eviction of ended sessions from this node's cache).
///
/// `writer_db` is a pool of one connection to the same database, the
/// writer's own (`stream::Writer`). Taking the request pool's connections in
/// turn, the writer's pages and prepared statements filled every
/// connection's caches, and each batch found its pages changed by another
/// connection: its own measured 15 MiB less memory under load and 5% less
/// CPU per message (docs/performance.md, change 11).
pub fn assemble_state(
    db: sea_orm::DatabaseConnection,
    writer_db: sea_orm::DatabaseConnection,
    settings: app::domain::Settings,
    runtime: Runtime,
    mailer: Mailer,
    leptos_options: LeptosOptions,
) -> AppState {
    let Runtime {
        channels,
        redis,
        presence,
        recent_messages,
        tasks,
        shutdown,
    } = runtime;
    let (sessions, session_cache) = session_store::session_store(db.clone());
    let directory = Arc::new(Directory::new(db.clone()));
    let db_health = Arc::new(DbHealth::default());
    tasks.spawn(session_store::evict_ended_sessions(
        session_cache,
        Arc::clone(&directory),
        channels.session_endings(),
        shutdown.clone(),
    ));
    tasks.spawn(session_store::delete_expired_sessions(
        db.clone(),
        SWEEP_PERIOD,
        shutdown.clone(),
    ));
    tasks.spawn(link_token::delete_expired_periodically(
        db.clone(),
        SWEEP_PERIOD,
        shutdown.clone(),
    ));
    let writer = Arc::new(Writer::start(
        writer_db,
        Arc::clone(&channels),
        Arc::clone(&db_health),
        &tasks,
        &shutdown,
    ));
    tasks.spawn(retention::prune_periodically(
        db.clone(),
        Arc::clone(&writer),
        Retention {
            period: settings.event_retention,
            keep_latest: settings.replay_limit,
        },
        shutdown.clone(),
    ));
    AppState::new(Parts {
        leptos_options,
        sessions,
        limits: Arc::new(RateLimits::new(
            &settings.rates,
            settings.max_sockets_per_user,
            redis.as_ref(),
        )),
        mailer: Arc::new(mailer),
        jobs: Arc::new(JobQueue::start(&tasks, &shutdown)),
        writer,
        directory,
        db_health,
        presence,
        db,
        settings: Arc::new(settings),
        channels,
        shutdown,
        tasks,
        recent_messages,
    })
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let context_state = state.clone();
    // Probes answer without sessions, so they report the database themselves
    // instead of failing in the session layer.
    let probes = Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(readiness))
        .route("/metrics", get(monitoring::scrape));
    let routes = Router::new()
        .route("/ws", get(ws::notifications))
        .nest("/api/v1", api::v1::router())
        .merge(api::docs())
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .nest_service(
            &format!("/{}", state.leptos_options.site_pkg_dir),
            site::assets(&state.leptos_options),
        )
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    with_middleware(routes, &state)
        .merge(probes)
        .with_state(state)
}

/// Every request's middleware around `routes`, outermost first, as one
/// concrete stack: a `Router::layer` call per middleware boxes the route
/// again each time, so every request cloned and dropped a chain of boxes,
/// and each `from_fn` cloned the whole boxed chain beneath it
/// (docs/performance.md, change 6).
fn with_middleware(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    let deadline = state.settings.request_timeout;
    routes.layer(
        ServiceBuilder::new()
            // Every request gets an id (a proxy's is kept), echoed in the
            // response so a user's report can be found in the log.
            .layer(SetRequestIdLayer::new(
                telemetry::REQUEST_ID,
                MakeRequestUuid,
            ))
            .layer(PropagateRequestIdLayer::new(telemetry::REQUEST_ID))
            .layer(
                TraceLayer::new_for_http()
                    // The path only: query strings can hold secrets (a reset
                    // link's token), and headers hold session cookies. The route
                    // and user are filled in once known (telemetry::identify).
                    .make_span_with(|request: &Request| {
                        let request_id = request
                            .headers()
                            .get(telemetry::REQUEST_ID)
                            .and_then(|id| id.to_str().ok())
                            .unwrap_or_default();
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id,
                            route = tracing::field::Empty,
                            user_id = tracing::field::Empty,
                        )
                    })
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .map_request(telemetry::remember_span)
            .layer(AroundLayer::new(monitoring::CountRequests))
            .layer(GuardLayer::new(security::bound_request_head))
            // Past `max_in_flight` requests, refuse at once (503) rather than
            // queue; past the deadline, abandon the request (503).
            .layer(HandleErrorLayer::new(move |error: BoxError| async move {
                security::refusal(&error, deadline)
            }))
            .load_shed()
            // One count for the whole node: `Router::layer` wraps each route
            // on its own, and `concurrency_limit` would count per route.
            .layer(GlobalConcurrencyLimitLayer::new(
                state.settings.max_in_flight,
            ))
            .timeout(deadline)
            // Level 4: most of the size win at a fraction of the CPU of the maximum;
            // API answers under 1 KiB are not worth compressing at all.
            .layer(
                CompressionLayer::new()
                    .quality(CompressionLevel::Precise(4))
                    .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024))),
            )
            .layer(AroundLayer::new(security::SecurityHeaders {
                https: state.settings.secure_cookies,
            }))
            .layer(GuardLayer::new(security::bound_request_body))
            // Back to axum's response type, which the guard above answers with.
            .map_response(IntoResponse::into_response)
            .layer(RequestBodyLimitLayer::new(app::wire::MAX_REQUEST_BYTES))
            // Back to axum's body type, which the layers beneath take.
            .map_request(|request: axum::http::Request<_>| request.map(axum::body::Body::new))
            .layer(GuardLayer::new(security::refuse_cross_site))
            .layer(AroundLayer::new(rpc::AnswerBadArguments))
            .layer(AroundLayer::new(ExplainBareErrors {
                db: state.db.clone(),
            }))
            .layer(log_in_layer(state))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                security::end_expired_sessions,
            ))
            .layer(AroundLayer::new(telemetry::Identify))
            .layer(GuardLayer::new(
                security::send_logged_out_visitors_to_log_in,
            ))
            .layer(stray_owner::ClearStrayOwnerLayer),
    )
}

/// The session (cookie and store) and log-in layers.
fn log_in_layer(state: &AppState) -> AuthManagerLayer<Backend, session_store::SessionStore> {
    let secure = state.settings.secure_cookies;
    let session_layer = SessionManagerLayer::new(state.sessions.clone())
        .with_name(if secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        })
        .with_secure(secure)
        .with_path("/")
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        // Idle this long and it ends; `end_expired_sessions` ends it
        // `SESSION_DAYS` after log-in however active.
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            i64::try_from(state.settings.session_idle.as_secs()).unwrap_or(i64::MAX),
        )));
    AuthManagerLayerBuilder::new(
        Backend::new(state.db.clone(), Arc::clone(&state.directory)),
        session_layer,
    )
    .build()
}

/// `GET /healthz`: the process is up and its database answers (if it
/// answered a moment ago, that is proof enough: under load this answers at
/// once instead of queueing behind the traffic).
async fn health(State(state): State<AppState>) -> Response {
    if state.db_health.check(&state.db, READINESS_TIMEOUT).await {
        axum::Json(Health {
            status: Overall::Ok,
            database: None,
        })
        .into_response()
    } else {
        tracing::warn!("health check: database unreachable");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: Overall::Unavailable,
                database: Some(PartStatus::Unreachable),
            }),
        )
            .into_response()
    }
}

/// `GET /readyz`: whether a load balancer should send users here. 503 while
/// the database is unreachable (nothing works without it); 200 but
/// `"degraded"` while only Redis is, since local users are still served.
async fn readiness(State(state): State<AppState>) -> Response {
    // Always asked: a balancer must learn at once that the database is gone.
    let database = if tokio::time::timeout(READINESS_TIMEOUT, state.db.ping())
        .await
        .is_ok_and(|pinged| pinged.is_ok())
    {
        PartStatus::Ok
    } else {
        PartStatus::Unreachable
    };
    let redis = match state.channels.status() {
        LayerStatus::InProcess => PartStatus::NotConfigured,
        LayerStatus::Connected => PartStatus::Ok,
        LayerStatus::Disconnected => PartStatus::Unreachable,
    };
    let (status, overall) = match (database, redis) {
        (PartStatus::Unreachable, _) => (StatusCode::SERVICE_UNAVAILABLE, Overall::Unavailable),
        (_, PartStatus::Unreachable) => (StatusCode::OK, Overall::Degraded),
        _ => (StatusCode::OK, Overall::Ok),
    };
    let body = Readiness {
        status: overall,
        database,
        redis,
    };
    (status, axum::Json(body)).into_response()
}

/// Some layers answer with a bare, empty error: the session and log-in
/// layers a 500 when the database is down, the server-function router a 405
/// for a wrong method. Give each the same JSON shape as every other error,
/// and a 500 the honest status: 503 when the database is unreachable.
struct ExplainBareErrors {
    db: sea_orm::DatabaseConnection,
}

impl around::Around for ExplainBareErrors {
    type Note = ();

    fn before(&self, _: &Request) {}

    fn after(&self, (): (), response: Response) -> around::After {
        let status = response.status();
        let is_bare = (status.is_client_error() || status.is_server_error())
            && !response.headers().contains_key(header::CONTENT_TYPE);
        if !is_bare {
            return around::After::Done(response);
        }
        if status != StatusCode::INTERNAL_SERVER_ERROR {
            // Keep the status and its headers (Allow, Retry-After); say it in JSON.
            let (mut parts, _) = response.into_parts();
            let detail = format!("{}.", status.canonical_reason().unwrap_or("Refused"));
            let body = app::wire::ErrorBody {
                detail,
                errors: None,
            };
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            let json = serde_json::to_vec(&body).unwrap_or_default();
            return around::After::Done(Response::from_parts(parts, axum::body::Body::from(json)));
        }
        let db = self.db.clone();
        around::After::Later(Box::pin(async move {
            let database_ok = tokio::time::timeout(READINESS_TIMEOUT, db.ping())
                .await
                .is_ok_and(|pinged| pinged.is_ok());
            if database_ok {
                AppError::Internal.into_response()
            } else {
                AppError::Unavailable.into_response()
            }
        }))
    }
}

/// Serves until SIGTERM or Ctrl-C: then stops accepting, closes WebSockets,
/// lets in-flight requests and background work finish (up to a deadline),
/// and closes the database.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let leptos_options = site::locate()?;
    let address = leptos_options.site_addr;
    let monitoring = monitoring::Monitoring::install()?;
    let _ = monitoring::MONITORING.set(monitoring.clone());
    let state = build_state(&config, leptos_options).await?;
    state.tasks.spawn(monitoring.upkeep(state.shutdown.clone()));
    if let Some(metrics_addr) = config.metrics_addr {
        let listener = tokio::net::TcpListener::bind(metrics_addr).await?;
        tracing::info!("metrics on http://{metrics_addr}/metrics");
        let metrics_state = state.clone();
        let shutdown = state.shutdown.clone();
        let only_metrics = Router::new().route(
            "/metrics",
            get(move || {
                let state = metrics_state.clone();
                async move { monitoring::exposition(&state) }
            }),
        );
        state.tasks.spawn(async move {
            let served = axum::serve(listener, only_metrics)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }

    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!("ChatApp is listening on http://{address}");

    let shutdown = state.shutdown.clone();
    let tasks = state.tasks.clone();
    let db = state.db.clone();
    let deadline = config.shutdown_deadline();
    tokio::spawn(shutdown_signal(shutdown.clone()));
    listener::serve(
        listener,
        app(state),
        config.connection_limits(),
        shutdown,
        deadline,
    )
    .await;
    tasks.close();
    if tokio::time::timeout(deadline, tasks.wait()).await.is_err() {
        tracing::warn!(
            remaining = tasks.len(),
            "shutdown deadline passed; stopping the tasks still running"
        );
    }
    db.close().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C, after telling long-lived tasks to stop.
async fn shutdown_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests, closing sockets");
    shutdown.cancel();
}
