//! Sign-up, log-in, log-out and sessions.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    register_creates_account_and_logs_in,
    register_reports_every_invalid_field,
    usernames_are_unique_case_insensitively,
    unknown_user_and_wrong_password_get_the_same_error,
    login_issues_a_new_session_id,
    logout_destroys_the_session,
    every_api_route_requires_a_session,
    password_guessing_is_throttled_per_account,
);

async fn register_creates_account_and_logs_in(app: TestApp) {
    let mut client = app.client();
    let response = client
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "Alice", "password": "correct horse", "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body, json!({"username": "Alice"}));
    let cookie = response.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");

    let me = client.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, json!({"username": "Alice"}));

    // The hash is argon2id, never the password.
    let user = app::domain::accounts::find_by_username(&app.state.db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(user.last_login_at.is_some());
}

async fn register_reports_every_invalid_field(app: TestApp) {
    let response = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "a b", "password": "short", "email": "nope"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let errors = &response.body["errors"];
    assert_eq!(errors["username"].as_array().unwrap().len(), 1);
    assert_eq!(
        errors["password"][0],
        "Passwords must be at least 8 characters long."
    );
    assert_eq!(errors["email"][0], "Enter a valid e-mail address.");
    assert!(response.body["detail"].is_string());
}

async fn usernames_are_unique_case_insensitively(app: TestApp) {
    app.user("Alice").await;
    let response = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "aLiCe", "password": "another password"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(
        response.body["errors"]["username"][0],
        "This username is taken."
    );

    // A name that contains "email" is still a username conflict, and a taken
    // e-mail address is reported as such.
    let register = |username: &str, email: &str| json!({"username": username, "password": "correct horse", "email": email});
    let first = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &register("emailfan", "fan@example.com"),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let same_name = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &register("emailfan", "other@example.com"),
        )
        .await;
    assert_eq!(same_name.status, StatusCode::CONFLICT);
    assert!(
        same_name.body["errors"]["username"].is_array(),
        "{}",
        same_name.body
    );
    let same_email = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &register("someone", "FAN@example.com"),
        )
        .await;
    assert_eq!(same_email.status, StatusCode::CONFLICT);
    assert_eq!(
        same_email.body["errors"]["email"][0],
        "An account with this e-mail address already exists."
    );
}

async fn unknown_user_and_wrong_password_get_the_same_error(app: TestApp) {
    app.user("alice").await;
    let wrong_password = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "alice", "password": "wrong password"}),
        )
        .await;
    let unknown_user = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "wrong password"}),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(
        wrong_password.body["detail"],
        "Invalid username or password."
    );

    let mut client = app.client();
    let ok = client
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ALICE", "password": "correct horse"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, json!({"username": "alice"}));
}

async fn login_issues_a_new_session_id(app: TestApp) {
    app.user("alice").await;
    app.user("bob").await;
    let mut client = app.client();
    let credentials = |name: &str| json!({"username": name, "password": "correct horse"});
    client
        .post_json("/api/v1/auth/login", &credentials("alice"))
        .await;
    let first = client.cookie.clone().unwrap();
    // Logging in again on the same session (here as someone else) rotates the id.
    let response = client
        .post_json("/api/v1/auth/login", &credentials("bob"))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let second = client.cookie.clone().unwrap();
    assert_ne!(first, second);
    assert_eq!(client.get("/api/v1/auth/me").await.body["username"], "bob");

    let mut stale = app.client();
    stale.cookie = Some(first);
    assert_eq!(
        stale.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn logout_destroys_the_session(app: TestApp) {
    let mut client = app.user("alice").await;
    let cookie = client.cookie.clone().unwrap();
    let response = client.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(client.cookie.is_none(), "the cookie is cleared");

    let mut replay = app.client();
    replay.cookie = Some(cookie.clone());
    let me = replay.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    // Gone from the database too, not just from this node's cache.
    let id = cookie.split_once('=').unwrap().1.parse().unwrap();
    let stored = app::domain::session_store::load_uncached(&app.state.db, &id)
        .await
        .unwrap();
    assert!(stored.is_none());
}

async fn every_api_route_requires_a_session(app: TestApp) {
    let mut client = app.client();
    for path in [
        "/api/v1/auth/me",
        "/api/v1/user/",
        "/api/v1/message/",
        "/api/v1/message/?target=alice",
        "/api/v1/message/1/",
    ] {
        let response = client.get(path).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            response.body["detail"].is_string(),
            "{path}: {}",
            response.text
        );
    }
    for path in ["/api/v1/message/", "/api/v1/auth/logout"] {
        let response = client
            .post_json(path, &json!({"recipient": "alice", "body": "hi"}))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.body["detail"].is_string());
    }
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let client = app.user("alice").await;
    let restarted = TestApp::open(&app.database_url, app.state.settings.as_ref().clone()).await;
    let mut same_cookie = restarted.client();
    same_cookie.cookie.clone_from(&client.cookie);
    let me = same_cookie.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], "alice");
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let settings = app::domain::Settings {
        secure_cookies: true,
        ..Default::default()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let response = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "alice", "password": "correct horse"}),
        )
        .await;
    let cookie = response.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

async fn password_guessing_is_throttled_per_account(app: TestApp) {
    app.user("alice").await;
    app.user("bob").await;
    let attempt =
        |username: &str, password: &str| json!({"username": username, "password": password});
    for _ in 0..10 {
        let response = app
            .client()
            .post_json("/api/v1/auth/login", &attempt("alice", "guess"))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // The eleventh attempt waits, even with the right password.
    let throttled = app
        .client()
        .post_json("/api/v1/auth/login", &attempt("Alice", "correct horse"))
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert!(
        throttled.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Too many attempts")
    );
    // Another account is unaffected.
    let bob = app
        .client()
        .post_json("/api/v1/auth/login", &attempt("bob", "correct horse"))
        .await;
    assert_eq!(bob.status, StatusCode::OK);
}
