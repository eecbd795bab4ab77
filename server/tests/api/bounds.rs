//! Every input is bounded before any work is spent on it, bad input gets a
//! 4xx with a JSON body (never a 5xx), and every response carries the
//! security headers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;

use crate::common::{TestApp, TestResponse};
use crate::on_both_backends;

on_both_backends!(
    oversized_credentials_are_refused_before_any_work,
    bodies_urls_and_headers_are_bounded,
    server_functions_answer_bad_arguments_with_400,
    responses_carry_the_security_headers,
    pages_keep_their_own_headers_while_files_are_served_beside_them,
);

fn assert_json_error(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.text);
    assert!(
        response.body.is_object(),
        "a JSON error body: {}",
        response.text
    );
}

async fn oversized_credentials_are_refused_before_any_work(app: TestApp) {
    let huge = "a".repeat(60_000);
    let rest = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": huge, "password": "whatever"}),
        )
        .await;
    assert_json_error(&rest, StatusCode::BAD_REQUEST);
    assert!(rest.body["errors"]["username"].is_array(), "{}", rest.text);
    let long_password = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "alice", "password": "p".repeat(1025)}),
        )
        .await;
    assert_json_error(&long_password, StatusCode::BAD_REQUEST);
    assert!(long_password.body["errors"]["password"].is_array());
    let form = app
        .client()
        .post_raw(
            "/rpc/log_in",
            "application/x-www-form-urlencoded",
            format!("username={}&password=x", "a".repeat(40_000)),
        )
        .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST, "{}", form.text);
    // Nothing was hashed or remembered for them: no account has that name,
    // and a real log-in right after works at once.
    app.user("alice").await;
    let fine = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "alice", "password": "correct horse"}),
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}

async fn bodies_urls_and_headers_are_bounded(app: TestApp) {
    let mut ann = app.user("ann").await;
    app.user("bob").await;
    let big = "x".repeat(1024 * 1024);
    let rest = ann
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": big}),
        )
        .await;
    assert_json_error(&rest, StatusCode::PAYLOAD_TOO_LARGE);
    let server_fn = ann
        .post_raw(
            "/rpc/list_messages",
            "application/x-www-form-urlencoded",
            format!("with_user={big}"),
        )
        .await;
    assert_json_error(&server_fn, StatusCode::PAYLOAD_TOO_LARGE);
    // Streamed without a declared length: cut off at the limit all the same.
    let chunks = (0..32).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 32 * 1024]));
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let streamed = ann
        .send(
            Method::POST,
            "/rpc/list_messages",
            headers,
            Body::from_stream(futures::stream::iter(
                std::iter::once(Ok(b"with_user=".to_vec())).chain(chunks),
            )),
        )
        .await;
    assert_json_error(&streamed, StatusCode::PAYLOAD_TOO_LARGE);

    let long_url = format!("/api/v1/user/?search={}", "q".repeat(20_000));
    assert_json_error(&ann.get(&long_url).await, StatusCode::URI_TOO_LONG);

    let mut headers = HeaderMap::new();
    headers.insert(
        "x-padding",
        HeaderValue::from_str(&"h".repeat(20_000)).unwrap(),
    );
    let padded = ann
        .send(Method::GET, "/api/v1/auth/me", headers, Body::empty())
        .await;
    assert_json_error(&padded, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

async fn server_functions_answer_bad_arguments_with_400(app: TestApp) {
    let mut ann = app.user("ann").await;
    app.user("bob").await;
    let form = "application/x-www-form-urlencoded";
    for body in [
        "with_user=bob&before=9223372036854775808",
        "with_user=bob&before=1e309",
        "with_user=bob&before=-",
        "",
    ] {
        let response = ann.post_raw("/rpc/list_messages", form, body).await;
        assert_json_error(&response, StatusCode::BAD_REQUEST);
    }
    let no_arguments = app.client().post_raw("/rpc/log_in", form, "").await;
    assert_json_error(&no_arguments, StatusCode::BAD_REQUEST);
    let json_body = app
        .client()
        .post_raw(
            "/rpc/register",
            "application/json",
            json!({"username": "x", "password": "y"}).to_string(),
        )
        .await;
    assert_json_error(&json_body, StatusCode::BAD_REQUEST);
    let wrong_method = app.client().get("/rpc/log_in").await;
    assert!(
        wrong_method.status.is_client_error(),
        "{}: {}",
        wrong_method.status,
        wrong_method.text
    );
}

/// Pages and the site's files answered at the same moment each keep their
/// own headers. A favicon answered while a page rendered once took that
/// page's Content-Security-Policy, and the page loaded with the policy that
/// allows nothing; a page sometimes panicked on its title (`stray_owner`).
async fn pages_keep_their_own_headers_while_files_are_served_beside_them(app: TestApp) {
    let ann = app.user("ann").await;
    app.user("bob").await;
    for _ in 0..25 {
        let pages = (0..4).map(|_| {
            let mut ann = ann.clone();
            async move { ann.get_page("/chat/bob").await }
        });
        let files = (0..4).map(|_| {
            let mut visitor = app.client();
            async move { visitor.get("/favicon.svg").await }
        });
        let (pages, files) = futures::join!(
            futures::future::join_all(pages),
            futures::future::join_all(files)
        );
        for page in pages {
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let policy = page.headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(policy.starts_with("default-src 'self'"), "{policy}");
            assert!(page.text.contains("<title>bob · ChatApp</title>"));
        }
        for file in files {
            assert_eq!(file.status, StatusCode::OK);
            assert!(file.text.starts_with("<svg"), "{}", file.text);
            assert_eq!(
                file.headers[header::CONTENT_SECURITY_POLICY],
                "default-src 'none'; frame-ancestors 'none'"
            );
        }
    }
}

async fn responses_carry_the_security_headers(app: TestApp) {
    let mut ann = app.user("ann").await;
    let page = ann.get_page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "connect-src 'self' ws://chat.test wss://chat.test",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    // Every inline script carries this response's nonce, and no other.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = page.text.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        page.text.matches(&format!("nonce=\"{nonce}\"")).count(),
        page.text.matches("<script").count(),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("style=\""),
        "no inline styles: {}",
        page.text
    );
    // A fresh nonce each time.
    let again = ann.get_page("/").await;
    assert_ne!(
        again.headers["content-security-policy"],
        page.headers["content-security-policy"]
    );

    for response in [&page, &ann.get("/api/v1/auth/me").await] {
        let headers = &response.headers;
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.get("strict-transport-security").is_none());
    }
    let api = ann.get("/api/v1/auth/me").await;
    assert_eq!(
        api.headers["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let settings = app::domain::Settings {
        secure_cookies: true,
        ..crate::common::test_settings()
    };
    let app = TestApp::with_settings(crate::common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let response = app.client().get("/api/v1/auth/me").await;
    assert_eq!(
        response.headers["strict-transport-security"],
        "max-age=63072000"
    );
}
