//! Real processes for the multi-node tests, and clients that count what they
//! receive.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;

use crate::common::socket::{Handshake, TestSocket};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A scratch directory for one test's processes and logs.
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cluster")
        .join(format!("{test}-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nothing listens on, on `ip`.
pub fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the tests must run (CI) rather than skip when a tool is missing.
fn required() -> bool {
    std::env::var_os("CHATAPP_REQUIRE_MARIADB").is_some()
}

/// `Some(path)` of an installed program; `None` (test skipped) when missing
/// and not required.
pub fn program(name: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists());
    assert!(
        found.is_some() || !required(),
        "{name} is required (make test installs it)"
    );
    if found.is_none() {
        eprintln!("{name} not installed: skipping");
    }
    found
}

/// How long a request to a node may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client whose every request gives up after [`REQUEST_TIMEOUT`], so
/// a hung node cannot stop a deadline from being checked.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// Polls `observe` until it answers `Ok`; after `timeout`, fails with the
/// last thing it saw.
pub async fn wait_for(
    what: &str,
    timeout: Duration,
    mut observe: impl AsyncFnMut() -> Result<(), String>,
) {
    let started = Instant::now();
    loop {
        let last = match observe().await {
            Ok(()) => return,
            Err(seen) => seen,
        };
        assert!(
            started.elapsed() < timeout,
            "{what} not ready in {timeout:?}; last saw: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `Ok` when `condition` holds, else `Err(seen)`.
fn check(condition: bool, seen: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(seen()) }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// One `server` process.
pub struct Node {
    pub address: String,
    child: Child,
    log: PathBuf,
}

impl Node {
    /// Starts a node on `127.0.0.<index>` and waits until it is ready and, if
    /// it has Redis, linked to the other nodes.
    pub async fn start(dir: &Path, index: u8, database_url: &str, redis_url: &str) -> Self {
        let node = Self::spawn(dir, index, database_url, redis_url);
        node.until_ready(index).await;
        node
    }

    /// Starts a node without waiting for it.
    pub fn spawn(dir: &Path, index: u8, database_url: &str, redis_url: &str) -> Self {
        Self::spawn_with(dir, index, database_url, redis_url, &[])
    }

    /// Starts a node with extra settings, and waits until it is ready.
    pub async fn start_with(
        dir: &Path,
        index: u8,
        database_url: &str,
        redis_url: &str,
        settings: &[(&str, &str)],
    ) -> Self {
        let node = Self::spawn_with(dir, index, database_url, redis_url, settings);
        node.until_ready(index).await;
        node
    }

    fn spawn_with(
        dir: &Path,
        index: u8,
        database_url: &str,
        redis_url: &str,
        settings: &[(&str, &str)],
    ) -> Self {
        let ip = format!("127.0.0.{index}");
        let address = format!("{ip}:{}", free_port(&ip));
        let log = dir.join(format!("node-{index}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env("DATABASE_MAX_CONNECTIONS", "8")
            .env("LEPTOS_SITE_ADDR", &address)
            .env("LEPTOS_OUTPUT_NAME", "chatapp")
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn,tower_http=warn")
            // Tests drive many accounts from a few loopback addresses, and
            // the limits live in the shared Redis across runs: off, unless a
            // test sets one.
            .envs(load::server::LIMITS_OFF.iter().copied())
            .envs(crate::common::site::stub(dir))
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            address,
            child,
            log,
        }
    }

    /// Waits until the node is ready and, if it has Redis, linked to the others.
    pub async fn until_ready(&self, index: u8) {
        let http = http_client();
        let url = self.url("/readyz");
        wait_for(
            &format!("node {index} (log: {})", self.log.display()),
            Duration::from_mins(1),
            async || match http.get(&url).send().await {
                Ok(response) => {
                    let body = response.json::<Value>().await.unwrap_or_default();
                    check(body["status"] == "ok", || body.to_string())
                }
                Err(error) => Err(error.to_string()),
            },
        )
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SIGKILL: no goodbye to its clients, no clean-up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private Redis that a test may stop and start again.
pub struct Redis {
    program: PathBuf,
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    pub async fn start(dir: &Path) -> Option<Self> {
        let mut redis = Self {
            program: program("redis-server")?,
            port: free_port("127.0.0.1"),
            dir: dir.to_owned(),
            child: None,
        };
        redis.resume().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (empty: it keeps nothing).
    pub async fn resume(&mut self) {
        let child = Command::new(&self.program)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let address = format!("127.0.0.1:{}", self.port);
        wait_for("redis", Duration::from_secs(30), async || {
            tokio::net::TcpStream::connect(&address)
                .await
                .map(drop)
                .map_err(|error| error.to_string())
        })
        .await;
    }

    /// Kills it outright, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.crash();
    }
}

/// A private MariaDB server that a test may stop and start again.
pub struct MariaDb {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl MariaDb {
    pub async fn start(dir: &Path) -> Option<Self> {
        let install = program("mariadb-install-db")?;
        program("mariadbd")?;
        let data = dir.join("mariadb");
        let status = Command::new(install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={}", whoami()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "mariadb-install-db failed");
        let mut server = Self {
            port: free_port("127.0.0.1"),
            dir: dir.to_owned(),
            child: None,
        };
        server.resume().await;
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    pub async fn resume(&mut self) {
        let data = self.dir.join("mariadb");
        let child = Command::new(program("mariadbd").unwrap())
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--user={}", whoami()))
            .args(["--bind-address=127.0.0.1", "--skip-log-bin"])
            .arg(format!("--port={}", self.port))
            .arg(format!(
                "--socket={}",
                self.dir.join("mariadb.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mariadb.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.join("mariadb.log").display()
            ))
            .args([
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--innodb-buffer-pool-size=64M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let url = self.url();
        wait_for("mariadb", Duration::from_mins(1), async || {
            sea_orm::Database::connect(&url)
                .await
                .map(drop)
                .map_err(|error| error.to_string())
        })
        .await;
    }

    /// A clean shutdown (SIGTERM), as a restart does.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        // Its files are large; the logs stay.
        let _ = std::fs::remove_dir_all(self.dir.join("mariadb"));
    }
}

fn whoami() -> String {
    let output = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// nginx in front of `nodes`, with `docs/nginx/chatapp.conf` as shipped
/// except for its `listen` line and upstream servers.
pub struct Nginx {
    pub address: String,
    child: Child,
}

impl Nginx {
    pub async fn start(dir: &Path, nodes: &[&Node]) -> Option<Self> {
        let program = program("nginx")?;
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/nginx/chatapp.conf"),
        )
        .unwrap();
        let port = free_port("127.0.0.1");
        let mut upstreams = String::new();
        for node in nodes {
            writeln!(
                upstreams,
                "    server {} max_fails=1 fail_timeout=5s;",
                node.address
            )
            .unwrap();
        }
        let mut config = String::new();
        let mut replaced_upstreams = false;
        for line in shipped.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("server 10.0.0.") {
                if !replaced_upstreams {
                    config.push_str(&upstreams);
                    replaced_upstreams = true;
                }
            } else if trimmed == "listen 80;" {
                writeln!(config, "    listen 127.0.0.1:{port};").unwrap();
            } else {
                config.push_str(line);
                config.push('\n');
            }
        }
        assert!(
            replaced_upstreams,
            "docs/nginx/chatapp.conf: upstream servers not found"
        );
        assert!(
            config.contains(&format!(":{port};")),
            "docs/nginx/chatapp.conf: listen not found"
        );

        let prefix = dir.join("nginx");
        std::fs::create_dir_all(&prefix).unwrap();
        std::fs::write(prefix.join("chatapp.conf"), config).unwrap();
        // Workers may run as nobody: keep their scratch space writable to all.
        let temp = prefix.join("temp");
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let main = format!(
            "worker_processes 1;\n\
             error_log {log} warn;\n\
             pid {pid};\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {temp}/body;\n\
               proxy_temp_path {temp}/proxy;\n\
               fastcgi_temp_path {temp}/fastcgi;\n\
               uwsgi_temp_path {temp}/uwsgi;\n\
               scgi_temp_path {temp}/scgi;\n\
               include {conf};\n\
             }}\n",
            log = prefix.join("error.log").display(),
            pid = prefix.join("nginx.pid").display(),
            temp = temp.display(),
            conf = prefix.join("chatapp.conf").display(),
        );
        std::fs::write(prefix.join("nginx.conf"), main).unwrap();
        let child = Command::new(program)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Self {
            address: format!("127.0.0.1:{port}"),
            child,
        };
        let http = http_client();
        let url = nginx.url("/healthz");
        wait_for("nginx", Duration::from_secs(30), async || {
            match http.get(&url).send().await {
                Ok(response) => check(response.status() == StatusCode::OK, || {
                    format!("{}", response.status())
                }),
                Err(error) => Err(error.to_string()),
            }
        })
        .await;
        Some(nginx)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// A user's HTTP session, usable against any node (the cookie is sent to
/// whichever address is asked, as a load balancer's single hostname would).
#[derive(Clone)]
pub struct User {
    pub cookie: String,
    http: reqwest::Client,
}

/// A response: status and JSON body (`Null` if not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl User {
    /// Registers `name` through `base` (a node's or nginx's URL).
    pub async fn register(base: &str, name: &str) -> Self {
        let http = http_client();
        let response = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": name, "password": "correct horse"}))
            .send()
            .await
            .unwrap_or_else(|error| panic!("registering {name} at {base}: {error}"));
        assert_eq!(response.status(), StatusCode::CREATED, "registering {name}");
        Self {
            cookie: session_cookie(&response).expect("a session cookie"),
            http,
        }
    }

    pub async fn get(&self, url: &str) -> Result<Reply, reqwest::Error> {
        let response = self
            .http
            .get(url)
            .header("cookie", &self.cookie)
            .send()
            .await?;
        Ok(reply(response).await)
    }

    pub async fn post(&self, url: &str, body: &Value) -> Result<Reply, reqwest::Error> {
        let response = self
            .http
            .post(url)
            .header("cookie", &self.cookie)
            .json(body)
            .send()
            .await?;
        Ok(reply(response).await)
    }

    /// Sends a message through `base` as a browser does: with a client id,
    /// retrying (same id) on network errors, 502 and 503 until it is
    /// acknowledged. Returns the message id. A 500 fails the test: it would
    /// be a bug (a deadlock, say), not an outage.
    pub async fn send_until_acknowledged(&self, base: &str, to: &str, body: &str) -> i64 {
        let message = json!({
            "recipient": to,
            "body": body,
            "client_id": uuid::Uuid::new_v4().to_string(),
        });
        let started = Instant::now();
        loop {
            let last = match self
                .post(&format!("{base}/api/v1/message/"), &message)
                .await
            {
                Ok(reply) if reply.status.is_success() => {
                    return reply.body["id"].as_i64().expect("a message id");
                }
                Ok(reply)
                    if matches!(
                        reply.status,
                        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE
                    ) =>
                {
                    format!("{} {}", reply.status, reply.body)
                }
                Ok(reply) => panic!("send refused: {} {}", reply.status, reply.body),
                Err(error) => error.to_string(),
            };
            assert!(
                started.elapsed() < Duration::from_mins(1),
                "no acknowledgement for {body:?} in 60 s; last answer: {last}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .find(|pair| pair.starts_with(&format!("{}=", server::SESSION_COOKIE)))
}

/// What one tab saw of its user's event stream.
#[derive(Debug, Default)]
pub struct Seen {
    /// Message ids, in the order received.
    pub messages: Vec<i64>,
    /// Their sequence numbers, in the order received.
    pub seqs: Vec<i64>,
    /// How many times the tab had to reconnect.
    pub reconnects: usize,
    /// Anything unexpected: resyncs, unknown frames.
    pub oddities: Vec<String>,
}

/// A tab following `user`'s event stream through `addresses` (tried in turn),
/// resuming with `since` after every disconnect, until it has `expected`
/// messages or `timeout` passes.
pub fn follow(
    user: &User,
    addresses: Vec<String>,
    expected: usize,
    timeout: Duration,
    connected: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Seen> {
    let cookie = user.cookie.clone();
    tokio::spawn(async move {
        let mut seen = Seen::default();
        let mut since: Option<i64> = None;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut attempt = 0_usize;
        let mut first = true;
        while seen.messages.len() < expected && tokio::time::Instant::now() < deadline {
            let address = &addresses[attempt % addresses.len()];
            attempt += 1;
            let query = since.map_or(String::new(), |since| format!("?since={since}"));
            let mut request = format!("ws://{address}/ws{query}")
                .into_client_request()
                .unwrap();
            request
                .headers_mut()
                .insert("cookie", cookie.parse().unwrap());
            request.headers_mut().insert(
                "sec-websocket-protocol",
                app::wire::STREAM_PROTOCOL.parse().unwrap(),
            );
            let mut socket = match tokio::time::timeout(
                Duration::from_secs(10),
                tokio_tungstenite::connect_async(request),
            )
            .await
            {
                Ok(Ok((socket, _))) => socket,
                // A refusal with a status (401, say) is a bug, not an outage.
                Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response)))
                    if response.status() != StatusCode::BAD_GATEWAY
                        && response.status() != StatusCode::SERVICE_UNAVAILABLE =>
                {
                    seen.oddities
                        .push(format!("handshake refused: {}", response.status()));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                // Unreachable (a killed node) or too slow: try again.
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if first {
                first = false;
            } else {
                seen.reconnects += 1;
            }
            let mut counted = false;
            while seen.messages.len() < expected {
                let frame = match tokio::time::timeout_at(deadline, socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                    // Closed, reset, an error, or out of time: reconnect (or stop).
                    _ => break,
                };
                let frame: Value = serde_json::from_str(&frame).unwrap();
                let seq = frame["seq"].as_i64().unwrap_or(-1);
                match frame["type"].as_str() {
                    Some("ready") => {
                        since = Some(seq);
                        if !counted {
                            counted = true;
                            connected.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Some("message") => {
                        seen.seqs.push(seq);
                        seen.messages
                            .push(frame["message"].as_str().unwrap().parse().unwrap());
                        since = Some(seq);
                    }
                    _ => seen.oddities.push(frame.to_string()),
                }
            }
            if counted {
                connected.fetch_sub(1, Ordering::SeqCst);
            }
        }
        seen
    })
}

/// Waits until `count` followers are connected and past their replay.
pub async fn until_connected(connected: &AtomicUsize, count: usize) {
    wait_for(
        &format!("{count} followers"),
        Duration::from_mins(1),
        async || {
            let now = connected.load(Ordering::SeqCst);
            check(now >= count, || format!("{now} connected"))
        },
    )
    .await;
}

/// Asserts a tab got exactly `sent`, in order, with seqs 1, 2, 3…
pub fn assert_exactly_once_in_order(who: &str, seen: &Seen, sent: &[i64]) {
    let expected_seqs: Vec<i64> = (1..=i64::try_from(sent.len()).unwrap()).collect();
    assert!(seen.oddities.is_empty(), "{who}: {:?}", seen.oddities);
    assert_eq!(seen.seqs, expected_seqs, "{who}: sequence numbers");
    assert_eq!(seen.messages, sent, "{who}: messages");
}

/// A fresh database for a test on the shared MariaDB (`TEST_MARIADB_URL`).
pub async fn shared_mariadb_database() -> Option<String> {
    crate::common::mariadb_url().await
}

/// Opens `/ws` on `address` as `user` and reads past its `ready` frame. The
/// socket is read in the background, so it answers pings while the test
/// waits elsewhere.
pub async fn open_socket(name: &str, address: &str, user: &User) -> TestSocket {
    let address = address.parse().expect("a socket address");
    let handshake = Handshake {
        cookie: Some(&user.cookie),
        ..Handshake::default()
    };
    TestSocket::open_until_ready(name, address, &handshake)
        .await
        .unwrap_or_else(|error| panic!("{name}: handshake refused: {error}"))
        .0
}

/// The next frame of `kind`, skipping others (within the socket's generous
/// wait, which fails the test with what was seen).
pub async fn next_of(socket: &mut TestSocket, kind: &str) -> Value {
    loop {
        let frame = socket.next_frame(&format!("a {kind} frame")).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}
