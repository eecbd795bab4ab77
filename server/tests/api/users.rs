//! `GET /api/v1/user/`: a bare array, as the original app answered, with
//! paging in the `Link` and `X-Total-Count` headers.

use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    lists_every_other_active_user_by_name,
    search_matches_a_substring,
    pages_through_users,
    rejects_bad_paging,
);

fn usernames(body: &serde_json::Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"))
        .iter()
        .map(|user| user["username"].as_str().unwrap().to_owned())
        .collect()
}

fn header<'a>(response: &'a crate::common::TestResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap())
}

async fn lists_every_other_active_user_by_name(app: TestApp) {
    for name in ["carol", "Bob", "dave"] {
        app.user(name).await;
    }
    let dave = app::domain::accounts::find_by_username(&app.state.db, "dave")
        .await
        .unwrap()
        .unwrap();
    let mut inactive = dave.into_active_model();
    inactive.is_active = Set(false);
    inactive.update(&app.state.db).await.unwrap();

    let mut alice = app.user("alice").await;
    let response = alice.get("/api/v1/user/").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.body,
        serde_json::json!([{"username": "Bob"}, {"username": "carol"}])
    );
    assert_eq!(header(&response, "x-total-count"), Some("2"));
    assert_eq!(header(&response, "link"), None);
}

async fn search_matches_a_substring(app: TestApp) {
    for name in ["maria", "mario", "bob", "a_b"] {
        app.user(name).await;
    }
    let mut alice = app.user("alice").await;
    assert_eq!(
        usernames(&alice.get("/api/v1/user/?search=AR").await.body),
        ["maria", "mario"]
    );
    // `_` is a literal here, not LIKE's any-character.
    assert_eq!(
        usernames(&alice.get("/api/v1/user/?search=_").await.body),
        ["a_b"]
    );
    assert_eq!(
        usernames(&alice.get("/api/v1/user/?search=zzz").await.body),
        Vec::<String>::new()
    );
}

async fn pages_through_users(app: TestApp) {
    for index in 0..5 {
        app.user(&format!("user{index}")).await;
    }
    let mut alice = app.user("alice").await;
    let first = alice.get("/api/v1/user/?page_size=2").await;
    assert_eq!(usernames(&first.body), ["user0", "user1"]);
    assert_eq!(header(&first, "x-total-count"), Some("5"));
    assert_eq!(
        header(&first, "link"),
        Some(r#"</api/v1/user/?page=2&page_size=2>; rel="next""#)
    );
    let middle = alice.get("/api/v1/user/?page=2&page_size=2").await;
    assert_eq!(usernames(&middle.body), ["user2", "user3"]);
    assert_eq!(
        header(&middle, "link"),
        Some(
            r#"</api/v1/user/?page=3&page_size=2>; rel="next", </api/v1/user/?page=1&page_size=2>; rel="prev""#
        )
    );
    let last = alice.get("/api/v1/user/?page=3&page_size=2").await;
    assert_eq!(usernames(&last.body), ["user4"]);
    assert_eq!(
        header(&last, "link"),
        Some(r#"</api/v1/user/?page=2&page_size=2>; rel="prev""#)
    );
    let beyond = alice.get("/api/v1/user/?page=4&page_size=2").await;
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
    assert!(beyond.body["detail"].is_string(), "{}", beyond.text);
}

async fn rejects_bad_paging(app: TestApp) {
    let mut alice = app.user("alice").await;
    for query in ["page=0", "page_size=0", "page_size=201", "page=abc"] {
        let response = alice.get(&format!("/api/v1/user/?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(response.body["detail"].is_string(), "{query}");
    }
    assert_eq!(
        alice.get("/api/v1/user/?page_size=200").await.status,
        StatusCode::OK
    );
    // Absurd page numbers are simply past the end, never an arithmetic overflow.
    for page in ["1000001", "18446744073709551615"] {
        let response = alice
            .get(&format!("/api/v1/user/?page={page}&page_size=200"))
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{page}");
    }
    let messages = alice
        .get("/api/v1/message/?page=18446744073709551615")
        .await;
    assert_eq!(messages.status, StatusCode::NOT_FOUND);
}
