//! What every request passes on its way in and every response on its way
//! out: cross-site refusal (CSRF, on top of the cookie's `SameSite=Lax`),
//! bounds on the request head, a deadline, and the security headers.

use std::time::Duration;

use app::domain::AppState;
use app::domain::auth::{self, AuthSession};
use app::error::AppError;
use app::wire::MAX_REQUEST_BYTES;
use axum::BoxError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::around::{After, Around};

/// The longest URL (path and query) served; longer gets 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry; more gets
/// 431. Browsers send a few KiB; hyper's own hard limit sits above this.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Guard ([`crate::guard`]): refuses a request whose URL or headers are too
/// large before any work, with the JSON error every client understands.
pub fn bound_request_head(request: &Request) -> Option<Response> {
    let uri_length = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if uri_length > MAX_URI_BYTES {
        return Some(AppError::UriTooLong(MAX_URI_BYTES).into_response());
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (header_bytes > MAX_HEADER_BYTES)
        .then(|| AppError::HeadersTooLarge(MAX_HEADER_BYTES).into_response())
}

/// Guard: a body that says it is over the limit is refused (413) before
/// anything reads it; `RequestBodyLimitLayer` inside cuts off one that does
/// not say its length.
pub fn bound_request_body(request: &Request) -> Option<Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<u64>().ok());
    let known = axum::body::HttpBody::size_hint(request.body()).lower();
    let too_large = declared.is_some_and(|length| length > MAX_REQUEST_BYTES as u64)
        || known > MAX_REQUEST_BYTES as u64;
    too_large.then(|| AppError::PayloadTooLarge(MAX_REQUEST_BYTES).into_response())
}

/// The answer to a request the stack refused before serving it: past the
/// deadline (`REQUEST_TIMEOUT_SECONDS`; a WebSocket is past it at its upgrade
/// answer) it was abandoned, so a stuck dependency cannot pile requests up
/// without bound; past `MAX_IN_FLIGHT` it was shed. Both are 503 with
/// `Retry-After`. The layers beneath fail with nothing else.
pub fn refusal(error: &BoxError, deadline: Duration) -> AppError {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(seconds = deadline.as_secs(), "request timed out");
        AppError::TimedOut
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        AppError::Busy(1)
    } else {
        tracing::error!(%error, "request refused by an unexpected error");
        AppError::Internal
    }
}

/// Middleware (inside the log-in layer): a session past its absolute
/// lifetime (`SESSION_DAYS` after its log-in, however active) is logged out
/// before the request is served, which then proceeds as anonymous. A live
/// one has its idle timer started again (see [`auth::keep_alive`]).
pub async fn end_expired_sessions(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(mut session) = request.extensions().get::<AuthSession>().cloned()
        && session.user.is_some()
    {
        let ended = auth::session_deadline(&session.session, &state.settings)
            .await
            .is_none_or(|deadline| deadline <= chrono::Utc::now());
        if ended {
            if let Err(error) = auth::log_out(&mut session, &state).await {
                return error.into_response();
            }
            request.extensions_mut().insert(session);
        } else {
            auth::keep_alive(&session.session, &state.settings).await;
        }
    }
    next.run(request).await
}

/// The headers every response carries. Pages get their
/// Content-Security-Policy (with the page's nonce) from the shell; anything
/// else that has none (JSON, errors) gets one that allows nothing. And
/// anything without a cache policy of its own (the build's files have one:
/// `site::assets`) is someone's own and never kept.
pub struct SecurityHeaders {
    /// Served over https: browsers are told to keep to it.
    pub https: bool,
}

impl Around for SecurityHeaders {
    type Note = ();

    fn before(&self, _: &Request) {}

    fn after(&self, (): (), mut response: Response) -> After {
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // Links in messages lead elsewhere: other sites learn nothing of where
        // from. (`no-referrer` would also make a form post's Origin `null`.)
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
        if !headers.contains_key(header::CACHE_CONTROL) {
            // Pages and API answers: never kept by a browser's or a proxy's cache.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if self.https {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=63072000"),
            );
        }
        After::Done(response)
    }
}

/// Guard: a page that needs a session, asked for without one, is a
/// plain redirect to the log-in page, answered here before any rendering
/// (the pages would redirect too, but only after rendering, through
/// Leptos' response options; under load those have been seen to lose
/// their headers and answer a 302 without a `Location`).
pub fn send_logged_out_visitors_to_log_in(request: &Request) -> Option<Response> {
    let path = request.uri().path();
    let needs_session = path == "/" || path == "/settings" || path.starts_with("/chat/");
    let logged_out = request
        .extensions()
        .get::<AuthSession>()
        .is_none_or(|session| session.user.is_none());
    if request.method() == axum::http::Method::GET && needs_session && logged_out {
        // 302, as the pages themselves answered (and the no-JS forms expect).
        return Some(
            (
                axum::http::StatusCode::FOUND,
                [(header::LOCATION, "/login")],
            )
                .into_response(),
        );
    }
    None
}

/// Guard: a non-safe method (POST, PUT, PATCH, DELETE) from another site
/// gets 403.
pub fn refuse_cross_site(request: &Request) -> Option<Response> {
    (!request.method().is_safe() && is_cross_site(request.headers()))
        .then(|| cross_site_error().into_response())
}

/// The error for a refused cross-site request.
pub fn cross_site_error() -> AppError {
    AppError::Forbidden("Cross-site requests are refused.".to_owned())
}

/// Whether the browser says the request comes from another site: by
/// `Sec-Fetch-Site`, or by an `Origin` whose host is not the one addressed.
/// Non-browser clients send neither and pass.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    // Browsers set Sec-Fetch-Site themselves; no page can forge it. Trust it
    // both ways: a same-origin form post may carry `Origin: null`.
    match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
        Some(b"cross-site") => return true,
        Some(b"same-origin") => return false,
        _ => {}
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, authority)| authority.trim_end_matches('/'));
    // Behind a reverse proxy the public host arrives as X-Forwarded-Host (a page
    // on another site cannot set that header without a CORS preflight).
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|host| host.to_str().ok());
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        // `Origin: null` (sandboxed frames, some redirects) or no Host: refuse.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::is_cross_site;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn same_origin_passes() {
        assert!(!is_cross_site(&headers(&[
            ("host", "chat.example:3000"),
            ("origin", "http://chat.example:3000"),
            ("sec-fetch-site", "same-origin"),
        ])));
    }

    #[test]
    fn a_proxy_forwarded_host_counts_as_ours() {
        assert!(!is_cross_site(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("x-forwarded-host", "chat.example"),
            ("origin", "https://chat.example"),
        ])));
    }

    #[test]
    fn no_browser_headers_pass() {
        assert!(!is_cross_site(&headers(&[("host", "chat.example")])));
    }

    #[test]
    fn another_origin_is_refused() {
        assert!(is_cross_site(&headers(&[
            ("host", "chat.example"),
            ("origin", "https://evil.example"),
        ])));
        assert!(is_cross_site(&headers(&[
            ("host", "chat.example"),
            ("origin", "null")
        ])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
    }
}
