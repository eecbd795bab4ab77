//! The notification socket, over a real listener.
//!
//! Every socket is read in the background ([`TestSocket`]), so it answers
//! pings however busy the test is. Absence ("nothing else arrived") is proved
//! by ordering, never by a short wait: a later marker event must be the very
//! next frame.

mod common;

use std::net::SocketAddr;

use axum::http::StatusCode;
use common::socket::{Handshake, SilentSocket, TestSocket};
use common::{Backend, Client, TestApp};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;

async fn listen(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// `client`'s handshake: its cookie, no origin, no `since`.
fn as_client(client: &Client) -> Handshake<'_> {
    Handshake {
        cookie: client.cookie.as_deref(),
        ..Handshake::default()
    }
}

/// Opens `/ws` as `client` and reads its `ready` frame.
async fn connect(name: &str, address: SocketAddr, client: &Client) -> TestSocket {
    let (socket, frames) = TestSocket::open_until_ready(name, address, &as_client(client))
        .await
        .unwrap_or_else(|error| panic!("{name}: handshake refused: {error}"));
    assert_eq!(frames.len(), 1, "{name}: nothing is replayed without since");
    socket
}

/// Opens `/ws?since=N` and returns the socket and the frames up to `ready`.
async fn connect_since(
    name: &str,
    address: SocketAddr,
    client: &Client,
    since: i64,
) -> (TestSocket, Vec<Value>) {
    let handshake = Handshake {
        since: Some(since),
        ..as_client(client)
    };
    TestSocket::open_until_ready(name, address, &handshake)
        .await
        .unwrap_or_else(|error| panic!("{name}: handshake refused: {error}"))
}

/// The HTTP status and JSON body of a refused handshake.
fn refusal(result: Result<TestSocket, tungstenite::Error>) -> (StatusCode, Value) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|body| serde_json::from_slice(body).ok())
                .unwrap_or(Value::Null);
            (response.status(), body)
        }
        Ok(_) => panic!("expected the handshake to be refused; it was accepted"),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// A message event as its receiver's stream carries it.
fn message_event(id: i64, seq: i64, with: &str, unread: u64) -> Value {
    json!({"type": "message", "message": id.to_string(), "seq": seq, "with": with, "unread": unread})
}

#[tokio::test]
async fn every_connection_of_sender_and_recipient_is_notified_exactly_once() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let mut dave = app.user("dave").await;

    let mut alice_tab_1 = connect("alice tab 1", address, &alice).await;
    let origin = format!("http://{address}");
    let handshake = Handshake {
        origin: Some(&origin),
        ..as_client(&alice)
    };
    let (mut alice_tab_2, _) = TestSocket::open_until_ready("alice tab 2", address, &handshake)
        .await
        .unwrap();
    let mut bob_tab = connect("bob", address, &bob).await;
    let mut carol_tab = connect("carol", address, &carol).await;

    // Bob fetches the message the moment his frame names it: the frame went
    // out after the commit, so it is there.
    let sending = tokio::spawn(async move {
        let id = alice.send_message("bob", "hello").await;
        (alice, id)
    });
    let frame = bob_tab.next_frame("the new message's frame").await;
    let id: i64 = frame["message"].as_str().unwrap().parse().unwrap();
    let mut bob = bob;
    let fetched = bob.get(&format!("/api/v1/message/{id}/")).await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.body);
    assert_eq!(fetched.body["body"], "hello");
    let (mut alice, sent_id) = sending.await.unwrap();
    assert_eq!(id, sent_id);

    // The first event of each user: seq 1 on every connection, naming the
    // other person and the receiver's unread count there.
    assert_eq!(frame, message_event(id, 1, "alice", 1));
    alice_tab_1
        .expect_frame(&message_event(id, 1, "bob", 0))
        .await;
    alice_tab_2
        .expect_frame(&message_event(id, 1, "bob", 0))
        .await;

    // Exactly once: the next frame each socket gets is the next event, and
    // Carol's first frame is her own first event.
    let second = alice.send_message("bob", "again").await;
    alice_tab_1
        .expect_frame(&message_event(second, 2, "bob", 0))
        .await;
    alice_tab_2
        .expect_frame(&message_event(second, 2, "bob", 0))
        .await;
    bob_tab
        .expect_frame(&message_event(second, 2, "alice", 2))
        .await;
    let to_carol = dave.send_message("carol", "only for carol").await;
    carol_tab
        .expect_frame(&message_event(to_carol, 1, "dave", 1))
        .await;

    // A closed tab does not disturb the others.
    drop(alice_tab_1);
    let third = alice.send_message("bob", "and again").await;
    alice_tab_2
        .expect_frame(&message_event(third, 3, "bob", 0))
        .await;
    bob_tab
        .expect_frame(&message_event(third, 3, "alice", 3))
        .await;
}

