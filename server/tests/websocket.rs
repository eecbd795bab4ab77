//! The notification socket, over a real listener.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use common::{Backend, Client, TestApp};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn listen(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// Opens `/ws` and reads its `ready` frame.
async fn connect(
    address: SocketAddr,
    client: &Client,
    origin: Option<&str>,
) -> Result<Socket, tungstenite::Error> {
    let (socket, _frames) = connect_since(address, client, origin, None).await?;
    Ok(socket)
}

/// Opens `/ws[?since=N]` and reads up to its `ready` frame; returns the socket
/// and every frame before `ready`, then `ready` itself.
async fn connect_since(
    address: SocketAddr,
    client: &Client,
    origin: Option<&str>,
    since: Option<i64>,
) -> Result<(Socket, Vec<Value>), tungstenite::Error> {
    let query = since.map_or(String::new(), |since| format!("?since={since}"));
    let mut request = format!("ws://{address}/ws{query}")
        .into_client_request()
        .unwrap();
    if let Some(cookie) = &client.cookie {
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut frames = Vec::new();
    loop {
        let text = next_text(&mut socket, Duration::from_secs(10))
            .await
            .expect("the stream starts with a replay and `ready`");
        let frame: Value = serde_json::from_str(&text).unwrap();
        let is_ready = frame["type"] == "ready";
        frames.push(frame);
        if is_ready {
            return Ok((socket, frames));
        }
    }
}

/// The next text frame, skipping pings; `None` if nothing comes within `wait`.
async fn next_text(socket: &mut Socket, wait: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(text.to_string()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("unexpected frame: {other:?}"),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn every_connection_of_sender_and_recipient_is_notified_exactly_once() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;

    let mut alice_tab_1 = connect(address, &alice, None).await.unwrap();
    let mut alice_tab_2 = connect(address, &alice, Some(&format!("http://{address}")))
        .await
        .unwrap();
    let mut bob_tab = connect(address, &bob, None).await.unwrap();
    let mut carol_tab = connect(address, &carol, None).await.unwrap();

    let id = alice.send_message("bob", "hello").await;
    // The first event of each user: seq 1 on every connection, naming the
    // other person and the receiver's unread count there.
    let to_alice =
        json!({"type": "message", "message": id.to_string(), "seq": 1, "with": "bob", "unread": 0});
    let to_bob = json!({"type": "message", "message": id.to_string(), "seq": 1, "with": "alice", "unread": 1});
    for (socket, expected) in [
        (&mut alice_tab_1, &to_alice),
        (&mut alice_tab_2, &to_alice),
        (&mut bob_tab, &to_bob),
    ] {
        let frame = next_text(socket, Duration::from_secs(5))
            .await
            .expect("a notification");
        assert_eq!(
            &serde_json::from_str::<serde_json::Value>(&frame).unwrap(),
            expected
        );
    }
    for socket in [
        &mut alice_tab_1,
        &mut alice_tab_2,
        &mut bob_tab,
        &mut carol_tab,
    ] {
        assert_eq!(next_text(socket, Duration::from_millis(300)).await, None);
    }

    // The notified id is readable at once: the notification followed the commit.
    let mut bob = bob;
    assert_eq!(
        bob.get(&format!("/api/v1/message/{id}/")).await.status,
        StatusCode::OK
    );

    // A closed tab does not disturb the others.
    alice_tab_1.close(None).await.unwrap();
    let second = alice.send_message("bob", "again").await;
    let frame = next_text(&mut alice_tab_2, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(frame.contains(&format!("\"{second}\"")), "{frame}");
    let frame = next_text(&mut bob_tab, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(frame.contains(&format!("\"{second}\"")), "{frame}");
}

#[tokio::test]
async fn no_session_is_refused_before_the_upgrade() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    match connect(address, &app.client(), None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    match connect(address, &alice, Some("https://evil.example")).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    let mut socket = connect(address, &alice, None).await.unwrap();
    app.state.shutdown.cancel();
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("closed in time");
    match frame {
        Some(Ok(Message::Close(Some(close)))) => {
            assert_eq!(u16::from(close.code), 1001);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let _ = socket.send(Message::Close(None)).await;
}

#[tokio::test]
async fn a_socket_that_stops_answering_pings_is_reaped() {
    let settings = app::domain::Settings {
        ws_ping_interval: Duration::from_millis(500),
        ..Default::default()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    let mut silent = connect(address, &alice, None).await.unwrap();
    let mut answering = connect(address, &alice, None).await.unwrap();

    // `answering` is read (so it answers pings); `silent` is not read at all.
    assert_eq!(
        next_text(&mut answering, Duration::from_millis(1500)).await,
        None
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let ended = loop {
        match tokio::time::timeout_at(deadline, silent.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => {}
            Ok(None | Some(Err(_) | Ok(Message::Close(_)))) => break true,
            Ok(Some(Ok(other))) => panic!("unexpected frame: {other:?}"),
            Err(_) => break false,
        }
    };
    assert!(ended, "the silent socket was not closed");

    // The answering one is still live.
    let mut alice = alice;
    app.user("bob").await;
    let id = alice.send_message("bob", "still here").await;
    let frame = next_text(&mut answering, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(frame.contains(&format!("\"{id}\"")), "{frame}");
}

/// Sends `count` messages from `client` to `to`; returns their ids in order.
async fn send_many(client: &mut Client, to: &str, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for index in 0..count {
        ids.push(client.send_message(to, &format!("message {index}")).await);
    }
    ids
}

/// A message from Alice as Bob's stream carries it: Bob never reads in
/// these tests, so his unread count equals the seq.
fn message_frame(id: i64, seq: i64) -> Value {
    json!({"type": "message", "message": id.to_string(), "seq": seq, "with": "alice", "unread": seq})
}

#[tokio::test]
async fn since_replays_what_was_missed_in_order_then_goes_live() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let ids = send_many(&mut alice, "bob", 5).await;

    // Bob applied up to seq 2: he gets 3, 4, 5, then `ready` at 5.
    let (mut socket, frames) = connect_since(address, &bob, None, Some(2)).await.unwrap();
    let mut expected: Vec<Value> = (3..=5)
        .map(|seq: i64| message_frame(ids[usize::try_from(seq - 1).unwrap()], seq))
        .collect();
    expected.push(json!({"type": "ready", "seq": 5}));
    assert_eq!(frames, expected);

    // Then live, continuing the sequence, with nothing replayed twice.
    let live = alice.send_message("bob", "live").await;
    let frame = next_text(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&frame).unwrap(),
        message_frame(live, 6)
    );
    assert_eq!(
        next_text(&mut socket, Duration::from_millis(300)).await,
        None
    );

    // `since=0` replays everything; no `since` replays nothing.
    let (_, frames) = connect_since(address, &bob, None, Some(0)).await.unwrap();
    assert_eq!(frames.len(), 7);
    assert_eq!(frames[0], message_frame(ids[0], 1));
    let (_, frames) = connect_since(address, &bob, None, None).await.unwrap();
    assert_eq!(frames, vec![json!({"type": "ready", "seq": 6})]);
}

#[tokio::test]
async fn too_far_behind_or_ahead_is_told_to_resync() {
    let settings = app::domain::Settings {
        replay_limit: 3,
        ..Default::default()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    send_many(&mut alice, "bob", 5).await;

    // Exactly the limit is replayed…
    let (_, frames) = connect_since(address, &bob, None, Some(2)).await.unwrap();
    assert_eq!(frames.len(), 4);
    // …one more is a resync to the latest seq.
    let (_, frames) = connect_since(address, &bob, None, Some(1)).await.unwrap();
    assert_eq!(
        frames,
        vec![
            json!({"type": "resync", "seq": 5}),
            json!({"type": "ready", "seq": 5})
        ]
    );
    // A client claiming more than the server has (say, after a restore) too.
    let (_, frames) = connect_since(address, &bob, None, Some(99)).await.unwrap();
    assert_eq!(
        frames,
        vec![
            json!({"type": "resync", "seq": 5}),
            json!({"type": "ready", "seq": 5})
        ]
    );
}

#[tokio::test]
async fn a_bad_since_is_refused_before_the_upgrade() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let alice = app.user("alice").await;
    for query in ["since=-1", "since=soon"] {
        let response = alice.clone().get(&format!("/ws?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(response.body["detail"].is_string(), "{}", response.body);
    }
}

#[tokio::test]
async fn logging_out_closes_that_sessions_sockets_only() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let other_session = app.second_session("alice").await;
    let mut logged_out = connect(address, &alice, None).await.unwrap();
    let mut still_in = connect(address, &other_session, None).await.unwrap();

    let response = alice.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let frame = tokio::time::timeout(Duration::from_secs(5), logged_out.next())
        .await
        .expect("closed in time");
    match frame {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 4401),
        other => panic!("expected a 4401 close, got {other:?}"),
    }
    assert_eq!(
        next_text(&mut still_in, Duration::from_millis(300)).await,
        None
    );
}

/// Two senders at once: the recipient's stream still counts 1, 2, 3… with no
/// gap or repeat, on both databases (row locks on MariaDB, the write lock on
/// SQLite).
#[tokio::test]
async fn concurrent_senders_get_a_gapless_sequence() {
    for backend in [Backend::Sqlite, Backend::MariaDb] {
        let Some(app) = TestApp::on(backend).await else {
            continue;
        };
        let address = listen(&app).await;
        let alice = app.user("alice").await;
        let carol = app.user("carol").await;
        let bob = app.user("bob").await;
        let mut socket = connect(address, &bob, None).await.unwrap();

        let per_sender = 25;
        let senders = [alice, carol].map(|mut client| {
            tokio::spawn(async move { send_many(&mut client, "bob", per_sender).await })
        });
        let mut sent = Vec::new();
        for sender in senders {
            sent.extend(sender.await.unwrap());
        }
        let mut received = Vec::new();
        for expected_seq in 1..=i64::try_from(2 * per_sender).unwrap() {
            let frame = next_text(&mut socket, Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("{backend:?}: no frame for seq {expected_seq}"));
            let frame: Value = serde_json::from_str(&frame).unwrap();
            assert_eq!(frame["seq"], expected_seq, "{backend:?}: {frame}");
            received.push(frame["message"].as_str().unwrap().parse::<i64>().unwrap());
        }
        sent.sort_unstable();
        received.sort_unstable();
        assert_eq!(received, sent, "{backend:?}");
    }
}

/// A new password (or "log out other sessions") closes the sockets of the
/// user's other sessions at once, and leaves this session's open.
#[tokio::test]
async fn ending_other_sessions_closes_their_sockets_only() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut here = app.user("alice").await;
    let there = app.second_session("alice").await;
    let mut this_socket = connect(address, &here, None).await.unwrap();
    let mut other_socket = connect(address, &there, None).await.unwrap();

    let changed = here
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "a new long secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let frame = tokio::time::timeout(Duration::from_secs(5), other_socket.next())
        .await
        .expect("closed in time");
    match frame {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 4401),
        other => panic!("expected a 4401 close, got {other:?}"),
    }
    assert_eq!(
        next_text(&mut this_socket, Duration::from_millis(300)).await,
        None,
        "this session's socket stays open"
    );
    app.user("bob").await;
    let id = here.send_message("bob", "still here").await;
    let frame = next_text(&mut this_socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(frame.contains(&format!("\"{id}\"")), "{frame}");
}
