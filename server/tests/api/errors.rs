//! Bad requests get clear JSON errors, never HTML.

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    malformed_json_is_a_400,
    a_body_that_is_not_an_object_is_a_400,
    whole_numbers_may_be_written_with_a_fraction,
    wrong_content_type_is_a_415,
    oversized_bodies_are_a_413,
    unknown_api_paths_are_json_404s,
    cross_site_posts_are_refused,
);

async fn malformed_json_is_a_400(app: TestApp) {
    let mut alice = app.user("alice").await;
    let response = alice
        .post_raw("/api/v1/message/", "application/json", "{\"recipient\": ")
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.body["detail"].as_str().unwrap().len() > 5);
    let missing_field = alice
        .post_json("/api/v1/message/", &json!({"recipient": "bob"}))
        .await;
    assert_eq!(missing_field.status, StatusCode::BAD_REQUEST);
    assert!(
        missing_field.body["detail"]
            .as_str()
            .unwrap()
            .contains("body")
    );
}

/// serde would read a struct from an array (`[null, null]` as the fields in
/// order); every body of the API is an object, and anything else is refused.
async fn a_body_that_is_not_an_object_is_a_400(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    for body in [r#"["bob", "hi"]"#, "[null, null]", "\"hi\"", "42", "null"] {
        for (method, path) in [
            (Method::POST, "/api/v1/message/"),
            (Method::PATCH, "/api/v1/auth/settings"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            let response = alice
                .send(method.clone(), path, headers, Body::from(body))
                .await;
            assert_eq!(
                response.status,
                StatusCode::BAD_REQUEST,
                "{method} {path} {body}: {}",
                response.text
            );
            assert_eq!(response.body["detail"], "The body must be a JSON object.");
        }
    }
    // `+json` types and surrounding whitespace are still JSON objects.
    let response = alice
        .post_raw(
            "/api/v1/message/",
            "application/vnd.chatapp+json; charset=utf-8",
            " \n{\"recipient\": \"bob\", \"body\": \"hi\"}",
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
}

/// JSON has one number type: `7.0` is the whole number 7 (JSON Schema says
/// so too), while `7.5` is not an id.
async fn whole_numbers_may_be_written_with_a_fraction(app: TestApp) {
    let mut bob = app.user("bob").await;
    let id = app.user("alice").await.send_message("bob", "hi").await;
    let written = format!("{id}.0");
    let response = bob
        .post_raw(
            "/api/v1/conversation/alice/read",
            "application/json",
            format!("{{\"last_read_id\": {written}}}"),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["last_read_id"], id);
    let fraction = bob
        .post_raw(
            "/api/v1/conversation/alice/read",
            "application/json",
            "{\"last_read_id\": 7.5}",
        )
        .await;
    assert_eq!(
        fraction.status,
        StatusCode::BAD_REQUEST,
        "{}",
        fraction.text
    );
}

async fn wrong_content_type_is_a_415(app: TestApp) {
    let mut alice = app.user("alice").await;
    let response = alice
        .post_raw("/api/v1/message/", "text/plain", "recipient=bob&body=hi")
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.body["detail"].is_string());
    let login = app
        .client()
        .post_raw("/api/v1/auth/login", "text/plain", "{}")
        .await;
    assert_eq!(login.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn oversized_bodies_are_a_413(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let body = json!({"recipient": "bob", "body": "x".repeat(70 * 1024)});
    let response = alice.post_json("/api/v1/message/", &body).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.body["detail"].as_str().unwrap().contains("65536"));
}

async fn unknown_api_paths_are_json_404s(app: TestApp) {
    let mut alice = app.user("alice").await;
    for path in ["/api/v1/nothing", "/api/v2/message/", "/api/whatever"] {
        let response = alice.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.body, json!({"detail": "Not found."}), "{path}");
    }
    let wrong_method = alice
        .send(
            Method::DELETE,
            "/api/v1/user/",
            HeaderMap::new(),
            Body::empty(),
        )
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.body["detail"].is_string());
}

async fn cross_site_posts_are_refused(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let body = json!({"recipient": "bob", "body": "forged"}).to_string();
    let response = alice
        .send(
            Method::POST,
            "/api/v1/message/",
            headers.clone(),
            Body::from(body.clone()),
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.body["detail"], "Cross-site requests are refused.");

    headers.insert(header::ORIGIN, "http://chat.test".parse().unwrap());
    let same_site = alice
        .send(
            Method::POST,
            "/api/v1/message/",
            headers.clone(),
            Body::from(body.clone()),
        )
        .await;
    assert_eq!(same_site.status, StatusCode::CREATED);

    // A browser that says the post is same-origin is believed even when it
    // hides the origin (`Origin: null`, as some form posts have); one that
    // says cross-site is refused whatever the Origin.
    headers.insert(header::ORIGIN, "null".parse().unwrap());
    headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
    let same_origin = alice
        .send(
            Method::POST,
            "/api/v1/message/",
            headers.clone(),
            Body::from(body.clone()),
        )
        .await;
    assert_eq!(same_origin.status, StatusCode::CREATED);
    headers.insert(header::ORIGIN, "http://chat.test".parse().unwrap());
    headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
    let cross_site = alice
        .send(Method::POST, "/api/v1/message/", headers, Body::from(body))
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn health_check_answers() {
    let app = TestApp::on(crate::common::Backend::Sqlite).await.unwrap();
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, json!({"status": "ok"}));
}

