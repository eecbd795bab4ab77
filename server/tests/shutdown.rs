//! The real `server` binary: starts on SQLite, answers, and on SIGTERM closes
//! its WebSockets and exits cleanly.

#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[path = "common/site.rs"]
mod site;

/// A raw HTTP/1.1 request; returns the status code and the `Set-Cookie` pair.
async fn http(address: &str, request: String) -> (u16, Option<String>) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("an answer within 30 s");
    let status = response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let cookie = response
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .map(|value| value.split(';').next().unwrap().to_owned());
    (status, cookie)
}

/// The server's standard error so far (it writes its log there).
fn log_of(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn sigterm_closes_sockets_and_exits_cleanly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    // A directory of its own, so no earlier run's database is found there.
    let data = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("shutdown-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&data).unwrap();
    let log = data.join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_server"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/chat.db?mode=rwc", data.display()),
        )
        .env("LEPTOS_SITE_ADDR", &address)
        .env("LEPTOS_OUTPUT_NAME", "chatapp")
        .env("RUST_LOG", "info")
        .envs(site::stub(&data))
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let started = Instant::now();
    loop {
        if let Some(exit) = server.try_wait().unwrap() {
            panic!("the server exited at start-up ({exit}): {}", log_of(&log));
        }
        if tokio::net::TcpStream::connect(&address).await.is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "the server did not listen within a minute: {}",
            log_of(&log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = r#"{"username":"alice","password":"correct horse"}"#;
    let (status, cookie) = http(
        &address,
        format!(
            "POST /api/v1/auth/register HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 201, "{}", log_of(&log));
    let mut request = format!("ws://{address}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.unwrap().parse().unwrap());
    request.headers_mut().insert(
        "sec-websocket-protocol",
        app::wire::STREAM_PROTOCOL.parse().unwrap(),
    );
    let (mut socket, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("a handshake answer within 30 s")
    .unwrap();

    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());

    // The stream starts with `ready`; then the close.
    let frame = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(_) | Message::Ping(_))) => {}
                other => return other,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no close within 30 s of SIGTERM: {}", log_of(&log)));
    match frame {
        Some(Ok(Message::Close(Some(close)))) => assert_eq!(u16::from(close.code), 1001),
        other => panic!(
            "expected a going-away close frame, got {other:?}: {}",
            log_of(&log)
        ),
    }
    drop(socket);

    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            server.kill().ok();
            panic!("still running 30 s after SIGTERM: {}", log_of(&log));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}: {}", log_of(&log));
    assert!(
        log_of(&log).contains("shut down cleanly"),
        "{}",
        log_of(&log)
    );
    std::fs::remove_dir_all(data).ok();
}
