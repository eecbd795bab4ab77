//! Sign-up, log-in, log-out and sessions.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_taken_email_is_not_revealed_at_sign_up,
    register_creates_account_and_logs_in,
    register_reports_every_invalid_field,
    usernames_are_unique_case_insensitively,
    unknown_user_and_wrong_password_get_the_same_error,
    login_issues_a_new_session_id,
    a_password_change_issues_a_new_session_id,
    logout_destroys_the_session,
    every_api_route_requires_a_session,
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
    // The address counts once the link sent to it is opened.
    assert_eq!(user.email, None);
    let settings = client.get("/api/v1/auth/settings").await;
    assert_eq!(settings.body["pending_email"], "alice@example.com");
    app.confirm_email("alice@example.com").await;
    let settings = client.get("/api/v1/auth/settings").await;
    assert_eq!(settings.body["email"], "alice@example.com");
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
    // Look-alikes of a taken name are taken too.
    for lookalike in ["e.mail_fan", "EMAIL-FAN", "e-m.a_i-lfan"] {
        let refused = app
            .client()
            .post_json(
                "/api/v1/auth/register",
                &register(lookalike, "x@example.com"),
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{lookalike}");
        assert!(
            refused.body["errors"]["username"][0]
                .as_str()
                .unwrap()
                .contains("too like"),
            "{}",
            refused.body
        );
    }
}

