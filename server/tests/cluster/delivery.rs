//! Healthy clusters: delivery across two and three nodes, sessions shared.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    Node, Redis, User, assert_exactly_once_in_order, follow, scratch, shared_mariadb_database,
    until_connected,
};

/// Three nodes; Alice has tabs on nodes 1 and 3, Bob on nodes 2 and 3. Every
/// message, whichever node it is sent to, reaches each of the four tabs once.
#[tokio::test]
async fn every_tab_on_every_node_gets_each_message_once() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("delivery");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let mut nodes = Vec::new();
    for index in 1..=3 {
        nodes.push(Node::start(&dir, index, &database, &redis.url()).await);
    }
    let alice = User::register(&nodes[0].url(""), "alice").await;
    let bob = User::register(&nodes[1].url(""), "bob").await;

    let rounds = 10;
    let connected = Arc::new(AtomicUsize::new(0));
    let tabs = [
        ("alice@1", &alice, 0),
        ("alice@3", &alice, 2),
        ("bob@2", &bob, 1),
        ("bob@3", &bob, 2),
    ]
    .map(|(name, user, node)| {
        let tab = follow(
            user,
            vec![nodes[node].address.clone()],
            2 * rounds,
            Duration::from_secs(30),
            Arc::clone(&connected),
        );
        (name, tab)
    });
    until_connected(&connected, tabs.len()).await;

    // Alice writes through node 1, Bob answers through node 3.
    let mut sent = Vec::new();
    for round in 0..rounds {
        let question = format!("question {round}");
        sent.push(
            alice
                .send_until_acknowledged(&nodes[0].url(""), "bob", &question)
                .await,
        );
        let answer = format!("answer {round}");
        sent.push(
            bob.send_until_acknowledged(&nodes[2].url(""), "alice", &answer)
                .await,
        );
    }
    for (name, tab) in tabs {
        let seen = tab.await.unwrap();
        assert_exactly_once_in_order(name, &seen, &sent);
        assert_eq!(seen.reconnects, 0, "{name}");
    }

    // One subscriber per node, not per socket, and steady: each node opened
    // two connections (its subscriber, and the command connection its
    // channel layer and presence share) and kept them.
    let mut redis_client = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let (_, subscribers): (String, usize) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("chatapp:cluster")
        .query_async(&mut redis_client)
        .await
        .unwrap();
    assert_eq!(subscribers, 3);
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut redis_client)
        .await
        .unwrap();
    let connections: usize = stats
        .lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // 2 per node, plus the fixture's start-up check and this query.
    assert!(
        connections <= 2 * 3 + 2,
        "{connections} connections to Redis"
    );
}

/// A session made on node 1 works on node 2; logging out on node 2 is
/// honoured promptly by node 1, which had the session cached (measured here
/// in tens of milliseconds; the bound is for loaded machines).
#[tokio::test]
async fn sessions_are_shared_and_log_out_reaches_every_node_promptly() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("sessions");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let node_1 = Node::start(&dir, 1, &database, &redis.url()).await;
    let node_2 = Node::start(&dir, 2, &database, &redis.url()).await;

    let alice = User::register(&node_1.url(""), "alice").await;
    for node in [&node_1, &node_2] {
        let me = alice.get(&node.url("/api/v1/auth/me")).await.unwrap();
        assert_eq!(me.status, StatusCode::OK, "{}", node.address);
        assert_eq!(me.body["username"], "alice");
    }

    let logged_out = alice
        .post(&node_2.url("/api/v1/auth/logout"), &json!({}))
        .await
        .unwrap();
    assert_eq!(logged_out.status, StatusCode::NO_CONTENT);
    let started = Instant::now();
    loop {
        let me = alice.get(&node_1.url("/api/v1/auth/me")).await.unwrap();
        if me.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "node 1 still accepts the logged-out session after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "log-out honoured by the other node after {:?}",
        started.elapsed()
    );
}

