//! Rate limits: per client address (behind trusted proxies only as they
//! forward it), per account and per user, each answered 429 with
//! `Retry-After` and a JSON body, and none touching anyone else.

use std::time::Duration;

use app::domain::limits::{Rate, Rates};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, Client, TestApp, TestResponse, test_settings};

/// An app where `set` chooses the rates (everything else off); a burst of
/// `n` per hour keeps any refill out of a test's way.
async fn app_with(backend: Backend, set: impl FnOnce(&mut Rates)) -> Option<TestApp> {
    let mut settings = test_settings();
    set(&mut settings.rates);
    TestApp::with_settings(backend, settings).await
}

fn per_hour(burst: u32) -> Rate {
    Rate::new(burst, Duration::from_hours(burst.into()))
}

fn assert_limited(response: &TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        response.text
    );
    let retry_after: u64 = response.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert!(response.body["detail"].is_string(), "{}", response.text);
}

async fn sign_up(client: &mut Client, username: &str) -> TestResponse {
    client
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": username, "password": "correct horse"}),
        )
        .await
}

async fn sign_ups_are_limited_per_client_address(backend: Backend) {
    let Some(app) = app_with(backend, |rates| rates.sign_up_per_ip = per_hour(3)).await else {
        return;
    };
    for name in ["one", "two", "three"] {
        let created = sign_up(&mut app.client_from("198.51.100.7"), name).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    assert_limited(&sign_up(&mut app.client_from("198.51.100.7"), "four").await);
    // The server function is the same sign-up, under the same limit.
    let form = app
        .client_from("198.51.100.7")
        .post_raw(
            "/rpc/register",
            "application/x-www-form-urlencoded",
            "username=five&password=correct+horse",
        )
        .await;
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS, "{}", form.text);
    // Another address is not affected.
    let other = sign_up(&mut app.client_from("203.0.113.9"), "six").await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
}

async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(backend: Backend) {
    let Some(app) = app_with(backend, |rates| rates.sign_up_per_ip = per_hour(1)).await else {
        return;
    };
    let via_proxy = |client: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(&format!("6.6.6.6, {client}")).unwrap(),
        );
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers
    };
    let body = |name: &str| {
        axum::body::Body::from(json!({"username": name, "password": "correct horse"}).to_string())
    };
    // Loopback is a trusted proxy by default: the client is the rightmost
    // address it did not add, whatever the client wrote to the left.
    for (client, name) in [("198.51.100.1", "ann"), ("198.51.100.2", "bob")] {
        let created = app
            .client_from("127.0.0.1")
            .send(
                Method::POST,
                "/api/v1/auth/register",
                via_proxy(client),
                body(name),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let again = app
        .client_from("127.0.0.1")
        .send(
            Method::POST,
            "/api/v1/auth/register",
            via_proxy("198.51.100.1"),
            body("cat"),
        )
        .await;
    assert_limited(&again);
    // An untrusted peer's forwarding header is ignored: it is its own client.
    let direct = app
        .client_from("203.0.113.5")
        .send(
            Method::POST,
            "/api/v1/auth/register",
            via_proxy("198.51.100.3"),
            body("dan"),
        )
        .await;
    assert_eq!(direct.status, StatusCode::CREATED, "{}", direct.text);
    let forged = app
        .client_from("203.0.113.5")
        .send(
            Method::POST,
            "/api/v1/auth/register",
            via_proxy("198.51.100.4"),
            body("eve"),
        )
        .await;
    assert_limited(&forged);
}

/// Password spraying: one address trying one password on many accounts.
async fn log_ins_are_limited_per_client_address(backend: Backend) {
    let Some(app) = app_with(backend, |rates| rates.log_in_per_ip = per_hour(5)).await else {
        return;
    };
    app.user("target").await;
    for victim in ["a1", "a2", "a3", "a4", "a5"] {
        let refused = app
            .client_from("198.51.100.7")
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": victim, "password": "Summer2026!"}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    let sprayed = app
        .client_from("198.51.100.7")
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "target", "password": "correct horse"}),
        )
        .await;
    assert_limited(&sprayed);
    let form = app
        .client_from("198.51.100.7")
        .post_raw(
            "/rpc/log_in",
            "application/x-www-form-urlencoded",
            "username=target&password=correct+horse",
        )
        .await;
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS, "{}", form.text);
    let elsewhere = app
        .client_from("203.0.113.9")
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "target", "password": "correct horse"}),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.text);
}

async fn sends_are_limited_per_user_but_chat_is_not(backend: Backend) {
    let Some(app) = app_with(backend, |rates| rates.sends_per_user = per_hour(40)).await else {
        return;
    };
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    app.user("cat").await;
    // A lively burst is fine.
    for n in 0..40 {
        ann.send_message("bob", &format!("message {n}")).await;
    }
    let flood = ann
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "cat", "body": "one too many"}),
        )
        .await;
    assert_limited(&flood);
    // Bob, in the same conversation, is not limited by Ann's sending.
    bob.send_message("ann", "still here").await;
}

async fn reset_requests_are_limited_per_address_and_per_client(backend: Backend) {
    let Some(app) = app_with(backend, |rates| {
        rates.reset_per_address = per_hour(2);
        rates.reset_per_ip = per_hour(4);
    })
    .await
    else {
        return;
    };
    let ask = |email: &str| json!({"email": email});
    for from in ["198.51.100.1", "198.51.100.2"] {
        let accepted = app
            .client_from(from)
            .post_json("/api/v1/auth/password-reset", &ask("ann@example.org"))
            .await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED);
    }
    // A third for the same inbox, from anywhere, waits.
    assert_limited(
        &app.client_from("198.51.100.3")
            .post_json("/api/v1/auth/password-reset", &ask("ANN@example.org"))
            .await,
    );
    // One address asking for many inboxes is limited too.
    for n in 0..4 {
        let accepted = app
            .client_from("203.0.113.9")
            .post_json(
                "/api/v1/auth/password-reset",
                &ask(&format!("person{n}@example.org")),
            )
            .await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED);
    }
    assert_limited(
        &app.client_from("203.0.113.9")
            .post_json("/api/v1/auth/password-reset", &ask("person9@example.org"))
            .await,
    );
    // Confirmation links for an e-mail change go into the same inbox's
    // bucket: settings cannot flood it either.
    let mut mallory = app.user("mallory").await;
    assert_limited(
        &mallory
            .send_json(
                Method::PATCH,
                "/api/v1/auth/settings",
                &json!({"email": "ann@example.org", "current_password": "correct horse"}),
            )
            .await,
    );
    let free = mallory
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "mallory@example.org", "current_password": "correct horse"}),
        )
        .await;
    assert_eq!(free.status, StatusCode::OK, "{}", free.body);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::common::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn mariadb() {
                super::$name(crate::common::Backend::MariaDb).await;
            }
        }
    )*};
}

on_both!(
    sign_ups_are_limited_per_client_address,
    behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit,
    log_ins_are_limited_per_client_address,
    sends_are_limited_per_user_but_chat_is_not,
    reset_requests_are_limited_per_address_and_per_client,
);
