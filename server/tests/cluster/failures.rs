//! Failures mid-traffic: a node killed, Redis restarted, the database
//! restarted. Every tab must end with every message exactly once, in order.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    MariaDb, Nginx, Node, Redis, User, assert_exactly_once_in_order, follow, scratch,
    shared_mariadb_database, until_connected,
};

/// Three nodes behind nginx (the shipped config). Five tabs follow through
/// nginx while Alice sends 200 messages through it; node 1 gets `SIGKILL` after
/// 60. Its tabs reconnect (through nginx, to another node) with `since`, and
/// the sends it dropped are retried with their client ids.
#[tokio::test]
async fn a_killed_node_loses_and_duplicates_nothing() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("kill");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let mut nodes = Vec::new();
    for index in 1..=3 {
        nodes.push(Node::start(&dir, index, &database, &redis.url()).await);
    }
    let Some(nginx) = Nginx::start(&dir, &nodes.iter().collect::<Vec<_>>()).await else {
        return;
    };
    let public = nginx.url("");
    let alice = User::register(&public, "alice").await;
    let bob = User::register(&public, "bob").await;

    let total = 200;
    let connected = Arc::new(AtomicUsize::new(0));
    let mut tabs = Vec::new();
    // One at a time, so nginx's round robin spreads them over the nodes.
    for (name, user) in [
        ("bob-1", &bob),
        ("bob-2", &bob),
        ("bob-3", &bob),
        ("alice-1", &alice),
        ("alice-2", &alice),
    ] {
        let tab = follow(
            user,
            vec![nginx.address.clone()],
            total,
            Duration::from_secs(90),
            Arc::clone(&connected),
        );
        tabs.push((name, tab));
        until_connected(&connected, tabs.len()).await;
    }

    let mut sent = Vec::new();
    for index in 0..total {
        if index == 60 {
            nodes[0].kill();
        }
        sent.push(
            alice
                .send_until_acknowledged(&public, "bob", &format!("message {index}"))
                .await,
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut reconnects = 0;
    for (name, tab) in tabs {
        let seen = tab.await.unwrap();
        assert_exactly_once_in_order(name, &seen, &sent);
        reconnects += seen.reconnects;
    }
    assert!(reconnects >= 1, "no tab was on the killed node");
    eprintln!(
        "{total} messages, node killed at 60: {reconnects} tabs reconnected, none lost a message"
    );
}

/// Two nodes; Bob follows node 1 while Alice sends 150 messages through node
/// 2, and Redis crashes after 50 and comes back after 100 (over a second). Meanwhile both
/// nodes serve and report "degraded"; afterwards delivery resumes by itself.
#[tokio::test]
async fn a_redis_restart_loses_nothing() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("redis");
    let Some(mut redis) = Redis::start(&dir).await else {
        return;
    };
    let node_1 = Node::start(&dir, 1, &database, &redis.url()).await;
    let node_2 = Node::start(&dir, 2, &database, &redis.url()).await;
    let alice = User::register(&node_2.url(""), "alice").await;
    let bob = User::register(&node_1.url(""), "bob").await;

    let total = 150;
    let connected = Arc::new(AtomicUsize::new(0));
    let tab = follow(
        &bob,
        vec![node_1.address.clone()],
        total,
        Duration::from_mins(1),
        Arc::clone(&connected),
    );
    until_connected(&connected, 1).await;

    let mut sent = Vec::new();
    for index in 0..total {
        if index == 50 {
            redis.crash();
            for node in [&node_1, &node_2] {
                let readiness = wait_for_readiness(node, "degraded").await;
                assert_eq!(readiness["redis"], "unreachable", "{}", node.address);
                assert_eq!(readiness["database"], "ok", "{}", node.address);
            }
        }
        if index == 100 {
            redis.resume().await;
        }
        sent.push(
            alice
                .send_until_acknowledged(&node_2.url(""), "bob", &format!("message {index}"))
                .await,
        );
        if (50..100).contains(&index) {
            // Keep Redis down for a while (over a second) with traffic flowing.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    let seen = tab.await.unwrap();
    assert_exactly_once_in_order("bob", &seen, &sent);
    for node in [&node_1, &node_2] {
        wait_for_readiness(node, "ok").await;
    }

    // Live again: a new message reaches a new tab on the other node at once.
    let connected = Arc::new(AtomicUsize::new(0));
    let tab = follow(
        &bob,
        vec![node_1.address.clone()],
        1,
        Duration::from_mins(1),
        Arc::clone(&connected),
    );
    until_connected(&connected, 1).await;
    let last = alice
        .send_until_acknowledged(&node_2.url(""), "bob", "after the restart")
        .await;
    let seen = tab.await.unwrap();
    assert_eq!(seen.messages, vec![last], "{seen:?}");
}

/// Two nodes on a private MariaDB that is stopped and started again. While
/// it is down, requests get 503 with a JSON reason and `/readyz` says 503;
/// afterwards the same nodes serve again, and nothing acknowledged is lost.
#[tokio::test]
async fn a_database_restart_fails_cleanly_and_loses_nothing() {
    if shared_mariadb_database().await.is_none() {
        return;
    }
    let dir = scratch("database");
    let Some(mut mariadb) = MariaDb::start(&dir).await else {
        return;
    };
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let admin = sea_orm::Database::connect(&mariadb.url()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        "CREATE DATABASE chatapp CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    .await
    .unwrap();
    admin.close().await.unwrap();
    let database = format!("{}/chatapp", mariadb.url());
    let node_1 = Node::start(&dir, 1, &database, &redis.url()).await;
    let node_2 = Node::start(&dir, 2, &database, &redis.url()).await;
    let alice = User::register(&node_2.url(""), "alice").await;
    let bob = User::register(&node_1.url(""), "bob").await;

    let connected = Arc::new(AtomicUsize::new(0));
    let tab = follow(
        &bob,
        vec![node_1.address.clone(), node_2.address.clone()],
        41,
        Duration::from_secs(90),
        Arc::clone(&connected),
    );
    until_connected(&connected, 1).await;
    let mut sent = Vec::new();
    for index in 0..20 {
        sent.push(
            alice
                .send_until_acknowledged(&node_2.url(""), "bob", &format!("before {index}"))
                .await,
        );
    }

    mariadb.stop();
    let during = json!({
        "recipient": "bob",
        "body": "sent during the outage",
        "client_id": "9a3f6d0e-5b8c-4f1a-8e2d-7c6b5a4f3e2d",
    });
    let refused = alice
        .post(&node_2.url("/api/v1/message/"), &during)
        .await
        .unwrap();
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    assert!(refused.body["detail"].is_string(), "{}", refused.body);
    let listing = bob.get(&node_1.url("/api/v1/user/")).await.unwrap();
    assert_eq!(
        listing.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        listing.body
    );
    assert!(listing.body["detail"].is_string(), "{}", listing.body);
    let readiness = bob.get(&node_1.url("/readyz")).await.unwrap();
    assert_eq!(readiness.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(readiness.body["database"], "unreachable");

    mariadb.resume().await;
    // The refused send is retried, as the browser does, with its client id.
    let started = Instant::now();
    let retried = loop {
        let last = match alice.post(&node_2.url("/api/v1/message/"), &during).await {
            Ok(reply) if reply.status.is_success() => break reply,
            Ok(reply) => format!("{} {}", reply.status, reply.body),
            // The node may time out while its pool reconnects: retry.
            Err(error) => error.to_string(),
        };
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "no recovery within a minute: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("service back {:?} after the database", started.elapsed());
    assert_eq!(retried.status, StatusCode::CREATED);
    sent.push(retried.body["id"].as_i64().unwrap());
    for index in 0..20 {
        sent.push(
            alice
                .send_until_acknowledged(&node_2.url(""), "bob", &format!("after {index}"))
                .await,
        );
    }
    let seen = tab.await.unwrap();
    assert_exactly_once_in_order("bob", &seen, &sent);
    for node in [&node_1, &node_2] {
        wait_for_readiness(node, "ok").await;
    }
}

/// Polls `/readyz` until its status is `wanted` (30 s at most); returns the body.
async fn wait_for_readiness(node: &Node, wanted: &str) -> serde_json::Value {
    let http = crate::support::http_client();
    let mut answer = serde_json::Value::Null;
    crate::support::wait_for(
        &format!("{} {wanted}", node.address),
        Duration::from_secs(30),
        async || {
            let body = match http.get(node.url("/readyz")).send().await {
                Ok(response) => response.json::<serde_json::Value>().await.ok(),
                Err(_) => None,
            };
            match body {
                Some(body) if body["status"] == wanted => {
                    answer = body;
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    answer
}
