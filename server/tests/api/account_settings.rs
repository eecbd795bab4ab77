//! `/api/v1/auth/settings`, `/auth/password`, `/auth/sessions/end-others`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    settings_change_email_and_read_receipts,
    changing_the_password_keeps_this_session_and_ends_the_others,
    ending_other_sessions_keeps_this_one,
);

async fn settings_change_email_and_read_receipts(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let settings = ann.get("/api/v1/auth/settings").await;
    assert_eq!(
        settings.body,
        json!({"username": "ann", "email": null, "pending_email": null, "send_read_receipts": true})
    );
    // The address is where resets go: changing it takes the password.
    let unproven = ann
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "thief@example.org"}),
        )
        .await;
    assert_eq!(unproven.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unproven.body["errors"]["current_password"],
        json!(["Enter your current password."]),
        "{}",
        unproven.body
    );
    let guessed = ann
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "thief@example.org", "current_password": "a guess"}),
        )
        .await;
    assert_eq!(guessed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        guessed.body["errors"]["current_password"],
        json!(["That is not your current password."])
    );
    let changed = ann
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "Ann@Example.org", "current_password": "correct horse", "send_read_receipts": false}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // The address waits for its link (tests/api/email_change.rs).
    assert_eq!(changed.body["email"], json!(null));
    assert_eq!(changed.body["pending_email"], "ann@example.org");
    assert_eq!(changed.body["send_read_receipts"], false);

    // Receipts off: Ann's read moves her pointer, but Bob no longer learns
    // how far she read.
    let id = bob.send_message("ann", "did you read this?").await;
    let read = ann
        .post_json(
            "/api/v1/conversation/bob/read",
            &json!({"last_read_id": id}),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(
        read.body,
        json!({"with": "bob", "last_read_id": id, "unread": 0})
    );
    let bobs = bob.get("/api/v1/conversation/").await;
    assert_eq!(bobs.status, StatusCode::OK);
    let conversations = bobs.body["results"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "{}", bobs.body);
    assert_eq!(conversations[0]["with"], "ann");
    let hidden = &conversations[0];
    assert!(
        hidden.get("seen_up_to").is_none(),
        "receipts are off, yet Bob sees {hidden}"
    );

    // Receipts back on: the same read pointer shows again.
    let on = ann
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"send_read_receipts": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let bobs = bob.get("/api/v1/conversation/").await;
    assert_eq!(bobs.body["results"][0]["seen_up_to"], id, "{}", bobs.body);

    let anonymous = app.client().get("/api/v1/auth/settings").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn changing_the_password_keeps_this_session_and_ends_the_others(app: TestApp) {
    let mut here = app.user("ann").await;
    let mut there = app.second_session("ann").await;
    let wrong = here
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "wrong", "new_password": "a new long secret"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body["errors"]["current_password"].is_array());
    let weak = here
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "short"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(
        weak.body["errors"]["new_password"].is_array(),
        "{}",
        weak.body
    );

    let changed = here
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "a new long secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(here.get("/api/v1/auth/me").await.status, StatusCode::OK);
    assert_eq!(
        there.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn ending_other_sessions_keeps_this_one(app: TestApp) {
    let mut here = app.user("ann").await;
    let mut there = app.second_session("ann").await;
    assert_eq!(there.get("/api/v1/auth/me").await.status, StatusCode::OK);
    let ended = here
        .post_json("/api/v1/auth/sessions/end-others", &json!({}))
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    assert_eq!(here.get("/api/v1/auth/me").await.status, StatusCode::OK);
    assert_eq!(
        there.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The password still works for a new session.
    let again = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
}