#[tokio::test]
async fn no_session_is_refused_before_the_upgrade() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let (status, body) =
        refusal(TestSocket::open("anonymous", address, &Handshake::default()).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    let handshake = Handshake {
        origin: Some("https://evil.example"),
        ..as_client(&alice)
    };
    let (status, body) = refusal(TestSocket::open("alice", address, &handshake).await);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Cross-site requests are refused.");
}

#[tokio::test]
async fn shutdown_closes_sockets_with_going_away() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    let mut socket = connect("alice", address, &alice).await;
    app.state.shutdown.cancel();
    assert_eq!(socket.expect_closed().await, Some(1001));
}

#[tokio::test]
async fn a_socket_that_stops_answering_pings_is_reaped() {
    let settings = app::domain::Settings {
        ws_ping_interval: std::time::Duration::from_secs(1),
        ..common::test_settings()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    app.user("bob").await;

    // `answering` is read all along, so it answers every ping; `silent`
    // never answers anything.
    let mut answering = connect("answering", address, &alice).await;
    let silent = SilentSocket::open(address, alice.cookie.as_deref().unwrap()).await;
    let bytes = silent.wait_until_dropped().await;
    // It was pinged (a ready frame and at least two pings) before it was dropped.
    assert!(bytes > 20, "dropped after only {bytes} bytes");

    // The answering one is still live.
    let id = alice.send_message("bob", "still here").await;
    answering
        .expect_frame(&message_event(id, 1, "bob", 0))
        .await;
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
fn from_alice(id: i64, seq: i64) -> Value {
    message_event(id, seq, "alice", u64::try_from(seq).unwrap())
}

#[tokio::test]
async fn since_replays_what_was_missed_in_order_then_goes_live() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let ids = send_many(&mut alice, "bob", 5).await;

    // Bob applied up to seq 2: he gets 3, 4, 5, then `ready` at 5.
    let (mut socket, frames) = connect_since("bob", address, &bob, 2).await;
    let mut expected: Vec<Value> = (3..=5)
        .map(|seq: i64| from_alice(ids[usize::try_from(seq - 1).unwrap()], seq))
        .collect();
    expected.push(json!({"type": "ready", "seq": 5}));
    assert_eq!(frames, expected);

    // Then live, continuing the sequence, with nothing replayed twice: the
    // next two frames are exactly the next two events.
    let live = alice.send_message("bob", "live").await;
    socket.expect_frame(&from_alice(live, 6)).await;
    let after = alice.send_message("bob", "after").await;
    socket.expect_frame(&from_alice(after, 7)).await;

    // `since=0` replays everything; no `since` replays nothing.
    let (_, frames) = connect_since("bob again", address, &bob, 0).await;
    let mut everything: Vec<Value> = ids
        .iter()
        .chain([&live, &after])
        .zip(1..)
        .map(|(id, seq)| from_alice(*id, seq))
        .collect();
    everything.push(json!({"type": "ready", "seq": 7}));
    assert_eq!(frames, everything);
    let (_, frames) = TestSocket::open_until_ready("bob fresh", address, &as_client(&bob))
        .await
        .unwrap();
    assert_eq!(frames, vec![json!({"type": "ready", "seq": 7})]);
}

#[tokio::test]
async fn too_far_behind_or_ahead_is_told_to_resync() {
    let settings = app::domain::Settings {
        replay_limit: 3,
        ..common::test_settings()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let ids = send_many(&mut alice, "bob", 5).await;

    // Exactly the limit is replayed…
    let (_, frames) = connect_since("bob at 2", address, &bob, 2).await;
    assert_eq!(
        frames,
        vec![
            from_alice(ids[2], 3),
            from_alice(ids[3], 4),
            from_alice(ids[4], 5),
            json!({"type": "ready", "seq": 5})
        ]
    );
    // …one more is a resync to the latest seq.
    let resync = vec![
        json!({"type": "resync", "seq": 5}),
        json!({"type": "ready", "seq": 5}),
    ];
    let (_, frames) = connect_since("bob at 1", address, &bob, 1).await;
    assert_eq!(frames, resync);
    // A client claiming more than the server has (say, after a restore) too.
    let (_, frames) = connect_since("bob at 99", address, &bob, 99).await;
    assert_eq!(frames, resync);
}

#[tokio::test]
async fn a_bad_since_is_refused_before_the_upgrade() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let alice = app.user("alice").await;
    // A real handshake, so the refusal cannot come from a missing upgrade.
    for query in ["since=-1", "since=soon"] {
        let handshake = Handshake {
            query: Some(query),
            ..as_client(&alice)
        };
        let (status, body) = refusal(TestSocket::open("alice", address, &handshake).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("since"),
            "{query}: {body}"
        );
    }
    let (status, body) = refusal(
        TestSocket::open(
            "alice",
            address,
            &Handshake {
                since: Some(-1),
                ..as_client(&alice)
            },
        )
        .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"]["since"][0],
        "since is the last seq the client applied: 0 or more."
    );
}

#[tokio::test]
async fn logging_out_closes_that_sessions_sockets_only() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let other_session = app.second_session("alice").await;
    let mut logged_out = connect("logged-out session", address, &alice).await;
    let mut still_in = connect("other session", address, &other_session).await;

    let response = alice.post_json("/api/v1/auth/logout", &json!({})).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(logged_out.expect_closed().await, Some(4401));
    // The other session's socket is open and live: its next frame is the
    // next event.
    let id = bob.send_message("alice", "are you there?").await;
    still_in.expect_frame(&message_event(id, 1, "bob", 1)).await;
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
        let mut socket = connect("bob", address, &bob).await;

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
            let frame = socket
                .next_frame(&format!("{backend:?}: the event with seq {expected_seq}"))
                .await;
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
    app.user("bob").await;
    let there = app.second_session("alice").await;
    let mut this_socket = connect("this session", address, &here).await;
    let mut other_socket = connect("other session", address, &there).await;

    let changed = here
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "a new long secret"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(other_socket.expect_closed().await, Some(4401));
    // This session's socket stayed open: its next frame is the next event.
    let id = here.send_message("bob", "still here").await;
    this_socket
        .expect_frame(&message_event(id, 1, "bob", 0))
        .await;
}

