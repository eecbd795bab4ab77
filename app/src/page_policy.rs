//! The Content-Security-Policy of every page: scripts only from this origin
//! or carrying this response's nonce (Leptos' hydration scripts do), the
//! wasm allowed to compile, styles only from our stylesheet, connections
//! only back here (the API and the socket), and no framing, plugins or
//! `<base>` tricks. An injected `<script>` or inline handler does not run.

use leptos::prelude::*;

/// Puts the policy, with this response's nonce, on the page being rendered.
pub fn apply(options: &LeptosOptions) {
    use axum::http::{HeaderValue, header, request::Parts};

    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // The socket is opened at the page's own host (`ws://` or `wss://`);
    // CSP's 'self' does not cover the ws schemes in every browser.
    let host = use_context::<Parts>().and_then(|parts| {
        parts
            .headers
            .get("x-forwarded-host")
            .or_else(|| parts.headers.get(header::HOST))
            .and_then(|host| host.to_str().ok())
            .filter(|host| is_plain_host(host))
            .map(str::to_owned)
    });
    let mut connect = vec!["'self'".to_owned()];
    if let Some(host) = &host {
        connect.push(format!("ws://{host} wss://{host}"));
        // `cargo leptos watch` reloads the page over a socket of its own.
        if std::env::var_os("LEPTOS_WATCH").is_some() {
            let hostname = host
                .rsplit_once(':')
                .map_or(host.as_str(), |(name, _)| name);
            connect.push(format!("ws://{hostname}:{}", options.reload_port));
        }
    }
    let connect = connect.join(" ");
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src {connect}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Only host names, addresses and ports go into the policy: a forged `Host`
/// header cannot add sources of its own.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::is_plain_host;

    #[test]
    fn only_plain_hosts_reach_the_policy() {
        assert!(is_plain_host("chat.example.org"));
        assert!(is_plain_host("127.0.0.1:3000"));
        assert!(is_plain_host("[::1]:3000"));
        assert!(!is_plain_host("evil.example; script-src *"));
        assert!(!is_plain_host("a b"));
        assert!(!is_plain_host(""));
    }
}
