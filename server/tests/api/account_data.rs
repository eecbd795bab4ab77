//! `/api/v1/auth/export` and `DELETE /api/v1/auth/account`: a user takes
//! their data away, and deletes their account.

use app::wire::{AccountExport, EXPORT_FORMAT, EventBody};
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    an_export_holds_the_account_conversations_and_every_message,
    deleting_an_account_leaves_tombstones_and_frees_nothing_else,
    deleting_needs_the_password_and_a_session,
);

async fn an_export_holds_the_account_conversations_and_every_message(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let mut cyd = app.user("cyd").await;
    // More than one page of the export's reads, so the pages join up.
    let mut sent = Vec::new();
    for n in 0..520 {
        sent.push(ann.send_message("bob", &format!("ann to bob {n}")).await);
    }
    sent.push(bob.send_message("ann", "bob to ann").await);
    let edited = cyd.send_message("ann", "cyd to ann, \"quoted\" ✓").await;
    sent.push(edited);
    let patched = cyd
        .send_json(
            Method::PATCH,
            &format!("/api/v1/message/{edited}/"),
            &json!({"body": "cyd to ann, edited"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    // Someone else's conversation is not Ann's to export.
    bob.send_message("cyd", "bob to cyd").await;

    let response = ann.get("/api/v1/auth/export").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.headers[header::CONTENT_TYPE], "application/json");
    let disposition = response.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"chatapp-ann-"),
        "{disposition}"
    );
    let export: AccountExport = serde_json::from_str(&response.text)
        .unwrap_or_else(|error| panic!("the export does not parse: {error}"));
    assert_eq!(export.format, EXPORT_FORMAT);
    assert_eq!(export.account.username, "ann");
    assert!(export.account.send_read_receipts);
    let mut with: Vec<&str> = export
        .conversations
        .iter()
        .map(|c| c.with.as_str())
        .collect();
    with.sort_unstable();
    assert_eq!(with, ["bob", "cyd"]);
    let ids: Vec<i64> = export.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, sent, "every message of Ann's, oldest first, once");
    assert_eq!(export.messages[0].body, "ann to bob 0");
    assert_eq!(export.messages[519].body, "ann to bob 519");
    let last = export.messages.last().unwrap();
    assert_eq!(
        (last.user.as_str(), last.body.as_str()),
        ("cyd", "cyd to ann, edited")
    );
    assert!(last.edited_at.is_some());

    let anonymous = app.client().get("/api/v1/auth/export").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn deleting_an_account_leaves_tombstones_and_frees_nothing_else(app: TestApp) {
    let mut ann = app.user("ann").await;
    // An address, and a change of it waiting for its link: both go.
    for (address, confirm) in [("ann@example.org", true), ("ann@example.net", false)] {
        let asked = ann
            .send_json(
                Method::PATCH,
                "/api/v1/auth/settings",
                &json!({"email": address, "current_password": "correct horse"}),
            )
            .await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        if confirm {
            app.confirm_email(address).await;
        }
    }
    let mut bob = app.user("bob").await;
    let mut ann_elsewhere = app.second_session("ann").await;
    let from_ann = ann.send_message("bob", "secret plans").await;
    let also_from_ann = ann.send_message("bob", "more plans").await;
    let from_bob = bob.send_message("ann", "sounds good").await;
    let unread = bob.get("/api/v1/conversation/").await;
    assert_eq!(unread.body["results"][0]["unread"], 2, "{}", unread.body);

    ann.delete_account().await;

    // Every session of Ann's has ended, and she cannot log in again.
    for session in [&mut ann, &mut ann_elsewhere] {
        let me = session.get("/api/v1/auth/me").await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
    }
    let log_in = app
        .client()
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(log_in.status, StatusCode::UNAUTHORIZED, "{}", log_in.body);

    // Bob keeps the conversation: Ann's words are tombstones, his own stay,
    // and nothing is unread any more.
    for id in [from_ann, also_from_ann] {
        let message = bob.get(&format!("/api/v1/message/{id}/")).await;
        assert_eq!(message.status, StatusCode::OK);
        assert_eq!(message.body["body"], "", "{}", message.body);
        assert_eq!(message.body["deleted"], true, "{}", message.body);
    }
    let his = bob.get(&format!("/api/v1/message/{from_bob}/")).await;
    assert_eq!(his.body["body"], "sounds good");
    let conversations = bob.get("/api/v1/conversation/").await;
    let conversation = &conversations.body["results"][0];
    assert_eq!(conversation["with"], "ann", "{}", conversations.body);
    assert_eq!(conversation["unread"], 0, "{}", conversations.body);

    // Bob's stream says so, once.
    let db = &app.state.db;
    let bob_id = app::domain::accounts::find_by_username(db, "bob")
        .await
        .unwrap()
        .unwrap()
        .id;
    let events = app::domain::stream::log::batch_after(db, bob_id, 0)
        .await
        .unwrap()
        .events;
    let erased: Vec<_> = events
        .iter()
        .filter(|event| matches!(event.body, EventBody::AccountDeleted { .. }))
        .collect();
    assert_eq!(erased.len(), 1, "{events:?}");
    assert_eq!(
        erased[0].body,
        EventBody::AccountDeleted { with: "ann".into() }
    );

    // Nothing personal is left of Ann, and her name stays taken.
    let row = app::domain::accounts::find_by_username(db, "ann")
        .await
        .unwrap()
        .unwrap();
    assert!(!row.is_active);
    assert_eq!(row.email, None);
    let pending: i64 =
        crate::common::query_value(db, "SELECT COUNT(*) AS n FROM email_changes", "n").await;
    assert_eq!(pending, 0, "e-mail changes left behind");
    assert_eq!(row.password_hash, "");
    let ann_events = app::domain::stream::log::batch_after(db, row.id, 0)
        .await
        .unwrap()
        .events;
    assert!(ann_events.is_empty(), "{ann_events:?}");
    let directory = bob.get("/api/v1/user/").await;
    assert_eq!(directory.body, json!([]), "{}", directory.body);
    let again = app
        .client()
        .post_json(
            "/api/v1/auth/register",
            &json!({"username": "Ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let to_ann = bob
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "ann", "body": "are you there?"}),
        )
        .await;
    assert!(
        to_ann.status.is_client_error(),
        "{} {}",
        to_ann.status,
        to_ann.body
    );
}

async fn deleting_needs_the_password_and_a_session(app: TestApp) {
    let mut ann = app.user("ann").await;
    let wrong = ann
        .send_json(
            Method::DELETE,
            "/api/v1/auth/account",
            &json!({"current_password": "not it"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(
        wrong.body["errors"]["current_password"].is_array(),
        "{}",
        wrong.body
    );
    let missing = ann
        .send_json(Method::DELETE, "/api/v1/auth/account", &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    let me = ann.get("/api/v1/auth/me").await;
    assert_eq!(me.status, StatusCode::OK, "still there: {}", me.body);
    let anonymous = app
        .client()
        .send_json(
            Method::DELETE,
            "/api/v1/auth/account",
            &json!({"current_password": "correct horse"}),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