/// Deleting an account closes every socket of it, and tells the people it
/// wrote to at once.
#[tokio::test]
async fn deleting_an_account_closes_its_sockets_and_tells_its_partners() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let mut ann = app.user("ann").await;
    let bob = app.user("bob").await;
    ann.send_message("bob", "bye").await;
    let mut anns = connect("ann", address, &ann).await;
    let mut bobs = connect("bob", address, &bob).await;

    ann.delete_account().await;
    assert_eq!(anns.expect_closed().await, Some(4401));
    bobs.expect_frame(&json!({"type": "account_deleted", "with": "ann", "seq": 2}))
        .await;
}

/// Client frames are a few dozen bytes: one over the limit closes the socket
/// with 1009, before it is read whole.
#[tokio::test]
async fn a_frame_larger_than_any_client_sends_closes_with_1009() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let ann = app.user("ann").await;
    let mut socket = connect("ann", address, &ann).await;
    let padding = "x".repeat(server::ws::MAX_CLIENT_FRAME + 1);
    socket.send(&json!({"type": "typing", "to": padding}));
    assert_eq!(socket.expect_closed().await, Some(1009));
}

/// The socket reads in small chunks (an idle socket keeps 512 bytes for the
/// client's frames), but a frame up to the limit is read whole and acted on.
#[tokio::test]
async fn a_frame_larger_than_the_read_buffer_is_read_whole() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let anns = connect("ann", address, &ann).await;
    let mut bobs = connect("bob", address, &bob).await;
    // A newer client's field this server does not know pads it near the limit.
    let padding = "x".repeat(server::ws::MAX_CLIENT_FRAME - 64);
    anns.send(&json!({"type": "typing", "to": "bob", "padding": padding}));
    bobs.expect_frame(&json!({"type": "typing", "from": "ann"}))
        .await;
}