/// Whether an address has an account is nobody's business: a sign-up with a
/// taken one is answered like any other (the address waits for a
/// confirmation that never comes), and the address's owner is told by
/// e-mail.
async fn a_taken_email_is_not_revealed_at_sign_up(app: TestApp) {
    let register = |username: &str, email: &str| json!({"username": username, "password": "correct horse", "email": email});
    let mut owner = app.client();
    let first = owner
        .post_json("/api/v1/auth/register", &register("fan", "fan@example.com"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    app.confirm_email("fan@example.com").await;
    let mut fresh = app.client();
    let untaken = fresh
        .post_json(
            "/api/v1/auth/register",
            &register("newbie", "new@example.com"),
        )
        .await;
    let mut prober = app.client();
    let taken = prober
        .post_json(
            "/api/v1/auth/register",
            &register("prober", "FAN@example.com"),
        )
        .await;
    assert_eq!(taken.status, untaken.status);
    assert_eq!(taken.status, StatusCode::CREATED);
    assert_eq!(taken.body["username"], "prober");
    assert_eq!(
        taken.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        untaken.body.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    // The owner keeps the address; the new account has none, and its
    // settings look like any account's waiting for a link.
    assert_eq!(
        owner.get("/api/v1/auth/settings").await.body["email"],
        "fan@example.com"
    );
    let probers = prober.get("/api/v1/auth/settings").await.body;
    assert!(probers["email"].is_null(), "{probers}");
    assert_eq!(probers["pending_email"], "fan@example.com");
    assert_eq!(
        fresh.get("/api/v1/auth/settings").await.body["pending_email"],
        "new@example.com"
    );
    // The owner is told, with no link; the free address gets its link.
    let told =
        crate::common::mail_to(&app, "fan@example.com", "Someone tried to add your address").await;
    assert!(told.contains("\"prober\""), "{told}");
    assert!(!told.contains("token="), "{told}");
    tokio::time::timeout(std::time::Duration::from_secs(30), app.state.jobs.flushed())
        .await
        .expect("every mail job done within 30 s");
    let mails = crate::common::outbox(&app, 3).await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    crate::common::mail_to(&app, "new@example.com", "Confirm your new ChatApp e-mail").await;
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
    let response = client
        .post_json("/api/v1/auth/login", &credentials("alice"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
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

/// Whoever learned the session id before a password change learned nothing
/// lasting: the id changes, the old one is refused, the browser carries on.
async fn a_password_change_issues_a_new_session_id(app: TestApp) {
    let mut alice = app.user("alice").await;
    let before = alice.cookie.clone().unwrap();
    let changed = alice
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "a new long secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let after = alice.cookie.clone().unwrap();
    assert_ne!(before, after);
    assert_eq!(alice.get("/api/v1/auth/me").await.body["username"], "alice");
    let mut stale = app.client();
    stale.cookie = Some(before);
    assert_eq!(
        stale.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Pages that need a session send a visitor without one to log in with a
/// plain redirect; the log-in page itself, and the pages for a logged-in
/// user, render.
#[tokio::test]
async fn logged_out_visits_to_session_pages_are_redirected_to_log_in() {
    let app = TestApp::on(crate::common::Backend::Sqlite).await.unwrap();
    for path in ["/", "/chat/bob", "/settings"] {
        let visit = app.client().get_page(path).await;
        assert_eq!(visit.status, StatusCode::FOUND, "{path}");
        assert_eq!(
            visit.headers[axum::http::header::LOCATION],
            "/login",
            "{path}"
        );
    }
    assert_eq!(app.client().get_page("/login").await.status, StatusCode::OK);
    let mut ann = app.user("ann").await;
    for path in ["/", "/settings"] {
        assert_eq!(ann.get_page(path).await.status, StatusCode::OK, "{path}");
    }
}

/// A session left unused past `session_idle` ends; one in use stays.
#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout() {
    let settings = app::domain::Settings {
        session_idle: std::time::Duration::from_secs(2),
        ..crate::common::test_settings()
    };
    let app = TestApp::with_settings(crate::common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let mut alice = app.user("alice").await;
    // Time passing is what is tested here. In use, the session outlives the
    // idle timeout: each request starts it again.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        assert_eq!(alice.get("/api/v1/auth/me").await.status, StatusCode::OK);
    }
    // Unused past it (expiry is kept to the whole second), it is gone.
    let cookie = alice.cookie.clone().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut later = app.client();
    later.cookie = Some(cookie);
    assert_eq!(
        later.get("/api/v1/auth/me").await.status,
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

/// Walks the router's own route table: every route that is not public
/// answers 401 with a JSON `detail` to every method it serves, with and
/// without its trailing slash; public ones answer without a session.
async fn every_api_route_requires_a_session(app: TestApp) {
    use axum::body::Body;
    use axum::http::{HeaderMap, Method, header};
    use server::api::v1::{Access, routes};

    let mut bob = app.user("bob").await;
    let message_id = app
        .user("alice")
        .await
        .send_message("bob", "hello")
        .await
        .to_string();
    let mut anonymous = app.client();
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let routes = routes();
    assert!(routes.len() >= 15, "the route table lost routes");
    for route in routes {
        let path = route
            .path
            .replace("{id}", &message_id)
            .replace("{username}", "alice");
        let variants = [
            format!("/api/v1{path}"),
            format!("/api/v1{}", path.trim_end_matches('/')),
        ];
        for url in variants {
            let mut served = 0;
            for method in &methods {
                let mut headers = HeaderMap::new();
                headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
                let response = anonymous
                    .send(method.clone(), &url, headers.clone(), Body::from("{}"))
                    .await;
                if response.status == StatusCode::METHOD_NOT_ALLOWED {
                    continue;
                }
                served += 1;
                match route.access {
                    Access::Session => {
                        assert_eq!(
                            response.status,
                            StatusCode::UNAUTHORIZED,
                            "{method} {url}: {}",
                            response.text
                        );
                        assert!(
                            response.body["detail"].is_string(),
                            "{method} {url}: {}",
                            response.text
                        );
                        // With a session the same request gets past the check.
                        let logged_in = bob
                            .send(method.clone(), &url, headers, Body::from("{}"))
                            .await;
                        assert_ne!(
                            logged_in.status,
                            StatusCode::UNAUTHORIZED,
                            "{method} {url} refuses a valid session: {}",
                            logged_in.text
                        );
                        if bob.cookie.is_none() {
                            // That was the log-out: log in again for the rest.
                            bob = app.second_session("bob").await;
                        }
                    }
                    Access::Public => assert_ne!(
                        response.status,
                        StatusCode::UNAUTHORIZED,
                        "{method} {url} is public: {}",
                        response.text
                    ),
                }
            }
            assert!(served > 0, "{url} serves no method");
        }
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
        ..crate::common::test_settings()
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
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let cookie = response.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    // `__Host-`: the browser keeps it only if Secure, for this host alone,
    // on path `/`, so no sibling subdomain can plant or replace it.
    assert!(
        cookie.starts_with(&format!("{}=", server::SECURE_SESSION_COOKIE)),
        "{cookie}"
    );
    assert!(server::SECURE_SESSION_COOKIE.starts_with("__Host-"));
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
}

/// Ten attempts, then a wait. The refill is an hour here, so however slowly
/// a loaded machine hashes the ten, none of the wait has passed by the
/// eleventh.
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
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");
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

mod password_guessing_is_throttled_per_account {
    fn hourly() -> app::domain::Settings {
        let mut settings = crate::common::test_settings();
        // Ten at once, then one an hour.
        settings.rates.log_in_per_account =
            app::domain::limits::Rate::new(10, std::time::Duration::from_hours(10));
        settings
    }

    #[tokio::test]
    async fn sqlite() {
        let app = crate::common::TestApp::with_settings(crate::common::Backend::Sqlite, hourly())
            .await
            .unwrap();
        super::password_guessing_is_throttled_per_account(app).await;
    }

    #[tokio::test]
    async fn mariadb() {
        if let Some(app) =
            crate::common::TestApp::with_settings(crate::common::Backend::MariaDb, hourly()).await
        {
            super::password_guessing_is_throttled_per_account(app).await;
        }
    }
}