/// A statement that runs past the statement timeout is stopped by MariaDB
/// itself (not left running after the request gave up), and the caller
/// gets 503: load, not a bug. Migrations are not subject to it.
#[tokio::test]
async fn a_statement_past_the_timeout_is_stopped_and_answered_503() {
    use std::time::{Duration, Instant};

    use app::domain::db::{self, DbTimeouts};
    use axum::response::IntoResponse;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let Some(url) = crate::common::mariadb_url().await else {
        return;
    };
    let timeouts = DbTimeouts {
        acquire: Duration::from_secs(5),
        statement: Duration::from_secs(1),
    };
    let db = db::connect_and_migrate(&url, 2, timeouts).await.unwrap();
    let started = Instant::now();
    let error = db
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT COUNT(*) AS spent FROM information_schema.columns a, \
             information_schema.columns b, information_schema.columns c",
        ))
        .await
        .expect_err("stopped by max_statement_time");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let answer = app::error::AppError::from(error).into_response();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Ann and Bob, made on a first node (on a busy machine a sign-up's password
/// hash alone can outlast a short timeout), and Ann logged in on a second
/// node of the same MariaDB database, which runs with the settings under
/// test.
struct AnnOnTwoNodes {
    first: TestApp,
    second: TestApp,
    ann_on_first: crate::common::Client,
    ann_on_second: crate::common::Client,
}

impl AnnOnTwoNodes {
    async fn new(settings: app::domain::Settings) -> Option<Self> {
        let first = TestApp::on(crate::common::Backend::MariaDb).await?;
        let ann_on_first = first.user("ann").await;
        first.user("bob").await;
        let second = TestApp::open(&first.database_url, settings).await;
        let mut ann_on_second = second.client();
        ann_on_second.cookie.clone_from(&ann_on_first.cookie);
        Some(Self {
            first,
            second,
            ann_on_first,
            ann_on_second,
        })
    }
}

/// Locks Ann's user row from `db` until the returned transaction ends: a
/// send of hers waits on it.
async fn lock_anns_row(db: &sea_orm::DatabaseConnection) -> sea_orm::DatabaseTransaction {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let blocker = db.begin().await.unwrap();
    blocker
        .execute_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT id FROM users WHERE username = 'ann' FOR UPDATE",
        ))
        .await
        .unwrap();
    blocker
}

/// A request stuck past `request_timeout` (here: its write waits on a row
/// another connection holds locked) is answered 503 with `Retry-After`
/// instead of holding the client; retried with its `client_id` once the
/// lock is gone, the message is stored once.
#[tokio::test]
async fn a_request_past_the_request_timeout_gets_503() {
    let Some(AnnOnTwoNodes {
        first: _first,
        second: node,
        ann_on_first: mut ann_elsewhere,
        ann_on_second: mut ann,
    }) = AnnOnTwoNodes::new(app::domain::Settings {
        request_timeout: std::time::Duration::from_secs(1),
        ..crate::common::test_settings()
    })
    .await
    else {
        return;
    };
    let blocker = lock_anns_row(&node.state.db).await;
    let message = json!({"recipient": "bob", "body": "hello", "client_id": "7b7f2a52-58a5-4bb8-9f0e-3a4cf0a6a0f1"});
    let started = std::time::Instant::now();
    let stuck = ann.post_json("/api/v1/message/", &message).await;
    assert_eq!(
        stuck.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        stuck.text
    );
    assert!(stuck.headers.contains_key("retry-after"));
    assert_eq!(
        stuck.body["detail"],
        app::error::AppError::TimedOut.to_string(),
        "{}",
        stuck.text
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    blocker.rollback().await.unwrap();

    // The retry (on the other node, so load cannot time it out too) is
    // stored once: the timed-out attempt left nothing behind.
    let retried = ann_elsewhere.post_json("/api/v1/message/", &message).await;
    assert!(retried.status.is_success(), "{}", retried.text);
    let history = ann_elsewhere.get("/api/v1/message/?target=bob").await;
    assert_eq!(
        history.body["results"].as_array().unwrap().len(),
        1,
        "{}",
        history.text
    );
}

/// Past `max_in_flight` requests at once, the next is refused at once (503,
/// busy, `Retry-After`) instead of queueing, and the one in flight is still
/// served once it can be.
#[tokio::test]
async fn a_request_past_max_in_flight_is_refused_at_once() {
    let Some(AnnOnTwoNodes {
        first,
        second: _second,
        ann_on_second: mut ann,
        ..
    }) = AnnOnTwoNodes::new(app::domain::Settings {
        max_in_flight: 1,
        ..crate::common::test_settings()
    })
    .await
    else {
        return;
    };
    // The one slot is held by a send waiting on a row the other node's
    // connection has locked (this node's pool stays free).
    let blocker = lock_anns_row(&first.state.db).await;
    let message = json!({"recipient": "bob", "body": "held", "client_id": "0d1f6a3e-3c4b-4f0e-9d55-2f8a54a1c7b2"});
    let send = |mut sender: crate::common::Client| {
        let message = message.clone();
        tokio::spawn(async move { sender.post_json("/api/v1/message/", &message).await })
    };
    let mut held = send(ann.clone());

    // Until the send holds the slot, a read may take it first and the send
    // is shed: then it is sent again (the same client_id).
    let started = std::time::Instant::now();
    let refused = loop {
        let answer = ann.get("/api/v1/user/").await;
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            break answer;
        }
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        if held.is_finished() {
            let shed = held.await.unwrap();
            assert_eq!(
                shed.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                shed.text
            );
            held = send(ann.clone());
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the send never held the slot"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        refused.body["detail"],
        app::error::AppError::Busy(1).to_string(),
        "{}",
        refused.text
    );
    assert_eq!(refused.headers["retry-after"], "1");

    blocker.rollback().await.unwrap();
    let held = held.await.unwrap();
    assert!(held.status.is_success(), "{}", held.text);
    let after = ann.get("/api/v1/user/").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
}
