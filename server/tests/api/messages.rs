//! `/api/v1/message/`: the original app's own cases and the new rules.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    sender_and_recipient_read_a_message_and_a_third_user_gets_404,
    message_bodies_are_trimmed_and_validated,
    recipients_must_be_other_active_users,
    form_encoded_messages_are_accepted,
    conversations_page_newest_first,
    keyset_paging_with_before,
    without_target_lists_everything_sent_or_received,
    emoji_round_trip,
    a_page_of_messages_costs_the_same_queries_whatever_its_length,
    a_retried_send_returns_the_first_message_and_creates_nothing,
    racing_retries_create_exactly_one_message,
    a_client_id_is_a_uuid_used_for_one_message_only,
);

async fn sender_and_recipient_read_a_message_and_a_third_user_gets_404(app: TestApp) {
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;
    let mut alice = app.user("alice").await;
    let response = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": "Hello Bob"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let id = response.body["id"].as_i64().unwrap();
    assert_eq!(response.body["user"], "alice");
    assert_eq!(response.body["recipient"], "bob");
    assert_eq!(response.body["body"], "Hello Bob");
    let timestamp = response.body["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "{timestamp}"
    );
    assert!(timestamp.ends_with('Z'), "{timestamp}");

    let path = format!("/api/v1/message/{id}/");
    let as_sender = alice.get(&path).await;
    let as_recipient = bob.get(&path).await;
    assert_eq!(as_sender.status, StatusCode::OK);
    assert_eq!(as_sender.body, response.body);
    assert_eq!(as_recipient.body, response.body);

    let as_third = carol.get(&path).await;
    let missing = alice.get(&format!("/api/v1/message/{}/", id + 1000)).await;
    assert_eq!(as_third.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(as_third.body, missing.body);
}

async fn message_bodies_are_trimmed_and_validated(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let response = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": "  \n hi there \t "}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["body"], "hi there");

    for body in ["", "   \n\t "] {
        let response = alice
            .post_json(
                "/api/v1/message/",
                &json!({"recipient": "bob", "body": body}),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(response.body["errors"]["body"][0], "The message is empty.");
    }
    let longest = "é".repeat(5000);
    let ok = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": longest}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let too_long = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": "x".repeat(5001)}),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_long.body["errors"]["body"][0],
        "Messages are at most 5000 characters long."
    );
}

async fn recipients_must_be_other_active_users(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    for (recipient, error) in [
        ("nobody", "No such user."),
        ("", "No such user."),
        ("ALICE", "You cannot send a message to yourself."),
    ] {
        let response = alice
            .post_json(
                "/api/v1/message/",
                &json!({"recipient": recipient, "body": "hi"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{recipient}");
        assert_eq!(
            response.body["errors"]["recipient"][0], error,
            "{recipient}"
        );
    }
    // Usernames match case-insensitively, and the reply names the real spelling.
    let response = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "BOB", "body": "hi"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["recipient"], "bob");
}

async fn form_encoded_messages_are_accepted(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let response = alice
        .post_raw(
            "/api/v1/message/",
            "application/x-www-form-urlencoded",
            "recipient=bob&body=sent+as+a+form",
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["body"], "sent as a form");
}

fn ids(body: &serde_json::Value) -> Vec<i64> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["id"].as_i64().unwrap())
        .collect()
}

async fn conversations_page_newest_first(app: TestApp) {
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;
    let mut alice = app.user("alice").await;
    let mut sent = Vec::new();
    for index in 0..20 {
        // Both directions belong to one conversation.
        let id = if index % 2 == 0 {
            alice.send_message("bob", &format!("a{index}")).await
        } else {
            bob.send_message("alice", &format!("b{index}")).await
        };
        sent.push(id);
    }
    carol
        .send_message("alice", "not in this conversation")
        .await;
    sent.reverse();

    let first = alice.get("/api/v1/message/?target=bob").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["count"], 20);
    assert_eq!(ids(&first.body), sent[..15]);
    assert_eq!(first.body["next"], "/api/v1/message/?target=bob&page=2");
    assert!(first.body["previous"].is_null());
    let second = alice.get("/api/v1/message/?target=bob&page=2").await;
    assert_eq!(ids(&second.body), sent[15..]);
    assert!(second.body["next"].is_null());
    // Bob sees the same conversation.
    assert_eq!(
        ids(&bob.get("/api/v1/message/?target=alice").await.body),
        sent[..15]
    );
    let unknown = alice.get("/api/v1/message/?target=nobody").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

async fn keyset_paging_with_before(app: TestApp) {
    let mut bob = app.user("bob").await;
    let mut alice = app.user("alice").await;
    let mut sent = Vec::new();
    for index in 0..20 {
        sent.push(alice.send_message("bob", &format!("m{index}")).await);
    }
    sent.reverse();
    let before = sent[14];
    let older = bob
        .get(&format!("/api/v1/message/?target=alice&before={before}"))
        .await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(ids(&older.body), sent[15..]);
    assert!(older.body["next"].is_null());

    let mid = sent[2];
    let page = bob
        .get(&format!("/api/v1/message/?target=alice&before={mid}"))
        .await;
    assert_eq!(ids(&page.body), sent[3..18]);
    assert_eq!(
        page.body["next"],
        format!("/api/v1/message/?target=alice&before={}", sent[17])
    );
    let both = bob
        .get("/api/v1/message/?target=alice&before=5&page=2")
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
}

