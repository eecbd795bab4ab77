//! `make bench`: every mode against the release binary, on SQLite and on
//! MariaDB, each on a fresh database; the results go into
//! `docs/performance.md` (between its result markers) and
//! `target/bench/results.json`.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::Serialize;

use crate::Result;
use crate::client::User;
use crate::measure::{Latencies, PeakRss, Percentiles, ProcessSample, load_average};
use crate::scenarios::{self, Crowd, IdleOutcome, Outcome};
use crate::server::{Database, Server, free_port};

#[derive(clap::Args)]
pub struct SuiteArgs {
    /// The server binary to run.
    #[arg(long, default_value = "target/release/server")]
    server: PathBuf,
    /// The MariaDB server to make fresh databases on (`mysql://root@host:port`).
    #[arg(long, env = "TEST_MARIADB_URL")]
    mariadb: Option<String>,
    /// Redis, for the two-node run.
    #[arg(long, env = "TEST_REDIS_URL")]
    redis: Option<String>,
    /// The document whose results section is rewritten.
    #[arg(long, default_value = "docs/performance.md")]
    out: PathBuf,
    /// The directory of the built site (for the wasm's size).
    #[arg(long, default_value = "target/site/pkg")]
    site_pkg: PathBuf,
    /// Seconds each timed run lasts.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Also open this many idle sockets on one node (50 000 is the goal).
    #[arg(long, default_value_t = 0)]
    many_sockets: usize,
    /// Where databases, logs and results go.
    #[arg(long, default_value = "target/bench")]
    work: PathBuf,
    /// Skip the SQLite run.
    #[arg(long)]
    skip_sqlite: bool,
}

