//! Logging: one line per request (from the router's trace layer) and errors
//! with their context, to standard error, as text or as one JSON object per
//! line (`LOG_FORMAT=json`) with the request's id, route and user.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

use crate::around::{After, Around};
use crate::config::LogFormat;
use crate::monitoring::RouteLabel;

/// The header that carries a request's id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber. `filter` is an `EnvFilter` directive string.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|error| {
        eprintln!("invalid log filter {filter:?} ({error}); using \"info\"");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        // The event's fields at the top level, and the request span's
        // (method, path, request_id, route, user_id) beside them.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The request's span, kept where inner layers can reach it: by the time a
/// request is routed, the session and log-in layers have entered spans of
/// their own.
#[derive(Clone)]
struct RequestSpan(tracing::Span);

/// Just inside the trace layer (a `map_request`): remembers its span.
pub fn remember_span(mut request: Request) -> Request {
    request
        .extensions_mut()
        .insert(RequestSpan(tracing::Span::current()));
    request
}

/// Middleware, inside routing and the session layer: records the matched
/// route template and the logged-in user's id on the request's span, and
/// labels the response with the route for the metrics.
pub struct Identify;

impl Around for Identify {
    /// The matched route template.
    type Note = Option<String>;

    fn before(&self, request: &Request) -> Option<String> {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|route| route.as_str().to_owned());
        if let Some(RequestSpan(span)) = request.extensions().get::<RequestSpan>() {
            if let Some(route) = &route {
                span.record("route", route.as_str());
            }
            if let Some(user) = request
                .extensions()
                .get::<axum_login::AuthSession<app::domain::auth::Backend>>()
                .and_then(|session| session.user.as_ref())
            {
                span.record("user_id", user.id);
            }
        }
        route
    }

    fn after(&self, route: Option<String>, mut response: Response) -> After {
        // The metrics outside routing label the request with it too.
        if let Some(route) = route {
            response.extensions_mut().insert(RouteLabel(route));
        }
        After::Done(response)
    }
}
