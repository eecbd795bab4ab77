//! Forgotten passwords, through the file outbox: no account enumeration,
//! single-use hashed tokens that expire, and every session ended.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::common::{TestApp, link_token, mail_to, outbox, query_value};
use crate::on_both_backends;

on_both_backends!(
    a_reset_link_sets_the_password_once_and_ends_every_session,
    asking_reveals_nothing_about_accounts,
    bad_expired_and_weak_resets_are_refused,
);

const RESET: &str = "Reset your ChatApp password";

fn token_in(mail: &str) -> String {
    link_token(mail, "/reset-password")
}

async fn register_with_email(app: &TestApp, username: &str, email: &str) -> crate::common::Client {
    let mut client = app.client();
    let response = client
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": username, "password": "correct horse", "email": email}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    app.confirm_email(email).await;
    client
}

async fn a_reset_link_sets_the_password_once_and_ends_every_session(app: TestApp) {
    let mut laptop = register_with_email(&app, "ann", "ann@example.org").await;
    let mut phone = app.second_session("ann").await;

    let asked = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": " Ann@Example.org "}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let mail = mail_to(&app, "ann@example.org", RESET).await;
    assert!(mail.contains("http://127.0.0.1:3000/reset-password?token="));
    let token = token_in(&mail);
    assert_eq!(token.len(), 64, "256 random bits, hex");
    // Only a hash is stored.
    let stored: String = query_value(
        &app.state.db,
        "SELECT token_hash FROM password_resets",
        "token_hash",
    )
    .await;
    assert_ne!(stored, token);

    let confirm = |token: &str| json!({"token": token, "new_password": "a brand new secret"});
    let done = app
        .client()
        .post_json("/api/v1/auth/password-reset/confirm", &confirm(&token))
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    for session in [&mut laptop, &mut phone] {
        assert_eq!(
            session.get("/api/v1/auth/me").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let old = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "a brand new secret"}),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);

    // Single use.
    let again = app
        .client()
        .post_json("/api/v1/auth/password-reset/confirm", &confirm(&token))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body["errors"]["token"].is_array(), "{}", again.body);
}

async fn asking_reveals_nothing_about_accounts(app: TestApp) {
    register_with_email(&app, "ann", "ann@example.org").await;
    let known = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "ann@example.org"}),
        )
        .await;
    let unknown = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "nobody@example.org"}),
        )
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body);
    // Exactly one e-mail went out, to the account that exists: once the
    // job queue has worked through both requests, the outbox holds one.
    tokio::time::timeout(Duration::from_secs(30), app.state.jobs.flushed())
        .await
        .expect("both requests handled within 30 s");
    let resets: Vec<String> = outbox(&app, 2)
        .await
        .into_iter()
        .filter(|mail| mail.contains(&format!("Subject: {RESET}")))
        .collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert!(resets[0].contains("To: ann@example.org"), "{}", resets[0]);

    let malformed = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "not an address"}),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

async fn bad_expired_and_weak_resets_are_refused(app: TestApp) {
    register_with_email(&app, "ann", "ann@example.org").await;
    let asked = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "ann@example.org"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let token = token_in(&mail_to(&app, "ann@example.org", RESET).await);

    let weak = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "short"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(
        weak.body["errors"]["new_password"].is_array(),
        "{}",
        weak.body
    );

    let forged = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": "0".repeat(64), "new_password": "a brand new secret"}),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert!(forged.body["errors"]["token"].is_array(), "{}", forged.body);

    // The weak and the forged attempts did not use the link up: it is still
    // valid (the database says so) until an hour has passed.
    let valid_links = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            query_value::<i64>(
                &db,
                "SELECT COUNT(*) AS n FROM password_resets WHERE used_at IS NULL",
                "n",
            )
            .await
        }
    };
    assert_eq!(valid_links(&app).await, 1);

    // An hour later the link is dead (moved back in time in the database).
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE password_resets SET expires_at = created_at",
    )
    .await
    .unwrap();
    let expired = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new secret"}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(
        expired.body["errors"]["token"].is_array(),
        "{}",
        expired.body
    );
    // The sweep deletes the dead link; the address's confirmation link,
    // used but not yet expired, stays until it expires.
    let swept = app::domain::link_token::delete_expired(&app.state.db)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let still_old = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(still_old.status, StatusCode::OK);
}