/// Everything one backend measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendResults {
    pub backend: String,
    pub rss_start_mib: f64,
    pub rss_after_signups_mib: f64,
    pub closed: Option<ChatResult>,
    pub open_1000: Option<ChatResult>,
    pub overload: Option<OverloadResult>,
    pub storm: Option<StormResult>,
    pub idle: Option<IdleOutcome>,
    pub history: Option<HistoryResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatResult {
    pub rate: f64,
    pub delivered: u64,
    pub lost: u64,
    pub shed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub post: Percentiles,
    pub notify: Percentiles,
    pub get: Percentiles,
    pub cpu_us_per_message: f64,
    pub rss_end_mib: f64,
    pub rss_peak_mib: f64,
    pub load: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverloadResult {
    pub offered_rate: f64,
    pub chat: ChatResult,
    pub healthz: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct StormResult {
    pub rate: f64,
    pub logins: usize,
    pub login: Percentiles,
    pub logins_refused: u64,
    pub notify_before: Percentiles,
    pub notify_during: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryResult {
    pub send_empty: Percentiles,
    pub send_million: Percentiles,
    /// A user with one page's worth of conversations.
    pub list_page: Percentiles,
    pub list_thousand: Percentiles,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterResult {
    pub rate: f64,
    pub single_node_notify: Percentiles,
    pub cross_node_notify: Percentiles,
    pub lost: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub when: String,
    pub machine: String,
    pub backends: Vec<BackendResults>,
    pub cluster: Option<ClusterResult>,
    pub many_sockets: Option<IdleOutcome>,
    pub wasm_raw_kib: f64,
    pub wasm_brotli_kib: f64,
}

pub async fn run(args: SuiteArgs) -> Result<()> {
    std::fs::create_dir_all(&args.work)?;
    let mut results = Results {
        when: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        machine: machine(),
        ..Results::default()
    };
    (results.wasm_raw_kib, results.wasm_brotli_kib) = wasm_size(&args.site_pkg)?;
    let mut backends = Vec::new();
    if !args.skip_sqlite {
        backends.push(Database::Sqlite);
    }
    if let Some(url) = &args.mariadb {
        backends.push(Database::MariaDb(url.clone()));
    }
    for database in &backends {
        eprintln!("== {}", database.name());
        results.backends.push(backend(&args, database).await?);
    }
    if let (Some(mariadb), Some(redis)) = (&args.mariadb, &args.redis) {
        eprintln!("== two nodes");
        results.cluster = Some(cluster(&args, mariadb, redis).await?);
    }
    if args.many_sockets > 0 {
        eprintln!("== {} idle sockets", args.many_sockets);
        results.many_sockets = Some(many_sockets(&args).await?);
    }
    std::fs::write(
        args.work.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    write_results(&args.out, &render(&results))?;
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

async fn start(
    args: &SuiteArgs,
    database: &Database,
    name: &str,
    settings: &[(&str, String)],
) -> Result<Server> {
    let url = database.fresh_url(&args.work, name).await?;
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1")?);
    Server::start(
        &args.server,
        &address,
        &url,
        settings,
        args.work.join(format!("{name}.log")),
    )
    .await
}

fn chat_result(
    outcome: &Outcome,
    before: ProcessSample,
    after: ProcessSample,
    peak: &PeakRss,
) -> ChatResult {
    #[expect(clippy::cast_precision_loss, reason = "counts are small")]
    let cpu = before.cpu_seconds_until(after) / outcome.delivered.max(1) as f64 * 1e6;
    ChatResult {
        rate: (outcome.rate() * 10.0).round() / 10.0,
        delivered: outcome.delivered,
        lost: outcome.lost,
        shed: outcome.shed,
        failed: outcome.failed,
        skipped: outcome.skipped,
        post: outcome.post.summary(),
        notify: outcome.notify.summary(),
        get: outcome.get.summary(),
        cpu_us_per_message: cpu.round(),
        rss_end_mib: after.rss_mib(),
        rss_peak_mib: peak.peak_mib(),
        load: load_average(),
    }
}

/// Times `run` on a fresh crowd, reading the server's CPU and memory.
async fn timed<F: Future<Output = Outcome>>(name: &str, pid: u32, run: F) -> ChatResult {
    let peak = PeakRss::watch(pid, Duration::from_millis(100));
    let before = ProcessSample::of(pid);
    let outcome = run.await;
    let after = ProcessSample::of(pid);
    eprintln!(
        "{}",
        scenarios::describe(name, &outcome, Some((before, after)))
    );
    if !outcome.errors.is_empty() {
        eprintln!("  errors: {:?}", outcome.errors);
    }
    chat_result(&outcome, before, after, &peak)
}

async fn backend(args: &SuiteArgs, database: &Database) -> Result<BackendResults> {
    let tag = database.name().to_lowercase();
    let seconds = Duration::from_secs(args.seconds);
    let mut results = BackendResults {
        backend: database.name().to_owned(),
        ..BackendResults::default()
    };

    let server = start(args, database, &format!("{tag}_chat"), &[]).await?;
    results.rss_start_mib = ProcessSample::of(server.pid).rss_mib();
    let users = scenarios::sign_up(&server.base, "chat", 100).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    results.rss_after_signups_mib = ProcessSample::of(server.pid).rss_mib();
    let crowd = Arc::new(Crowd::follow(users.clone(), &server.base).await?);

    let closed = timed(
        "closed loop, 100 senders",
        server.pid,
        scenarios::closed_loop(&crowd, 100, seconds),
    )
    .await;
    let capacity = closed.rate;
    results.closed = Some(closed);
    results.open_1000 = Some(
        timed(
            "open loop, 1000/s",
            server.pid,
            scenarios::open_loop(&crowd, 1000.0, seconds, 50_000),
        )
        .await,
    );

    // Twice what the closed loop achieved, while /healthz is asked every 100 ms.
    let offered = (capacity * 2.0).max(200.0);
    let prober = tokio::spawn(probe_health(server.base.clone(), seconds));
    let chat = timed(
        &format!("overload, {offered:.0}/s offered"),
        server.pid,
        scenarios::open_loop(&crowd, offered, seconds, 50_000),
    )
    .await;
    let healthz = prober.await.unwrap_or_default().summary();
    eprintln!("  /healthz during overload: {healthz}");
    results.overload = Some(OverloadResult {
        offered_rate: offered.round(),
        chat,
        healthz,
    });

    results.storm = Some(storm(&server, &crowd, &users, seconds).await);
    drop(crowd);
    server.stop().await;

    let server = start(args, database, &format!("{tag}_idle"), &[]).await?;
    let people = scenarios::sign_up(&server.base, "idle", 200).await?;
    let idle = scenarios::idle_sockets(&server.base, server.pid, &people, 2000, &[]).await?;
    eprintln!("idle sockets: {idle:?}");
    results.idle = Some(idle);
    server.stop().await;

    let server = start(args, database, &format!("{tag}_history"), &[]).await?;
    results.history = Some(history(&server).await?);
    server.stop().await;
    Ok(results)
}

/// Chat at a steady rate; after a third of the run, 100 log-ins at once.
async fn storm(
    server: &Server,
    crowd: &Arc<Crowd>,
    users: &[User],
    seconds: Duration,
) -> StormResult {
    let rate = 300.0;
    let logins = 100;
    let storm_at = seconds / 3;
    let chat = scenarios::open_loop(crowd, rate, seconds, 50_000);
    let base = server.base.clone();
    let storm = async {
        tokio::time::sleep(storm_at).await;
        let started = Instant::now();
        let (latencies, refused, _failed) = scenarios::login_storm(&base, users, logins).await;
        (latencies, refused, started.elapsed())
    };
    let (outcome, (login, refused, took)) = tokio::join!(chat, storm);
    let result = StormResult {
        rate,
        logins,
        login: login.summary(),
        logins_refused: refused,
        notify_before: scenarios::window(&outcome, Duration::ZERO, storm_at),
        notify_during: scenarios::window(&outcome, storm_at, storm_at + took),
    };
    eprintln!(
        "log-in storm: {logins} log-ins ({} refused) took {took:?}, {}; chat notify before {}, during {}",
        result.logins_refused, result.login, result.notify_before, result.notify_during
    );
    result
}

/// Asks `/healthz` every 100 ms for `duration`; the answers' latencies.
async fn probe_health(base: String, duration: Duration) -> Latencies {
    let http = reqwest::Client::new();
    let mut latencies = Latencies::default();
    let until = Instant::now() + duration;
    while Instant::now() < until {
        let started = Instant::now();
        let answered = http
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        latencies.record(if answered.is_ok() {
            started.elapsed()
        } else {
            Duration::from_secs(10)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies
}

/// The cost of a send into a conversation of 1 000 000 messages (100 000
/// unread) against an empty one, and of a conversation-list page for a user
/// with 1 000 conversations against one with a single page of them.
/// Conversations on the list's first page (the API's default page size).
const LIST_PAGE: i64 = 30;

async fn history(server: &Server) -> Result<HistoryResult> {
    let users = scenarios::sign_up(&server.base, "hist", 4).await?;
    let [ann, ben, cat, dan] = [&users[0], &users[1], &users[2], &users[3]];
    let db = sea_orm::Database::connect(&server.database_url).await?;
    let id_of = async |name: &str| -> Result<i64> {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT id FROM users WHERE username_key = ?",
                [name.into()],
            ))
            .await?
            .ok_or("no such user")?;
        Ok(row.try_get::<i64>("", "id")?)
    };
    let (ann_id, ben_id, cat_id, dan_id) = (
        id_of(&ann.name).await?,
        id_of(&ben.name).await?,
        id_of(&cat.name).await?,
        id_of(&dan.name).await?,
    );
    eprintln!("seeding 1 000 000 messages and 1 000 conversations…");
    let seeding = Instant::now();
    seed_conversation(&db, ann_id, ben_id, 1_000_000, 100_000).await?;
    seed_peers(&db, dan_id, 1000, "peer").await?;
    // A full first page, so both lists answer the same number of rows.
    seed_peers(&db, cat_id, LIST_PAGE, "few").await?;
    eprintln!("seeded in {:?}", seeding.elapsed());
    db.close().await?;

    // Ben writes to Ann (100 000 unread there) and Cat to Dan (empty).
    let send = async |from: &User, to: &User| -> Result<Duration> {
        let started = Instant::now();
        from.send(&to.name, "one more").await?;
        Ok(started.elapsed())
    };
    let list = async |user: &User| -> Result<Duration> {
        let (status, took) = user.get("/api/v1/conversation/").await?;
        if status != 200 {
            return Err(format!("conversation list answered {status}").into());
        }
        Ok(took)
    };
    let (send_empty, send_million) =
        alternately(async || send(cat, dan).await, async || send(ben, ann).await).await?;
    // Cat has one page of conversations; Dan has 1 000.
    let (list_page, list_thousand) =
        alternately(async || list(cat).await, async || list(dan).await).await?;
    let result = HistoryResult {
        send_empty,
        send_million,
        list_page,
        list_thousand,
    };
    eprintln!("history: {result:?}");
    Ok(result)
}

/// Times `small` and `large` in turn (which goes first alternates), 200
/// times each after 20 unrecorded turns, so whatever else the machine does
/// meanwhile (the database settling after the seeding, another process)
/// weighs on both alike.
async fn alternately(
    small: impl AsyncFn() -> Result<Duration>,
    large: impl AsyncFn() -> Result<Duration>,
) -> Result<(Percentiles, Percentiles)> {
    const WARM_UP: usize = 20;
    const ROUNDS: usize = 200;
    let (mut small_latencies, mut large_latencies) = (Latencies::default(), Latencies::default());
    for round in 0..WARM_UP + ROUNDS {
        let (took_small, took_large) = if round % 2 == 0 {
            let took_small = small().await?;
            (took_small, large().await?)
        } else {
            let took_large = large().await?;
            (small().await?, took_large)
        };
        if round >= WARM_UP {
            small_latencies.record(took_small);
            large_latencies.record(took_large);
        }
    }
    Ok((small_latencies.summary(), large_latencies.summary()))
}

/// `count` messages between two users, the last `unread` of them from `other`
/// to `reader` and not yet read.
async fn seed_conversation(
    db: &sea_orm::DatabaseConnection,
    reader: i64,
    other: i64,
    count: i64,
    unread: i64,
) -> Result<()> {
    let (low, high) = (reader.min(other), reader.max(other));
    let read_part = count - unread;
    // Generated in the database: a counter from 1 to `count`.
    let rows = match db.get_database_backend() {
        DbBackend::MySql => format!(
            "SET STATEMENT max_recursive_iterations = {count} FOR \
             INSERT INTO messages (sender_id, recipient_id, pair_low_id, pair_high_id, created_at, body) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             SELECT IF(i <= {read_part} AND i % 2 = 0, {reader}, {other}), \
                    IF(i <= {read_part} AND i % 2 = 0, {other}, {reader}), {low}, {high}, NOW(), 'seeded' FROM n"
        ),
        _ => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO messages (sender_id, recipient_id, pair_low_id, pair_high_id, created_at, body) \
             SELECT CASE WHEN i <= {read_part} AND i % 2 = 0 THEN {reader} ELSE {other} END, \
                    CASE WHEN i <= {read_part} AND i % 2 = 0 THEN {other} ELSE {reader} END, \
                    {low}, {high}, CURRENT_TIMESTAMP, 'seeded' FROM n"
        ),
    };
    db.execute_unprepared(&rows).await?;
    let bounds = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT MIN(id) AS first, MAX(id) AS last FROM messages \
                 WHERE pair_low_id = {low} AND pair_high_id = {high}"
            ),
        ))
        .await?
        .ok_or("no messages seeded")?;
    let first: i64 = bounds.try_get("", "first")?;
    let last: i64 = bounds.try_get("", "last")?;
    let read_up_to = first + read_part - 1;
    for (user, peer, pointer) in [(reader, other, read_up_to), (other, reader, last)] {
        db.execute_unprepared(&format!(
            "INSERT INTO conversations (user_id, other_id, last_message_id, last_read_id) \
             VALUES ({user}, {peer}, {last}, {pointer})"
        ))
        .await?;
    }
    refresh_kept_counts(db).await
}

/// 1 000 users, each with one message to `user` and a conversation both ways.
async fn seed_peers(
    db: &sea_orm::DatabaseConnection,
    user: i64,
    count: i64,
    prefix: &str,
) -> Result<()> {
    let backend = db.get_database_backend();
    let counter = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"
    );
    let now = if backend == DbBackend::MySql {
        "NOW()"
    } else {
        "CURRENT_TIMESTAMP"
    };
    let concat = |a: &str, b: &str| {
        if backend == DbBackend::MySql {
            format!("CONCAT({a}, {b})")
        } else {
            format!("{a} || {b}")
        }
    };
    let name = concat(&format!("'{prefix}'"), "i");
    let insert_users = format!(
        "INSERT INTO users (username, username_key, password_hash, is_admin, is_active, created_at, \
                            last_event_seq, send_read_receipts, session_epoch) \
         SELECT {name}, {name}, 'x', 0, 1, {now}, 0, 1, 0 FROM n"
    );
    let insert_messages = format!(
        "INSERT INTO messages (sender_id, recipient_id, pair_low_id, pair_high_id, created_at, body) \
         SELECT u.id, {user}, CASE WHEN u.id < {user} THEN u.id ELSE {user} END, \
                CASE WHEN u.id < {user} THEN {user} ELSE u.id END, {now}, 'hello' \
         FROM users u WHERE u.username_key LIKE '{prefix}%'"
    );
    let conversations = |owner: &str, peer: &str| {
        format!(
            "INSERT INTO conversations (user_id, other_id, last_message_id, last_read_id) \
             SELECT {owner}, {peer}, m.id, 0 FROM messages m JOIN users u ON u.id = m.sender_id \
             WHERE u.username_key LIKE '{prefix}%' AND m.recipient_id = {user}"
        )
    };
    let with_counter = |insert: String| {
        if backend == DbBackend::MySql {
            // MySQL puts the WITH after the INSERT's column list.
            let (head, select) = insert.split_once("SELECT").unwrap_or((&insert, ""));
            format!(
                "SET STATEMENT max_recursive_iterations = {count} FOR {head}{counter} SELECT{select}"
            )
        } else {
            format!("{counter} {insert}")
        }
    };
    db.execute_unprepared(&with_counter(insert_users)).await?;
    db.execute_unprepared(&insert_messages).await?;
    db.execute_unprepared(&conversations(&user.to_string(), "m.sender_id"))
        .await?;
    db.execute_unprepared(&conversations("m.sender_id", &user.to_string()))
        .await?;
    refresh_kept_counts(db).await
}

/// Sets the counts the server keeps instead of counting (`conversations.unread`,
/// `users.conversation_count`) from their definitions, as the migrations
/// that brought them in do; a schema without one has nothing to set.
async fn refresh_kept_counts(db: &sea_orm::DatabaseConnection) -> Result<()> {
    let unread = "UPDATE conversations SET unread = (SELECT COUNT(*) FROM messages m \
         WHERE m.pair_low_id = CASE WHEN conversations.user_id < conversations.other_id \
                                    THEN conversations.user_id ELSE conversations.other_id END \
           AND m.pair_high_id = CASE WHEN conversations.user_id < conversations.other_id \
                                     THEN conversations.other_id ELSE conversations.user_id END \
           AND m.sender_id = conversations.other_id AND m.id > conversations.last_read_id \
           AND m.deleted_at IS NULL)";
    let conversation_count = "UPDATE users SET conversation_count = \
         (SELECT COUNT(*) FROM conversations c WHERE c.user_id = users.id)";
    for (column, update) in [
        ("unread", unread),
        ("conversation_count", conversation_count),
    ] {
        match db.execute_unprepared(update).await {
            Ok(_) => {}
            Err(error) if error.to_string().contains(column) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Two nodes on one MariaDB and Redis: senders write through node A, the
/// recipients' sockets are on node B; against the same rate on one node.
async fn cluster(args: &SuiteArgs, mariadb: &str, redis: &str) -> Result<ClusterResult> {
    let database = Database::MariaDb(mariadb.to_owned());
    let url = database.fresh_url(&args.work, "cluster").await?;
    let settings = [("REDIS_URL", redis.to_owned())];
    let mut nodes = Vec::new();
    for (n, ip) in ["127.0.0.1", "127.0.0.2"].into_iter().enumerate() {
        let address = format!("{ip}:{}", free_port(ip)?);
        let log = args.work.join(format!("cluster_{n}.log"));
        nodes.push(Server::start(&args.server, &address, &url, &settings, log).await?);
    }
    let rate = 300.0;
    let seconds = Duration::from_secs(args.seconds);
    let users = scenarios::sign_up(&nodes[0].base, "node", 100).await?;
    let single = {
        let crowd = Arc::new(Crowd::follow(users.clone(), &nodes[0].base).await?);
        scenarios::open_loop(&crowd, rate, seconds, 50_000).await
    };
    eprintln!("{}", scenarios::describe("one node", &single, None));
    let cross = {
        let crowd = Arc::new(Crowd::follow(users, &nodes[1].base).await?);
        scenarios::open_loop(&crowd, rate, seconds, 50_000).await
    };
    eprintln!("{}", scenarios::describe("across two nodes", &cross, None));
    for node in nodes {
        node.stop().await;
    }
    Ok(ClusterResult {
        rate,
        single_node_notify: single.notify.summary(),
        cross_node_notify: cross.notify.summary(),
        lost: single.lost + cross.lost,
    })
}

/// Many idle sockets on one SQLite node, from several source addresses.
async fn many_sockets(args: &SuiteArgs) -> Result<IdleOutcome> {
    let server = start(args, &Database::Sqlite, "many", &[]).await?;
    let users = scenarios::sign_up(&server.base, "many", 1000).await?;
    let ips: Vec<IpAddr> = (2..=9).map(|n| IpAddr::from([127, 0, 0, n])).collect();
    let idle =
        scenarios::idle_sockets(&server.base, server.pid, &users, args.many_sockets, &ips).await?;
    eprintln!("many sockets: {idle:?}");
    server.stop().await;
    Ok(idle)
}

fn wasm_size(pkg: &Path) -> Result<(f64, f64)> {
    let wasm = std::fs::read_dir(pkg)?
        .filter_map(std::result::Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .ok_or_else(|| format!("no .wasm in {}", pkg.display()))?;
    let bytes = std::fs::read(&wasm)?;
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut bytes.as_slice(), &mut compressed, &params)?;
    #[expect(clippy::cast_precision_loss, reason = "file sizes are small")]
    let kib = |n: usize| ((n as f64 / 1024.0) * 10.0).round() / 10.0;
    Ok((kib(bytes.len()), kib(compressed.len())))
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|name| name.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: u64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(kib / 1024 / 1024)
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {memory} GiB, {}",
        command_output("uname", &["-sr"])
    )
}

const BEGIN: &str = "<!-- results:begin (written by `make bench`) -->";
const END: &str = "<!-- results:end -->";

/// Replaces what is between the result markers of `path` (adds them at the
/// end the first time).
fn write_results(path: &Path, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{BEGIN}\n{section}{}", &text[..begin], &text[end..])
        }
        _ => format!("{text}\n{BEGIN}\n{section}{END}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}

fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Measured {} on {}.\n", results.when, results.machine);
    let header = results
        .backends
        .iter()
        .map(|backend| backend.backend.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    let _ = writeln!(out, "| | {header} | goal |");
    let _ = writeln!(out, "|---|{}---|", "---|".repeat(results.backends.len()));
    let row =
        |out: &mut String, name: &str, goal: &str, cell: &dyn Fn(&BackendResults) -> String| {
            let cells = results
                .backends
                .iter()
                .map(cell)
                .collect::<Vec<_>>()
                .join(" | ");
            let _ = writeln!(out, "| {name} | {cells} | {goal} |");
        };
    let closed = |b: &BackendResults| b.closed.clone();
    row(
        &mut out,
        "delivered msg/s, 100 senders (lost)",
        "≥ 2,500 SQLite, ≥ 1,500 MariaDB, 0 lost",
        &|b| closed(b).map_or("–".into(), |c| format!("{:.0} ({} lost)", c.rate, c.lost)),
    );
    row(
        &mut out,
        "POST → notified p99, 100 senders",
        "≤ 50 ms",
        &|b| closed(b).map_or("–".into(), |c| format!("{} ms", c.notify.p99)),
    );
    row(
        &mut out,
        "server CPU per delivered message",
        "≤ 250 µs",
        &|b| closed(b).map_or("–".into(), |c| format!("{} µs", c.cpu_us_per_message)),
    );
    row(
        &mut out,
        "open loop 1,000/s: delivered/s, notify p99",
        "holds, ≤ 20 ms",
        &|b| {
            b.open_1000.clone().map_or("–".into(), |c| {
                format!(
                    "{:.0}/s, {} ms ({} skipped)",
                    c.rate, c.notify.p99, c.skipped
                )
            })
        },
    );
    row(&mut out, "RSS after 100 sign-ups", "≤ 80 MB", &|b| {
        format!("{} MiB", b.rss_after_signups_mib)
    });
    row(
        &mut out,
        "RSS under 100 senders (peak)",
        "≤ 100 MB",
        &|b| closed(b).map_or("–".into(), |c| format!("{} MiB", c.rss_peak_mib)),
    );
    row(
        &mut out,
        "overload at 2× capacity: peak RSS, shed, /healthz p99",
        "bounded, 503 + Retry-After, ≤ 100 ms",
        &|b| {
            b.overload.clone().map_or("–".into(), |o| {
                format!(
                    "{} MiB, {} of {} shed, {} ms",
                    o.chat.rss_peak_mib,
                    o.chat.shed,
                    o.chat.delivered + o.chat.shed + o.chat.lost + o.chat.failed,
                    o.healthz.p99
                )
            })
        },
    );
    row(&mut out, "RSS per idle socket (2,000)", "≤ 8 KiB", &|b| {
        b.idle
            .clone()
            .map_or("–".into(), |i| format!("{} KiB", i.kib_per_socket))
    });
    row(
        &mut out,
        "log-in storm (100): chat notify p99 before → during",
        "≤ 50 ms",
        &|b| {
            b.storm.clone().map_or("–".into(), |s| {
                format!("{} → {} ms", s.notify_before.p99, s.notify_during.p99)
            })
        },
    );
    row(
        &mut out,
        "send p50: empty vs 1M messages (100k unread)",
        "within 20%",
        &|b| {
            b.history.clone().map_or("–".into(), |h| {
                format!("{} vs {} ms", h.send_empty.p50, h.send_million.p50)
            })
        },
    );
    row(
        &mut out,
        "conversation list p50: 30 vs 1,000 conversations",
        "within 20%",
        &|b| {
            b.history.clone().map_or("–".into(), |h| {
                format!("{} vs {} ms", h.list_page.p50, h.list_thousand.p50)
            })
        },
    );
    let _ = writeln!(out);
    if let Some(cluster) = &results.cluster {
        let _ = writeln!(
            out,
            "Two nodes with Redis (MariaDB), {:.0} msg/s: notify p99 {} ms on one node, {} ms across nodes (goal: within 1.5×); {} lost.\n",
            cluster.rate,
            cluster.single_node_notify.p99,
            cluster.cross_node_notify.p99,
            cluster.lost
        );
    }
    if let Some(many) = &results.many_sockets {
        let _ = writeln!(
            out,
            "{} idle sockets on one node: {} KiB each (RSS {} → {} MiB).\n",
            many.sockets, many.kib_per_socket, many.rss_before_mib, many.rss_after_mib
        );
    }
    let _ = writeln!(
        out,
        "Hydrate wasm: {} KiB raw, {} KiB brotli (quality 11) (goal: ≤ 150 KB brotli).\n",
        results.wasm_raw_kib, results.wasm_brotli_kib
    );
    let _ = writeln!(
        out,
        "Full figures: `target/bench/results.json` of the same run.\n"
    );
    out
}
