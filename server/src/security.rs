//! Refuses state-changing requests that come from another site (CSRF), on top
//! of the session cookie's `SameSite=Lax`.

use app::error::AppError;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Middleware: a non-safe method (POST, PUT, PATCH, DELETE) from another site
/// gets 403.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if !request.method().is_safe() && is_cross_site(request.headers()) {
        return cross_site_error().into_response();
    }
    next.run(request).await
}

/// The error for a refused cross-site request.
pub fn cross_site_error() -> AppError {
    AppError::Forbidden("Cross-site requests are refused.".to_owned())
}

/// Whether the browser says the request comes from another site: by
/// `Sec-Fetch-Site`, or by an `Origin` whose host is not the one addressed.
/// Non-browser clients send neither and pass.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"cross-site")
    {
        return true;
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
