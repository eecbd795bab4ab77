//! Prometheus metrics at `/metrics`.
//!
//! The domain counts what happens with the `metrics` facade (a no-op until a
//! recorder is installed, as in the in-process tests); the serving binary
//! installs `metrics-exporter-prometheus`'s recorder and renders it here.
//! Gauges that are a state rather than an event (pool, Redis link, hashes
//! in flight, process memory and CPU) are read when scraped.
//!
//! `/metrics` is for the operator, not the internet: on the main port it
//! answers only a client on the same machine that came through no proxy
//! (an `X-Forwarded-For` means a proxy relayed it); `METRICS_ADDR` serves it
//! on an address of its own instead.

use std::time::{Duration, Instant};

use app::domain::AppState;
use app::domain::channel_layer::LayerStatus;
use app::wire::ServerFrame;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DbBackend;

use crate::around::{After, Around};

/// Upper bounds of the latency histograms' buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// How often histograms are compacted when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// What renders `/metrics`.
#[derive(Clone)]
pub struct Monitoring {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

impl Monitoring {
    /// Installs the global recorder (once per process) and describes every
    /// metric.
    pub fn install() -> Result<Self, String> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("chatapp_write_batch_jobs".to_owned()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                )
            })
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|error| format!("cannot start the metrics recorder: {error}"))?;
        describe();
        let process = metrics_process::Collector::default();
        process.describe();
        Ok(Self { handle, process })
    }

    /// Compacts the histograms now and then; ends with `shutdown`.
    pub async fn upkeep(self, shutdown: tokio_util::sync::CancellationToken) {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => self.handle.run_upkeep(),
            }
        }
    }

    /// The exposition text, with the states read now.
    pub fn render(&self, state: &AppState) -> String {
        self.process.collect();
        record_states(state);
        self.handle.render()
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method."
    );
    describe_gauge!("chatapp_websockets_open", "WebSockets open on this node.");
    describe_counter!(
        "chatapp_frames_sent_total",
        "Frames written to WebSockets, by kind (event or signal)."
    );
    describe_counter!(
        "chatapp_events_published_total",
        "Events committed and published by this node's writer."
    );
    describe_histogram!(
        "chatapp_delivery_lag_seconds",
        Unit::Seconds,
        "From an event's publication on this node (right after its commit, or its arrival from another node) to a connection taking it."
    );
    describe_histogram!(
        "chatapp_write_batch_jobs",
        "Writes committed together in one transaction."
    );
    describe_counter!(
        "chatapp_stream_replayed_events_total",
        "Stored events replayed to reconnecting or lagging connections."
    );
    describe_counter!(
        "chatapp_stream_resyncs_total",
        "Connections told to resync (too far behind to replay)."
    );
    describe_gauge!(
        "chatapp_db_pool_connections",
        "Database pool connections, by state (in_use, idle)."
    );
    describe_gauge!(
        "chatapp_db_pool_max_connections",
        "The database pool's size limit."
    );
    describe_counter!(
        "chatapp_db_errors_total",
        "Database errors, by kind: unavailable (timeouts, lost connections, pool waits that timed out, lock timeouts) or other."
    );
    describe_gauge!(
        "chatapp_redis_linked",
        "1 when this node is subscribed to Redis, 0 when not, absent without Redis."
    );
    describe_counter!(
        "chatapp_redis_reconnects_total",
        "Times this node's Redis subscription was re-established."
    );
    describe_gauge!(
        "chatapp_password_hashes_in_flight",
        "Password hashes being computed or waiting for a turn."
    );
    describe_counter!(
        "chatapp_password_hashes_refused_total",
        "Log-ins and sign-ups refused (503) because the hashing queue was full."
    );
    describe_counter!(
        "chatapp_rate_limited_total",
        "Requests and socket frames refused by a rate limit, by limit."
    );
}

/// Gauges of states, read at scrape time.
fn record_states(state: &AppState) {
    let (size, idle) = match state.db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::MySql => {
            let pool = state.db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!("chatapp_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("chatapp_db_pool_connections", "state" => "idle").set(f64::from(idle));
    let max = match state.db.get_database_backend() {
        DbBackend::Sqlite => state
            .db
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        DbBackend::MySql => state
            .db
            .get_mysql_connection_pool()
            .options()
            .get_max_connections(),
        _ => 0,
    };
    metrics::gauge!("chatapp_db_pool_max_connections").set(f64::from(max));
    match state.channels.status() {
        LayerStatus::InProcess => {}
        LayerStatus::Connected => metrics::gauge!("chatapp_redis_linked").set(1.0),
        LayerStatus::Disconnected => metrics::gauge!("chatapp_redis_linked").set(0.0),
    }
    let hashing = u32::try_from(app::domain::accounts::hashes_in_flight()).unwrap_or(u32::MAX);
    metrics::gauge!("chatapp_password_hashes_in_flight").set(f64::from(hashing));
}

/// `GET /metrics` on the main port: for a client on this machine that came
/// through no proxy.
pub async fn scrape(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    request: Request,
) -> Response {
    let relayed = request.headers().contains_key("x-forwarded-for")
        || request.headers().contains_key(header::FORWARDED);
    if !peer.ip().is_loopback() || relayed {
        return app::error::AppError::NotFound.into_response();
    }
    exposition(&state)
}

/// The exposition, or 404 where no recorder was installed.
pub fn exposition(state: &AppState) -> Response {
    match MONITORING.get() {
        Some(monitoring) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            monitoring.render(state),
        )
            .into_response(),
        None => app::error::AppError::NotFound.into_response(),
    }
}

/// The process's one recorder, once installed.
pub static MONITORING: std::sync::OnceLock<Monitoring> = std::sync::OnceLock::new();

/// The matched route of a request, handed from inside routing
/// (`telemetry::Identify`, and `site::assets` for the build's files) to the
/// metrics middleware outside it.
#[derive(Clone)]
pub struct RouteLabel(pub String);

/// Middleware, outermost: counts and times every request by route template
/// (never the raw path, which would make a series per message id), method
/// and status.
pub struct CountRequests;

/// What [`CountRequests`] notes of a request.
pub struct Started {
    at: Instant,
    method: Method,
}

impl Around for CountRequests {
    type Note = Started;

    fn before(&self, request: &Request) -> Started {
        Started {
            at: Instant::now(),
            method: request.method().clone(),
        }
    }

    fn after(&self, started: Started, response: Response) -> After {
        let route = match response.extensions().get::<RouteLabel>() {
            Some(RouteLabel(route)) => route.clone(),
            None => "unmatched".to_owned(),
        };
        let method = started.method.as_str().to_owned();
        let status = response.status().as_u16().to_string();
        metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method)
            .record(started.at.elapsed());
        After::Done(response)
    }
}

/// Counts one open WebSocket for as long as it lives.
pub struct OpenSocket(());

impl OpenSocket {
    pub fn opened() -> Self {
        metrics::gauge!("chatapp_websockets_open").increment(1.0);
        Self(())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!("chatapp_websockets_open").decrement(1.0);
    }
}

/// Counts a frame written to a socket.
pub fn frame_sent(frame: &ServerFrame) {
    let kind = match frame {
        ServerFrame::Event(_) => "event",
        ServerFrame::Signal(_) => "signal",
    };
    metrics::counter!("chatapp_frames_sent_total", "kind" => kind).increment(1);
}
