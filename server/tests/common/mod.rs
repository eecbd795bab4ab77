//! A test harness that drives the real router on a real database: a fresh
//! SQLite file, or a fresh MariaDB database when `TEST_MARIADB_URL` is set.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod site;
pub mod socket;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use app::domain::{AppState, Settings, db};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tower::ServiceExt;

/// Which real database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MariaDb,
}

/// The app under test: its router and the state behind it.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub database_url: String,
    /// Every SQL statement the app has run, in order (to count queries).
    pub statements: Arc<Mutex<Vec<String>>>,
}

/// The settings tests start from: the defaults, but no rate limits (a test
/// drives many accounts from one address); the limit tests set their own.
pub fn test_settings() -> Settings {
    Settings {
        rates: app::domain::limits::Rates::off(),
        ..Settings::default()
    }
}

impl TestApp {
    /// A fresh app on `backend`, or `None` when MariaDB is not configured (and
    /// not required).
    pub async fn on(backend: Backend) -> Option<Self> {
        Self::with_settings(backend, test_settings()).await
    }

    pub async fn with_settings(backend: Backend, settings: Settings) -> Option<Self> {
        let database_url = match backend {
            Backend::Sqlite => sqlite_url(),
            Backend::MariaDb => mariadb_url().await?,
        };
        Some(Self::open(&database_url, settings).await)
    }

    /// An app on an existing database, as after a server restart.
    pub async fn open(database_url: &str, settings: Settings) -> Self {
        // Errors the app logs show up in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,sqlx=error")
            .with_test_writer()
            .try_init();
        let mut db = db::connect_and_migrate(database_url, 5, db::DbTimeouts::default())
            .await
            .expect("database reachable");
        let mut writer_db = db::connect(database_url, 1, db::DbTimeouts::default())
            .await
            .expect("database reachable");
        let statements = Arc::new(Mutex::new(Vec::new()));
        for pool in [&mut db, &mut writer_db] {
            let log = Arc::clone(&statements);
            pool.set_metric_callback(move |info| {
                log.lock().unwrap().push(info.statement.sql.clone());
            });
        }
        let outbox = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("outbox")
            .join(unique_name());
        let mailer = app::domain::mail::Mailer::new(
            None,
            &outbox,
            "ChatApp <chatapp@localhost>",
            std::time::Duration::from_secs(10),
        )
        .expect("outbox mailer");
        let state = server::assemble_state(
            db,
            writer_db,
            settings,
            server::Runtime::single_node(),
            mailer,
            // The site's own files, as the build copies them (/favicon.svg).
            LeptosOptions::builder()
                .output_name("chatapp")
                .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../public"))
                .build(),
        );
        Self {
            router: server::app(state.clone()),
            state,
            database_url: database_url.to_owned(),
            statements,
        }
    }

    /// The statements run while `work` ran.
    pub async fn statements_during<F: Future<Output = ()>>(&self, work: F) -> Vec<String> {
        let start = self.statements.lock().unwrap().len();
        work.await;
        self.statements.lock().unwrap()[start..].to_vec()
    }

