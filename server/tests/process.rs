//! The real `server` binary, as an attacker and a careless admin meet it:
//! its own listener's limits (slow headers, huge headers) and its log, read
//! whole after a run that touches every secret it handles.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use load::server::{Database, Server, free_port};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{test}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(dir: &Path, settings: &[(&str, String)]) -> Server {
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1").unwrap());
    let database_url = Database::Sqlite.fresh_url(dir, "chat").await.unwrap();
    Server::start(
        Path::new(env!("CARGO_BIN_EXE_server")),
        &address,
        &database_url,
        settings,
        dir.join("server.log"),
    )
    .await
    .unwrap()
}

/// The `name=value` of the session cookie a response sets.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.contains("session"))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

async fn post(
    http: &reqwest::Client,
    url: String,
    cookie: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = http.post(url).json(&body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// Reads the outbox until a mail arrives; returns it.
async fn first_mail(outbox: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mail = std::fs::read_dir(outbox).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .find(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
                .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        });
        if let Some(mail) = mail {
            return mail;
        }
        assert!(Instant::now() < deadline, "no reset mail within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A run through sign-up, log-in, a password reset by mail, a message, a
/// password change and a server-function log-in, with every target logging
/// at debug level: no password, reset token or link, session id, mail body
/// or message body is in the log.
#[tokio::test]
async fn a_full_run_logs_no_secret() {
    let dir = scratch("secrets-in-log");
    let outbox = dir.join("outbox");
    let server = start(
        &dir,
        &[
            ("RUST_LOG", "debug".to_owned()),
            ("MAIL_OUTBOX_DIR", outbox.display().to_string()),
        ],
    )
    .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let first_password = "first-Secret-7Hq2";
    let reset_password = "reset-Secret-9Kx4";
    let changed_password = "changed-Secret-3Wv8";
    let message_body = "private-message-body-5Tz1";

    let registered = post(
        &http,
        format!("{base}/api/v1/auth/register"),
        None,
        json!({"username": "erin", "password": first_password, "email": "erin@example.org"}),
    )
    .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let mut cookies = vec![session_cookie(&registered)];
    let frank = post(
        &http,
        format!("{base}/api/v1/auth/register"),
        None,
        json!({"username": "frank", "password": first_password}),
    )
    .await;
    assert_eq!(frank.status(), StatusCode::CREATED);

    let asked = post(
        &http,
        format!("{base}/api/v1/auth/password-reset"),
        None,
        json!({"email": "erin@example.org"}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let mail = first_mail(&outbox).await;
    let link = mail
        .split_whitespace()
        .find(|word| word.contains("/reset-password?token="))
        .expect("a reset link in the mail")
        .to_owned();
    let token = link.rsplit_once("token=").unwrap().1.to_owned();
    let page = http
        .get(format!("{base}/reset-password?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let confirmed = post(
        &http,
        format!("{base}/api/v1/auth/password-reset/confirm"),
        None,
        json!({"token": token, "new_password": reset_password}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);

    let logged_in = post(
        &http,
        format!("{base}/api/v1/auth/login"),
        None,
        json!({"username": "erin", "password": reset_password}),
    )
    .await;
    assert_eq!(logged_in.status(), StatusCode::OK);
    let erin = session_cookie(&logged_in);
    cookies.push(erin.clone());
    let sent = post(
        &http,
        format!("{base}/api/v1/message/"),
        Some(&erin),
        json!({"recipient": "frank", "body": message_body}),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let changed = post(
        &http,
        format!("{base}/api/v1/auth/password"),
        Some(&erin),
        json!({"current_password": reset_password, "new_password": changed_password}),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    cookies.push(session_cookie(&changed));
    let by_server_fn = http
        .post(format!("{base}/rpc/log_in"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([("username", "erin"), ("password", changed_password)])
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(by_server_fn.status().is_success() || by_server_fn.status().is_redirection());
    cookies.push(session_cookie(&by_server_fn));
    server.stop().await;

    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    // The log is on, and traces requests: this test can fail.
    assert!(log.contains("/api/v1/auth/login"), "{log}");
    let mut secrets = vec![
        first_password.to_owned(),
        reset_password.to_owned(),
        changed_password.to_owned(),
        token.clone(),
        link.clone(),
        message_body.to_owned(),
    ];
    secrets.extend(
        cookies
            .iter()
            .map(|cookie| cookie.split_once('=').unwrap().1.to_owned()),
    );
    secrets.extend(
        mail.lines()
            .filter(|line| line.trim().len() > 20 && !line.contains(':'))
            .map(|line| line.trim().to_owned()),
    );
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "the log holds a secret ({secret}):\n{log}"
        );
    }
}

/// A client that sends its request head a byte at a time (slowloris) is
/// cut off once the header-read timeout passes, and does not hold a
/// connection open for as long as it likes.
#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let dir = scratch("slowloris");
    let server = start(&dir, &[("HEADER_READ_TIMEOUT_SECONDS", "2".to_owned())]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    let header = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in header.iter().cycle().take(60) {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buffer = [0_u8; 512];
        // Some bytes (a 408) may come first; the close must follow.
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(250), stream.read(&mut buffer)).await
        {
            closed = true;
            break;
        }
    }
    let held = started.elapsed();
    server.stop().await;
    assert!(closed, "still open after {held:?}");
    assert!(held < Duration::from_secs(8), "held for {held:?}");
}

/// A request head past the listener's bound is refused with 431 by the
/// HTTP parser itself, before any handler sees it.
#[tokio::test]
async fn a_huge_request_head_is_refused_by_the_listener() {
    let dir = scratch("huge-head");
    let server = start(&dir, &[]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    // The server may stop reading (and close) before it has all of it.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    server.stop().await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}
