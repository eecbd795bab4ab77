//! The UI's server functions answer with the error's own status.

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};

use crate::common::{Backend, TestApp};

#[tokio::test]
async fn log_in_server_function_answers_401_then_logs_in() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    app.user("alice").await;
    let mut client = app.client();
    let wrong = client
        .post_raw(
            "/rpc/log_in",
            "application/x-www-form-urlencoded",
            "username=alice&password=wrong+password",
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert!(client.cookie.is_none());

    let right = client
        .post_raw(
            "/rpc/log_in",
            "application/x-www-form-urlencoded",
            "username=alice&password=correct+horse",
        )
        .await;
    assert!(
        right.status.is_success() || right.status.is_redirection(),
        "{}",
        right.status
    );
    assert!(client.cookie.is_some());
    assert_eq!(
        client.get("/api/v1/auth/me").await.body["username"],
        "alice"
    );
}

/// A browser without the WASM posts the form itself: a refusal sends it
/// back to the form's page, which shows why (not a page of raw JSON).
#[tokio::test]
async fn a_plain_form_post_that_fails_goes_back_to_its_page_showing_why() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    app.user("alice").await;
    let mut browser = app.client();
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, "text/html".parse().unwrap());
    headers.insert(
        header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    headers.insert(header::REFERER, "http://localhost/login".parse().unwrap());
    let refused = browser
        .send(
            Method::POST,
            "/rpc/log_in",
            headers,
            Body::from("username=alice&password=wrong+password"),
        )
        .await;
    assert!(
        refused.status.is_redirection(),
        "{} {}",
        refused.status,
        refused.text
    );
    let back = refused.headers["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("http://localhost/login?"), "{back}");
    assert!(back.contains("__err="), "{back}");
    let path = back.trim_start_matches("http://localhost");
    let page = browser.get_page(path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Invalid username or password."),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn chat_page_redirects_visitors_to_log_in() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let response = app.client().get_page("/").await;
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.text);
    assert_eq!(response.headers["location"], "/login");
}

#[tokio::test]
async fn chat_page_is_server_rendered_with_the_people_list() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let response = alice.get_page("/").await;
    assert_eq!(response.status, StatusCode::OK);
    // First paint already has the people to pick from, not a spinner.
    assert!(
        response.text.contains(r#"href="/chat/bob""#),
        "{}",
        response.text
    );
    assert!(response.text.contains("Pick someone to chat with"));
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let response = app.client().get_page("/no/such/page").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.text.contains("Page not found"));
}