async fn without_target_lists_everything_sent_or_received(app: TestApp) {
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;
    let mut alice = app.user("alice").await;
    let first = alice.send_message("bob", "to bob").await;
    let second = carol.send_message("alice", "from carol").await;
    bob.send_message("carol", "not alice's").await;
    let response = alice.get("/api/v1/message/").await;
    assert_eq!(response.body["count"], 2);
    assert_eq!(ids(&response.body), [second, first]);
}

async fn emoji_round_trip(app: TestApp) {
    let mut bob = app.user("bob").await;
    let mut alice = app.user("alice").await;
    let text = "Salom 👋🏽 — привет — 你好 — 🇺🇿";
    let id = alice.send_message("bob", text).await;
    let read = bob.get(&format!("/api/v1/message/{id}/")).await;
    assert_eq!(read.body["body"], text);
}

async fn a_page_of_messages_costs_the_same_queries_whatever_its_length(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    alice.send_message("bob", "the first").await;
    let mut reader = alice.clone();
    let one_row = app
        .statements_during(async {
            assert_eq!(
                reader.get("/api/v1/message/?target=bob").await.status,
                StatusCode::OK
            );
        })
        .await;
    for index in 0..14 {
        alice.send_message("bob", &format!("more {index}")).await;
    }
    let full_page = app
        .statements_during(async {
            let page = reader.get("/api/v1/message/?target=bob").await;
            assert_eq!(page.body["results"].as_array().unwrap().len(), 15);
        })
        .await;
    // No query per row: the senders' and recipients' names come in one join.
    assert_eq!(one_row.len(), full_page.len(), "{full_page:#?}");
    let joins = full_page.iter().filter(|sql| sql.contains("JOIN")).count();
    assert_eq!(joins, 1, "{full_page:#?}");
    assert!(full_page.len() <= 4, "{full_page:#?}");
}

/// How many rows `table` holds.
async fn count_rows(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn a_retried_send_returns_the_first_message_and_creates_nothing(app: TestApp) {
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    let client_id = "6F9619FF-8B86-D011-B42D-00C04FC964FF";
    let message = json!({"recipient": "bob", "body": "once", "client_id": client_id});
    let first = alice.post_json("/api/v1/message/", &message).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    // Stored in canonical form, and echoed so the client can match it.
    assert_eq!(first.body["client_id"], client_id.to_lowercase());

    let retry = alice.post_json("/api/v1/message/", &message).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(count_rows(&app, "messages").await, 1);
    // One event per participant, not two.
    assert_eq!(count_rows(&app, "events").await, 2);

    // Another user may use the same client id for their own message.
    let mut bob = app.second_session("bob").await;
    let theirs = bob
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "alice", "body": "mine", "client_id": client_id}),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
}

async fn racing_retries_create_exactly_one_message(app: TestApp) {
    app.user("bob").await;
    let alice = app.user("alice").await;
    let message = json!({
        "recipient": "bob",
        "body": "sent from a flaky network",
        "client_id": "0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e",
    });
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let mut alice = alice.clone();
            let message = message.clone();
            tokio::spawn(async move { alice.post_json("/api/v1/message/", &message).await })
        })
        .collect();
    let mut created = 0;
    let mut ids = Vec::new();
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {}", response.body),
        }
        ids.push(response.body["id"].as_i64().unwrap());
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "every attempt answers with the one message");
    assert_eq!(count_rows(&app, "messages").await, 1);
    assert_eq!(count_rows(&app, "events").await, 2);
}

async fn a_client_id_is_a_uuid_used_for_one_message_only(app: TestApp) {
    app.user("bob").await;
    app.user("carol").await;
    let mut alice = app.user("alice").await;
    // Only the hyphenated form the API documents (`format: uuid`); an empty
    // or padded one is not "no client_id".
    for malformed in [
        "1234",
        "",
        " ",
        "0b7c7c2e3f0a4d369d555d1c3b1f2a9e",
        "{0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e}",
        " 0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e",
    ] {
        let response = alice
            .post_json(
                "/api/v1/message/",
                &json!({"recipient": "bob", "body": "hi", "client_id": malformed}),
            )
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{malformed:?}");
        assert!(
            response.body["errors"]["client_id"][0].is_string(),
            "{}",
            response.body
        );
    }

    let client_id = "0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e";
    let first = alice
        .post_json(
            "/api/v1/message/",
            &json!({"recipient": "bob", "body": "hi", "client_id": client_id}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    for different in [
        json!({"recipient": "bob", "body": "something else", "client_id": client_id}),
        json!({"recipient": "carol", "body": "hi", "client_id": client_id}),
    ] {
        let response = alice.post_json("/api/v1/message/", &different).await;
        assert_eq!(response.status, StatusCode::CONFLICT, "{different}");
        assert!(
            response.body["errors"]["client_id"][0].is_string(),
            "{}",
            response.body
        );
    }
    assert_eq!(count_rows(&app, "messages").await, 1);
}