/// Text frames must be UTF-8: anything else closes with 1007, not a reset.
#[tokio::test]
async fn text_that_is_not_utf8_closes_with_1007() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};

    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let ann = app.user("ann").await;
    let mut socket = connect("ann", address, &ann).await;
    socket.send_message(tungstenite::Message::Frame(Frame::message(
        vec![0xff, 0xfe, 0xfd],
        OpCode::Data(Data::Text),
        true,
    )));
    assert_eq!(socket.expect_closed().await, Some(1007));
}

/// One user holds at most `max_sockets_per_user` sockets on a node; past
/// that the handshake is refused (429), and closing one frees its place.
#[tokio::test]
async fn a_user_holds_a_bounded_number_of_sockets() {
    let settings = app::domain::Settings {
        max_sockets_per_user: 2,
        ..common::test_settings()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let ann = app.user("ann").await;
    let first = connect("first", address, &ann).await;
    let _second = connect("second", address, &ann).await;
    let (status, body) = refusal(TestSocket::open("third", address, &as_client(&ann)).await);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["detail"].is_string(), "{body}");
    // Another user is not affected.
    let bob = app.user("bob").await;
    connect("bob", address, &bob).await;
    // Once the server has seen the first close, a new one is let in.
    drop(first);
    common::wait_until("a socket slot is free again", async || {
        TestSocket::open("again", address, &as_client(&ann))
            .await
            .map(drop)
            .map_err(|error| error.to_string())
    })
    .await;
}

/// A socket lives no longer than its session: idle past its expiry, the
/// session ends and the socket closes with 4401.
#[tokio::test]
async fn a_socket_closes_with_4401_when_its_session_expires() {
    let settings = app::domain::Settings {
        session_idle: std::time::Duration::from_secs(2),
        ..common::test_settings()
    };
    let app = TestApp::with_settings(Backend::Sqlite, settings)
        .await
        .unwrap();
    let address = listen(&app).await;
    let mut ann = app.user("ann").await;
    let mut socket = connect("ann", address, &ann).await;
    assert_eq!(socket.expect_closed().await, Some(4401));
    // The session is gone for requests too.
    assert_eq!(
        ann.get("/api/v1/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Generated client frames (JSON of every shape, unknown types, wrong
/// fields, plain text, binary, pings) never break a socket: it stays open,
/// and the next event reaches it. The run is seeded, so it is the same
/// every time.
#[tokio::test]
async fn malformed_client_frames_leave_the_socket_working() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use tungstenite::Message;

    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let address = listen(&app).await;
    let ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let mut socket = connect("ann", address, &ann).await;

    let text = prop_oneof![
        "[ -~]{0,200}",
        any::<String>().prop_map(|text| text.chars().take(200).collect::<String>()),
    ];
    let kind = prop_oneof![
        prop::sample::select(vec!["typing", "presence", "away", "online", "ping", ""])
            .prop_map(str::to_owned),
        "[a-z]{1,10}",
    ];
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::sample::select(vec!["bob", "ann", "away", "online", "nobody"]).prop_map(Value::from),
        "[ -~]{0,300}".prop_map(Value::from),
        Just(json!({"nested": [1, 2, 3]})),
    ];
    let frame = prop_oneof![
        4 => (kind, prop::collection::vec((prop::sample::select(vec!["to", "status", "seq", "since"]), value), 0..3))
            .prop_map(|(kind, fields)| {
                let mut object = serde_json::Map::new();
                object.insert("type".into(), Value::from(kind));
                for (key, value) in fields {
                    object.insert(key.into(), value);
                }
                Message::Text(Value::Object(object).to_string().into())
            }),
        2 => text.prop_map(|text| Message::Text(text.into())),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|bytes| Message::Binary(bytes.into())),
        1 => prop::collection::vec(any::<u8>(), 0..100).prop_map(|bytes| Message::Ping(bytes.into())),
    ];
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    for _ in 0..300 {
        socket.send_message(frame.new_tree(&mut runner).unwrap().current());
    }
    let id = bob.send_message("ann", "still listening").await;
    // Typing and presence signals the frames set off may come first; the
    // socket must not close before the message's event.
    loop {
        let next = socket.next_frame("the message's event").await;
        if next["type"] == "message" {
            assert_eq!(next, message_event(id, 1, "bob", 1));
            break;
        }
    }
}