/// Three nodes started at the same moment on an empty database: they take
/// turns migrating (a MySQL named lock), and all come up.
#[tokio::test]
async fn nodes_started_together_migrate_once_and_all_come_up() {
    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("together");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let nodes: Vec<Node> = (1..=3)
        .map(|index| Node::spawn(&dir, index, &database, &redis.url()))
        .collect();
    for (index, node) in (1..).zip(&nodes) {
        node.until_ready(index).await;
    }
    let alice = User::register(&nodes[2].url(""), "alice").await;
    let me = alice.get(&nodes[0].url("/api/v1/auth/me")).await.unwrap();
    assert_eq!(me.status, StatusCode::OK);
    // Each migration was applied once, by one node.
    let db = sea_orm::Database::connect(&database).await.unwrap();
    let applied = sea_orm::ConnectionTrait::query_all_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::MySql,
            "SELECT version, COUNT(*) AS n FROM seaql_migrations GROUP BY version".to_owned(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        applied.len(),
        <migration::Migrator as migration::MigratorTrait>::migrations().len()
    );
    for row in applied {
        let version: String = row.try_get("", "version").unwrap();
        let times: i64 = row.try_get("", "n").unwrap();
        assert_eq!(times, 1, "{version} applied {times} times");
    }
}

/// Typing signals, read events and presence cross nodes too; a killed
/// node's users go offline once its presence entries expire.
#[tokio::test]
async fn typing_reads_and_presence_cross_nodes() {
    use crate::support::{next_of, open_socket};

    let Some(database) = shared_mariadb_database().await else {
        return;
    };
    let dir = scratch("signals");
    let Some(redis) = Redis::start(&dir).await else {
        return;
    };
    let fast_presence = [("PRESENCE_TTL_SECONDS", "3")];
    let mut node_1 = Node::start_with(&dir, 1, &database, &redis.url(), &fast_presence).await;
    let node_2 = Node::start_with(&dir, 2, &database, &redis.url(), &fast_presence).await;
    let alice = User::register(&node_1.url(""), "alice").await;
    let bob = User::register(&node_2.url(""), "bob").await;
    let alice_on_1 = open_socket("alice on node 1", &node_1.address, &alice).await;
    let mut alice_on_2 = open_socket("alice on node 2", &node_2.address, &alice).await;
    let mut bob_on_2 = open_socket("bob on node 2", &node_2.address, &bob).await;

    // Typing on node 1 reaches Bob on node 2, unnumbered.
    alice_on_1.send(&json!({"type": "typing", "to": "bob"}));
    let typing = next_of(&mut bob_on_2, "typing").await;
    assert_eq!(typing, json!({"type": "typing", "from": "alice"}));

    // Alice reads through node 1: her tab on node 2 gets `read`, Bob `receipt`.
    let id = bob
        .send_until_acknowledged(&node_2.url(""), "alice", "are you there?")
        .await;
    let read = alice
        .post(
            &node_1.url("/api/v1/conversation/bob/read"),
            &json!({"last_read_id": id}),
        )
        .await
        .unwrap();
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let event = next_of(&mut alice_on_2, "read").await;
    assert_eq!(event["with"], "bob");
    assert_eq!(event["unread"], 0);
    let receipt = next_of(&mut bob_on_2, "receipt").await;
    assert_eq!(receipt["by"], "alice");
    assert_eq!(receipt["last_read_id"], id);

    // Presence, asked on node 2 while Alice's only socket is on node 1:
    // online, then away, then (node 1 killed) offline once its entries expire.
    drop(alice_on_2);
    let presence = |node: &Node| node.url("/api/v1/presence/?users=alice,bob,nobody");
    wait_for_presence(&bob, &presence(&node_2), "online").await;
    let statuses = bob.get(&presence(&node_2)).await.unwrap();
    assert_eq!(
        statuses.body,
        json!({"alice": "online", "bob": "online", "nobody": "offline"})
    );
    alice_on_1.send(&json!({"type": "presence", "status": "away"}));
    wait_for_presence(&bob, &presence(&node_2), "away").await;
    node_1.kill();
    let started = Instant::now();
    wait_for_presence(&bob, &presence(&node_2), "offline").await;
    eprintln!(
        "a killed node's user went offline after {:?}",
        started.elapsed()
    );
    drop(alice_on_1);
}

/// Polls node 2's presence answer until Alice is `wanted` (30 s at most).
async fn wait_for_presence(asker: &User, url: &str, wanted: &str) {
    crate::support::wait_for(
        &format!("alice {wanted}"),
        Duration::from_secs(30),
        async || match asker.get(url).await {
            Ok(statuses) if statuses.body["alice"] == wanted => Ok(()),
            Ok(statuses) => Err(statuses.body.to_string()),
            Err(error) => Err(error.to_string()),
        },
    )
    .await;
}
