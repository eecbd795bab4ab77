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

#[path = "common/site.rs"]
mod site;
#[path = "common/socket.rs"]
#[allow(dead_code, reason = "this file uses a few of the helpers")]
mod socket;

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{test}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(dir: &Path, settings: &[(&str, String)]) -> Server {
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1").unwrap());
    let database_url = Database::Sqlite.fresh_url(dir, "chat").await.unwrap();
    let mut settings = settings.to_vec();
    settings.extend(site::stub(dir));
    Server::start(
        Path::new(env!("CARGO_BIN_EXE_server")),
        &address,
        &database_url,
        &settings,
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

/// Signs up each of `names` (password "correct horse"); their cookies.
async fn sign_up(http: &reqwest::Client, base: &str, names: &[&str]) -> Vec<String> {
    let mut cookies = Vec::new();
    for name in names {
        let registered = post(
            http,
            format!("{base}/api/v1/auth/register"),
            None,
            json!({"username": name, "password": "correct horse"}),
        )
        .await;
        assert_eq!(
            registered.status(),
            StatusCode::CREATED,
            "signing up {name}"
        );
        cookies.push(session_cookie(&registered));
    }
    cookies
}

/// Reads the outbox until a mail arrives; returns it.
/// Waits (up to 30 s) for the mail in `outbox` holding a link to `route`;
/// returns the mail and the link.
async fn link_in_outbox(outbox: &Path, route: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let marker = format!("{route}?token=");
    loop {
        let link = std::fs::read_dir(outbox).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
                .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
                .find_map(|mail| {
                    let link = mail
                        .split_whitespace()
                        .find(|word| word.contains(&marker))?
                        .to_owned();
                    Some((mail, link))
                })
        });
        if let Some(link) = link {
            return link;
        }
        assert!(Instant::now() < deadline, "no {route} link within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A run through sign-up, an e-mail confirmation, log-in, a password reset
/// by mail, a message, a password change and a server-function log-in, with
/// every target logging at debug level: no password, confirmation or reset
/// token or link, session id, mail body or message body is in the log.
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

    // The address counts once confirmed, by the link mailed to it.
    let (confirm_mail, confirm_link) = link_in_outbox(&outbox, "/confirm-email").await;
    let confirm_token = confirm_link.rsplit_once("token=").unwrap().1.to_owned();
    let confirmed = post(
        &http,
        format!("{base}/api/v1/auth/email/confirm"),
        None,
        json!({"token": confirm_token}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);

    let asked = post(
        &http,
        format!("{base}/api/v1/auth/password-reset"),
        None,
        json!({"email": "erin@example.org"}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let (mail, link) = link_in_outbox(&outbox, "/reset-password").await;
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
        confirm_token,
        confirm_link,
        message_body.to_owned(),
    ];
    secrets.extend(
        cookies
            .iter()
            .map(|cookie| cookie.split_once('=').unwrap().1.to_owned()),
    );
    secrets.extend(
        [mail, confirm_mail]
            .iter()
            .flat_map(|mail| mail.lines())
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

/// Runs the binary with `args` and `settings` until it exits (at most a
/// minute); returns whether it succeeded and all it printed.
async fn run_command(args: &[&str], settings: &[(&str, String)]) -> (bool, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(settings.iter().map(|(key, value)| (*key, value.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = tokio::time::timeout(Duration::from_mins(1), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("server {args:?} did not finish within a minute"))
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

/// Started without the site its pages link (no `LEPTOS_*` pointing at a
/// build), the server does not serve dead pages: it refuses to start and
/// says which files are missing and what to do.
#[tokio::test]
async fn without_its_site_the_server_refuses_to_start_and_says_why() {
    let dir = scratch("no-site");
    let empty = dir.join("empty-site");
    std::fs::create_dir_all(&empty).unwrap();
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1").unwrap());
    let (started, printed) = run_command(
        &[],
        &[
            (
                "DATABASE_URL",
                format!("sqlite://{}/chat.db?mode=rwc", dir.display()),
            ),
            ("LEPTOS_SITE_ADDR", address),
            ("LEPTOS_OUTPUT_NAME", "chatapp".to_owned()),
            ("LEPTOS_SITE_ROOT", empty.display().to_string()),
            ("LEPTOS_HASH_FILES", "false".to_owned()),
        ],
    )
    .await;
    assert!(!started, "it served without a site: {printed}");
    assert!(
        printed.contains("would link files that do not exist"),
        "{printed}"
    );
    assert!(printed.contains("chatapp.js"), "{printed}");
    assert!(
        printed.contains("cargo leptos build --release"),
        "{printed}"
    );
}

/// `server check-config` names each problem and exits non-zero; with good
/// settings it says so. It connects to nothing: no database file appears.
#[tokio::test]
async fn check_config_names_problems_without_touching_anything() {
    let dir = scratch("check-config");
    let database = dir.join("chat.db");
    let mut settings = site::stub(&dir);
    settings.push((
        "DATABASE_URL",
        format!("sqlite://{}?mode=rwc", database.display()),
    ));
    settings.push(("LEPTOS_OUTPUT_NAME", "chatapp".to_owned()));

    let (valid, printed) = run_command(&["check-config"], &settings).await;
    assert!(valid, "{printed}");
    assert!(printed.contains("The configuration is valid."), "{printed}");

    let mut bad = settings.clone();
    bad.push(("REDIS_URL", "not a url".to_owned()));
    bad.push(("MAIL_FROM", "nobody".to_owned()));
    let (valid, printed) = run_command(&["check-config"], &bad).await;
    assert!(!valid, "{printed}");
    assert!(printed.contains("REDIS_URL"), "{printed}");
    assert!(printed.contains("MAIL_FROM"), "{printed}");

    let mut out_of_range = settings.clone();
    out_of_range.push(("MESSAGES_TO_LOAD", "0".to_owned()));
    let (valid, printed) = run_command(&["check-config"], &out_of_range).await;
    assert!(!valid, "{printed}");
    assert!(
        printed.contains("MESSAGES_TO_LOAD") || printed.contains("messages-to-load"),
        "{printed}"
    );
    assert!(!database.exists(), "check-config created the database");
}

/// `server backup` copies a database that is being written: every message
/// acknowledged before the backup began is in the copy, and a server
/// started on the copy (the documented restore) serves them.
#[tokio::test]
async fn a_backup_taken_under_write_load_restores_with_nothing_lost() {
    use std::sync::{Arc, Mutex};

    let dir = scratch("backup");
    let server = start(&dir, &[]).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let cookies = sign_up(&http, &base, &["gina", "hugo"]).await;
    let gina = cookies[0].clone();

    // Gina writes to Hugo without pause; each acknowledged id is recorded.
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let writing = {
        let (http, base, gina, acknowledged) = (
            http.clone(),
            base.clone(),
            gina.clone(),
            Arc::clone(&acknowledged),
        );
        tokio::spawn(async move {
            for n in 0.. {
                let sent = post(
                    &http,
                    format!("{base}/api/v1/message/"),
                    Some(&gina),
                    json!({"recipient": "hugo", "body": format!("message {n}")}),
                )
                .await;
                assert_eq!(sent.status(), StatusCode::CREATED);
                let body: Value = sent.json().await.unwrap();
                acknowledged
                    .lock()
                    .unwrap()
                    .push(body["id"].as_i64().unwrap());
            }
        })
    };
    let wait_for = |count: usize| {
        let acknowledged = Arc::clone(&acknowledged);
        async move {
            let deadline = Instant::now() + Duration::from_mins(1);
            while acknowledged.lock().unwrap().len() < count {
                assert!(
                    Instant::now() < deadline,
                    "fewer than {count} messages in a minute"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_for(200).await;
    let before_backup = acknowledged.lock().unwrap().clone();
    let copy = dir.join("backup.db");
    let (backed_up, printed) = run_command(
        &["backup", copy.to_str().unwrap()],
        &[("DATABASE_URL", server.database_url.clone())],
    )
    .await;
    assert!(backed_up, "{printed}");
    assert!(printed.contains("integrity ok"), "{printed}");
    let during = acknowledged.lock().unwrap().len();
    wait_for(during + 100).await;
    writing.abort();
    server.stop().await;

    // Restore as docs/deploy.md says: the copy becomes the database file.
    let restored_dir = scratch("restored");
    std::fs::copy(&copy, restored_dir.join("chat.db")).unwrap();
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1").unwrap());
    let restored = Server::start(
        Path::new(env!("CARGO_BIN_EXE_server")),
        &address,
        &format!("sqlite://{}/chat.db?mode=rwc", restored_dir.display()),
        &site::stub(&restored_dir),
        restored_dir.join("server.log"),
    )
    .await
    .unwrap();
    let logged_in = post(
        &http,
        format!("{}/api/v1/auth/login", restored.base),
        None,
        json!({"username": "gina", "password": "correct horse"}),
    )
    .await;
    assert_eq!(logged_in.status(), StatusCode::OK);
    let gina = session_cookie(&logged_in);
    let mut missing = Vec::new();
    for id in &before_backup {
        let message = http
            .get(format!("{}/api/v1/message/{id}/", restored.base))
            .header("cookie", &gina)
            .send()
            .await
            .unwrap();
        if message.status() != StatusCode::OK {
            missing.push(*id);
        }
    }
    restored.stop().await;
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged messages are not in the backup: {missing:?}",
        missing.len(),
        before_backup.len()
    );
}

/// `LOG_FORMAT=json`: every line is one JSON object, and a request's line
/// carries its route template, the user's id and the request id the
/// response named.
#[tokio::test]
async fn json_logs_carry_request_id_route_and_user() {
    let dir = scratch("json-log");
    let server = start(
        &dir,
        &[
            ("LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ],
    )
    .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let iris = sign_up(&http, &base, &["iris"]).await.remove(0);
    let missing = http
        .get(format!("{base}/api/v1/message/424242/"))
        .header("cookie", &iris)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let request_id = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    server.stop().await;

    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect();
    let finished = lines
        .iter()
        .find(|line| line["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no line for request {request_id}:\n{log}"));
    assert_eq!(
        finished["span"]["route"], "/api/v1/message/{id}/",
        "{finished}"
    );
    assert_eq!(
        finished["span"]["path"], "/api/v1/message/424242/",
        "{finished}"
    );
    assert!(finished["span"]["user_id"].is_i64(), "{finished}");
}

/// The value of the sample `name` (with its labels, as written) in a
/// Prometheus exposition, if present.
fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == name).then(|| value.parse().ok()).flatten()
    })
}

/// `/metrics` answers a local scraper with every family the deploy guide's
/// dashboards use, and they move with real traffic: requests by route
/// template, sockets, events published and delivered, delivery lag, the
/// pool, hashes, rate limits, process memory. A relayed request is refused.
#[tokio::test]
async fn metrics_move_with_traffic() {
    let dir = scratch("metrics");
    let server = start(&dir, &[("LIMIT_LOG_IN_PER_ACCOUNT", "1/1h".to_owned())]).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let scrape = || async {
        let response = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert!(
        sample(&before, "process_resident_memory_bytes").is_some_and(|bytes| bytes > 0.0),
        "{before}"
    );

    let cookies = sign_up(&http, &base, &["jack", "kate"]).await;
    let address = base.trim_start_matches("http://").parse().unwrap();
    let handshake = socket::Handshake {
        cookie: Some(&cookies[1]),
        ..socket::Handshake::default()
    };
    let (mut kate_socket, _) = socket::TestSocket::open_until_ready("kate", address, &handshake)
        .await
        .unwrap();
    let sent = post(
        &http,
        format!("{base}/api/v1/message/"),
        Some(&cookies[0]),
        json!({"recipient": "kate", "body": "hello"}),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    kate_socket.next_frame("the message's event").await;
    for _ in 0..2 {
        post(
            &http,
            format!("{base}/api/v1/auth/login"),
            None,
            json!({"username": "jack", "password": "wrong password"}),
        )
        .await;
    }
    let relayed = http
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(relayed.status(), StatusCode::NOT_FOUND);

    let after = scrape().await;
    server.stop().await;
    let moved =
        |name: &str| sample(&after, name).unwrap_or(0.0) - sample(&before, name).unwrap_or(0.0);
    for (name, at_least) in [
        (
            r#"http_requests_total{route="/api/v1/message/",method="POST",status="201"}"#,
            1.0,
        ),
        (
            r#"http_requests_total{route="/api/v1/auth/register",method="POST",status="201"}"#,
            2.0,
        ),
        (
            r#"http_request_duration_seconds_count{route="/api/v1/message/",method="POST"}"#,
            1.0,
        ),
        ("chatapp_events_published_total", 2.0),
        (r#"chatapp_frames_sent_total{kind="event"}"#, 1.0),
        ("chatapp_delivery_lag_seconds_count", 1.0),
        ("chatapp_write_batch_jobs_count", 1.0),
        (r#"chatapp_rate_limited_total{limit="log_in_account"}"#, 1.0),
    ] {
        assert!(
            moved(name) >= at_least,
            "{name} moved by {}, not {at_least}:\n{after}",
            moved(name)
        );
    }
    assert_eq!(
        sample(&after, "chatapp_websockets_open"),
        Some(1.0),
        "{after}"
    );
    assert!(
        sample(&after, r#"chatapp_db_pool_connections{state="idle"}"#).is_some(),
        "{after}"
    );
    assert!(
        sample(&after, "chatapp_db_pool_max_connections").is_some_and(|max| max >= 1.0),
        "{after}"
    );
    assert!(
        sample(&after, "chatapp_password_hashes_in_flight").is_some(),
        "{after}"
    );
    assert!(
        sample(&after, "process_cpu_seconds_total").is_some(),
        "{after}"
    );
}
