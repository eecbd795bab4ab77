//! Rate limits hold for the cluster, not per node: with Redis, the budget of
//! an account or a user is one, wherever its requests land.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Node, Redis, User, http_client, scratch, shared_mariadb_database};

#[tokio::test]
async fn an_accounts_limits_are_shared_by_every_node() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("limits");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let limits = [
        ("LIMIT_LOG_IN_PER_ACCOUNT", "3/1h"),
        ("LIMIT_SENDS_PER_USER", "4/1h"),
    ];
    let nodes = [
        Node::start_with(&dir, 1, &database, &redis.url(), &limits).await,
        Node::start_with(&dir, 2, &database, &redis.url(), &limits).await,
    ];
    let carol = User::register(&nodes[0].url(""), "carol").await;
    User::register(&nodes[1].url(""), "dave").await;

    // Wrong passwords, alternating nodes: three in the hour are answered,
    // the fourth is refused on whichever node gets it.
    let http = http_client();
    let mut statuses = Vec::new();
    for attempt in 0..5 {
        let node = &nodes[attempt % 2];
        let response = http
            .post(node.url("/api/v1/auth/login"))
            .json(&json!({"username": "carol", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);

    // Sends, alternating nodes: four in the hour, then 429 on both.
    let mut statuses = Vec::new();
    for round in 0..6 {
        let node = &nodes[round % 2];
        let reply = carol
            .post(
                &node.url("/api/v1/message/"),
                &json!({"recipient": "dave", "body": format!("hello {round}")}),
            )
            .await
            .unwrap();
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429]);
}