    /// A client without a session.
    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookie: None,
            peer: None,
        }
    }

    /// A client without a session, connecting from `ip`.
    pub fn client_from(&self, ip: &str) -> Client {
        Client {
            peer: Some(std::net::SocketAddr::new(ip.parse().unwrap(), 40_000)),
            ..self.client()
        }
    }

    /// A client logged in as a newly registered `username`.
    pub async fn user(&self, username: &str) -> Client {
        let mut client = self.client();
        let response = client
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({"username": username, "password": "correct horse"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        client
    }
}

impl TestApp {
    /// Another session of an existing `username` (registered by [`TestApp::user`]),
    /// as a second device would open it.
    pub async fn second_session(&self, username: &str) -> Client {
        let mut client = self.client();
        let response = client
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": "correct horse"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        client
    }
}

fn sqlite_url() -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-dbs");
    std::fs::create_dir_all(&dir).expect("test directory");
    let path = dir.join(format!("{}.db", unique_name()));
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A new, empty MariaDB database on the server at `TEST_MARIADB_URL`.
pub async fn mariadb_url() -> Option<String> {
    let Ok(server) = std::env::var("TEST_MARIADB_URL") else {
        assert!(
            std::env::var_os("CHATAPP_REQUIRE_MARIADB").is_none(),
            "CHATAPP_REQUIRE_MARIADB is set but TEST_MARIADB_URL is not"
        );
        eprintln!("TEST_MARIADB_URL unset: skipping the MariaDB run (make test sets it)");
        return None;
    };
    let server = server.trim_end_matches('/').to_owned();
    let name = unique_name();
    let admin = Database::connect(&server).await.expect("MariaDB reachable");
    admin
        .execute_unprepared(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await
        .expect("create test database");
    admin.close().await.ok();
    Some(format!("{server}/{name}"))
}

fn unique_name() -> String {
    format!("chatapp_test_{:016x}", rand::random::<u64>())
}

/// An HTTP client for the router that keeps its session cookie.
#[derive(Clone)]
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    /// The address the requests come from, as the listener would report
    /// it (none: as in-process requests have).
    pub peer: Option<std::net::SocketAddr>,
}

/// A response with its body read (as JSON when it is JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Client {
    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Method::GET, path, HeaderMap::new(), Body::empty())
            .await
    }

    /// A page load, as a browser navigation sends it.
    pub async fn get_page(&mut self, path: &str) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, "text/html".parse().unwrap());
        self.send(Method::GET, path, headers, Body::empty()).await
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        self.send(Method::POST, path, headers, Body::from(body.to_string()))
            .await
    }

    /// Any method with a JSON body.
    pub async fn send_json(&mut self, method: Method, path: &str, body: &Value) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        self.send(method, path, headers, Body::from(body.to_string()))
            .await
    }

    pub async fn post_raw(
        &mut self,
        path: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        self.send(Method::POST, path, headers, body.into()).await
    }

    /// Sends a message and returns its id.
    pub async fn send_message(&mut self, recipient: &str, body: &str) -> i64 {
        let response = self
            .post_json(
                "/api/v1/message/",
                &serde_json::json!({"recipient": recipient, "body": body}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["id"].as_i64().expect("message id")
    }

    /// Deletes this client's account (registered by [`TestApp::user`]).
    pub async fn delete_account(&mut self) {
        let response = self
            .send_json(
                Method::DELETE,
                "/api/v1/auth/account",
                &serde_json::json!({"current_password": "correct horse"}),
            )
            .await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.body);
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Body,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request = request.header(header::HOST, "chat.test");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let mut request = request.body(body).unwrap();
        if let Some(peer) = self.peer {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        self.remember_cookie(response.headers());
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    fn remember_cookie(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap().trim();
            if !pair.starts_with(&format!("{}=", server::SESSION_COOKIE)) {
                continue;
            }
            let removed = value.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = (!removed).then(|| pair.to_owned());
        }
    }
}

/// Runs each named `async fn(TestApp)` once on SQLite and once on MariaDB.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let app = $crate::common::TestApp::on($crate::common::Backend::Sqlite).await.unwrap();
                super::$name(app).await;
            }

            #[tokio::test]
            async fn mariadb() {
                if let Some(app) = $crate::common::TestApp::on($crate::common::Backend::MariaDb).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

/// The one value `sql` selects as `column` (for what the API does not show,
/// such as what is stored).
pub async fn query_value<T: sea_orm::TryGetable>(
    db: &sea_orm::DatabaseConnection,
    sql: &str,
    column: &str,
) -> T {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("no row from {sql}"))
    .try_get("", column)
    .unwrap()
}

/// Waits (up to 30 s) until the app's outbox holds at least `expected`
/// e-mails (they are sent in the background); returns them all, oldest
/// first.
pub async fn outbox(app: &TestApp, expected: usize) -> Vec<String> {
    wait_for_mail(app, &format!("{expected} e-mails"), |mails| {
        (mails.len() >= expected).then_some(mails)
    })
    .await
}

/// Waits (up to 30 s) for an e-mail to `to` whose subject starts with
/// `subject`; returns the newest such mail.
pub async fn mail_to(app: &TestApp, to: &str, subject: &str) -> String {
    let what = format!("a mail to {to} about {subject:?}");
    wait_for_mail(app, &what, |mails| {
        mails.into_iter().rev().find(|mail| {
            mail.contains(&format!("To: {to}\r\n")) && mail.contains(&format!("Subject: {subject}"))
        })
    })
    .await
}

/// Reads the outbox (oldest first) until `found` picks something out of it.
async fn wait_for_mail<T>(
    app: &TestApp,
    what: &str,
    found: impl Fn(Vec<String>) -> Option<T>,
) -> T {
    let dir = app.state.mailer.outbox().expect("file outbox").to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // File names start with the time they were written, and the mailer
        // renames each file into place whole, so a file seen is complete.
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let mails = files
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect();
        if let Some(value) = found(mails) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited 30 s for {what} in {}",
            dir.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The token of the link to `route` (such as "/reset-password") in `mail`.
pub fn link_token(mail: &str, route: &str) -> String {
    let marker = format!("{route}?token=");
    let start = mail
        .find(&marker)
        .unwrap_or_else(|| panic!("no {route} link in {mail}"))
        + marker.len();
    mail[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

impl TestApp {
    /// Confirms `email` for the account that gave it, through the link
    /// mailed to it, as its owner would.
    pub async fn confirm_email(&self, email: &str) {
        let mail = mail_to(self, email, "Confirm your new ChatApp e-mail").await;
        let token = link_token(&mail, "/confirm-email");
        let confirmed = self
            .client()
            .post_json(
                "/api/v1/auth/email/confirm",
                &serde_json::json!({"token": token}),
            )
            .await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    }
}

/// Tries `attempt` until it succeeds, for up to [`socket::EVENT_WAIT`]; a
/// failure names what it waited for and the last thing that went wrong.
pub async fn wait_until(what: &str, mut attempt: impl AsyncFnMut() -> Result<(), String>) {
    let deadline = tokio::time::Instant::now() + socket::EVENT_WAIT;
    loop {
        match attempt().await {
            Ok(()) => return,
            Err(error) if tokio::time::Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(error) => panic!("waited {:?} for {what}; last: {error}", socket::EVENT_WAIT),
        }
    }
}
