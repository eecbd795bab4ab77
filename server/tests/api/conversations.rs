//! `/api/v1/conversation/` and editing/deleting messages: unread counts from
//! read pointers, and the events that keep every tab right.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::inbox_property::conversation_counts_off;
use crate::on_both_backends;

on_both_backends!(
    conversations_list_most_recent_first_with_unread_counts,
    reading_moves_the_pointer_forward_only,
    deleting_an_unread_message_lowers_the_count_and_leaves_a_tombstone,
    only_the_sender_edits_or_deletes,
    edits_and_deletes_are_validated,
    the_conversation_count_is_kept_as_conversations_start,
);

async fn conversations_list_most_recent_first_with_unread_counts(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let mut cy = app.user("cyd").await;
    bob.send_message("ann", "one").await;
    bob.send_message("ann", "two").await;
    cy.send_message("ann", "hello from cy").await;

    let page = ann.get("/api/v1/conversation/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["count"], 2);
    let results = page.body["results"].as_array().unwrap();
    assert_eq!(results[0]["with"], "cyd");
    assert_eq!(results[0]["unread"], 1);
    assert_eq!(results[0]["last_message"]["body"], "hello from cy");
    assert_eq!(results[0]["last_message"]["user"], "cyd");
    assert_eq!(results[1]["with"], "bob");
    assert_eq!(results[1]["unread"], 2);
    // Ann's own stream had 3 events when the snapshot was taken.
    assert_eq!(page.body["seq"], 3);

    // Replying moves the conversation to the top; it does not count as
    // reading (only reading does), and one's own messages never count.
    ann.send_message("bob", "hi bob").await;
    let page = ann.get("/api/v1/conversation/?page_size=1").await;
    assert_eq!(page.body["results"][0]["with"], "bob");
    assert_eq!(page.body["results"][0]["unread"], 2);
    assert_eq!(
        page.body["next"],
        "/api/v1/conversation/?page=2&page_size=1"
    );
    let page = bob.get("/api/v1/conversation/").await;
    assert_eq!(page.body["results"][0]["unread"], 1);

    let bad = ann.get("/api/v1/conversation/?page_size=0").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let past = ann.get("/api/v1/conversation/?page=9").await;
    assert_eq!(past.status, StatusCode::NOT_FOUND);
    let anonymous = app.client().get("/api/v1/conversation/").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn reading_moves_the_pointer_forward_only(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let first = bob.send_message("ann", "one").await;
    let second = bob.send_message("ann", "two").await;
    let third = bob.send_message("ann", "three").await;

    let read = |up_to: i64| json!({"last_read_id": up_to});
    let response = ann
        .post_json("/api/v1/conversation/bob/read", &read(second))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.body,
        json!({"with": "bob", "last_read_id": second, "unread": 1})
    );
    // Backwards is a no-op, not an error: tabs may report out of order.
    let response = ann
        .post_json("/api/v1/conversation/bob/read", &read(first))
        .await;
    assert_eq!(response.body["last_read_id"], second);
    assert_eq!(response.body["unread"], 1);
    // Past the newest message stops at the newest.
    let response = ann
        .post_json("/api/v1/conversation/bob/read", &read(third + 100))
        .await;
    assert_eq!(response.body["last_read_id"], third);
    assert_eq!(response.body["unread"], 0);

    // Bob (who sends receipts by default) sees how far Ann read.
    let page = bob.get("/api/v1/conversation/").await;
    assert_eq!(page.body["results"][0]["seen_up_to"], third);

    let unknown = ann
        .post_json("/api/v1/conversation/nobody/read", &read(1))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let negative = ann
        .post_json("/api/v1/conversation/bob/read", &read(-1))
        .await;
    assert_eq!(negative.status, StatusCode::BAD_REQUEST);
    assert!(negative.body["errors"]["last_read_id"].is_array());
    let missing = ann
        .post_json("/api/v1/conversation/bob/read", &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

async fn deleting_an_unread_message_lowers_the_count_and_leaves_a_tombstone(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    bob.send_message("ann", "keep").await;
    let oops = bob.send_message("ann", "oops").await;

    let deleted = bob
        .send(
            axum::http::Method::DELETE,
            &format!("/api/v1/message/{oops}/"),
            axum::http::HeaderMap::new(),
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let page = ann.get("/api/v1/conversation/").await;
    assert_eq!(page.body["results"][0]["unread"], 1);
    assert_eq!(page.body["results"][0]["last_message"]["deleted"], true);
    assert_eq!(page.body["results"][0]["last_message"]["body"], "");
    // Both still see the tombstone, with no body.
    for client in [&mut ann, &mut bob] {
        let message = client.get(&format!("/api/v1/message/{oops}/")).await;
        assert_eq!(message.status, StatusCode::OK);
        assert_eq!(message.body["deleted"], true);
        assert_eq!(message.body["body"], "");
    }
    let history = ann.get("/api/v1/message/?target=bob").await;
    assert_eq!(history.body["count"], 2);

    // Deleting again is fine and changes nothing: no new event, same count.
    let events_before = app.state.db.clone();
    let latest = |user: &'static str| {
        let db = events_before.clone();
        async move {
            let id = app::domain::accounts::find_by_username(&db, user)
                .await
                .unwrap()
                .unwrap()
                .id;
            app::domain::stream::latest_seq(&db, id).await.unwrap()
        }
    };
    let (ann_seq, bob_seq) = (latest("ann").await, latest("bob").await);
    let again = bob
        .send(
            axum::http::Method::DELETE,
            &format!("/api/v1/message/{oops}"),
            axum::http::HeaderMap::new(),
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(
        (latest("ann").await, latest("bob").await),
        (ann_seq, bob_seq)
    );
    let page = ann.get("/api/v1/conversation/").await;
    assert_eq!(page.body["results"][0]["unread"], 1);
}

async fn only_the_sender_edits_or_deletes(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let mut cy = app.user("cyd").await;
    let id = bob.send_message("ann", "helo").await;
    let path = format!("/api/v1/message/{id}/");

    let edit = |body: &str| json!({"body": body});
    let as_recipient = ann
        .send_json(axum::http::Method::PATCH, &path, &edit("hacked"))
        .await;
    assert_eq!(as_recipient.status, StatusCode::FORBIDDEN);
    let as_stranger = cy
        .send_json(axum::http::Method::PATCH, &path, &edit("hacked"))
        .await;
    assert_eq!(as_stranger.status, StatusCode::NOT_FOUND);

    let edited = bob
        .send_json(axum::http::Method::PATCH, &path, &edit("  hello  "))
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["body"], "hello");
    assert!(edited.body["edited_at"].is_string());
    let seen = ann.get(&path).await;
    assert_eq!(seen.body["body"], "hello");

    let delete = axum::http::Method::DELETE;
    let as_recipient = ann.send_json(delete.clone(), &path, &json!({})).await;
    assert_eq!(as_recipient.status, StatusCode::FORBIDDEN);
    let as_stranger = cy.send_json(delete, &path, &json!({})).await;
    assert_eq!(as_stranger.status, StatusCode::NOT_FOUND);
}

async fn edits_and_deletes_are_validated(app: TestApp) {
    app.user("ann").await;
    let mut bob = app.user("bob").await;
    let id = bob.send_message("ann", "hello").await;
    let path = format!("/api/v1/message/{id}/");
    let empty = bob
        .send_json(axum::http::Method::PATCH, &path, &json!({"body": "   "}))
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(empty.body["errors"]["body"].is_array());
    let missing = bob
        .send_json(
            axum::http::Method::PATCH,
            "/api/v1/message/999999/",
            &json!({"body": "x"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let deleted = bob
        .send_json(axum::http::Method::DELETE, &path, &json!({}))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let after_delete = bob
        .send_json(axum::http::Method::PATCH, &path, &json!({"body": "back"}))
        .await;
    assert_eq!(after_delete.status, StatusCode::CONFLICT);
}

/// The list's `count` is kept by the writer as conversations start, not
/// counted per request: it must agree with the rows however the sends are
/// batched, and a deleted account keeps none.
async fn the_conversation_count_is_kept_as_conversations_start(app: TestApp) {
    let mut ann = app.user("ann").await;
    let mut others = Vec::new();
    for name in ["bea", "cal", "dee", "eli", "fay"] {
        others.push(app.user(name).await);
    }
    // All at once: first messages share batches, and Ann writing to Bea
    // while Bea writes to Ann starts one conversation from both ends.
    let theirs = others.iter_mut().map(|other| async move {
        other.send_message("ann", "one").await;
        other.send_message("ann", "two").await;
    });
    let (_, reply) = futures::join!(
        futures::future::join_all(theirs),
        ann.send_message("bea", "hi bea")
    );
    assert!(reply > 0);
    let page = ann.get("/api/v1/conversation/?page_size=2").await;
    assert_eq!(page.body["count"], 5, "{}", page.body);
    assert_eq!(
        page.body["next"],
        "/api/v1/conversation/?page=2&page_size=2"
    );
    for other in &mut others {
        let page = other.get("/api/v1/conversation/").await;
        assert_eq!(page.body["count"], 1, "{}", page.body);
    }

    let fay = others.last_mut().unwrap();
    fay.delete_account().await;
    // Ann keeps her side of the conversation with the deleted account.
    let page = ann.get("/api/v1/conversation/").await;
    assert_eq!(page.body["count"], 5, "{}", page.body);
    assert_eq!(conversation_counts_off(&app).await, Vec::new());
}
