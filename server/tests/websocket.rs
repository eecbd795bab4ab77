//! The notification socket, over a real listener.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use common::{Backend, Client, TestApp};
use futures::{SinkExt, StreamExt};
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

async fn connect(
    address: SocketAddr,
    client: &Client,
    origin: Option<&str>,
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
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
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
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
    let expected = serde_json::json!({"type": "message", "message": id.to_string()});
    for socket in [&mut alice_tab_1, &mut alice_tab_2, &mut bob_tab] {
        let frame = next_text(socket, Duration::from_secs(5))
            .await
            .expect("a notification");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&frame).unwrap(),
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
