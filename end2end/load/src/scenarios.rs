//! The load modes: closed loop, open loop (no coordinated omission), idle
//! sockets, a log-in storm beside ongoing chat, and the short smoke run the
//! test suite uses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::Result;
use crate::client::{Arrivals, Refused, User, follow, http_client};
use crate::measure::{Latencies, Percentiles, ProcessSample, load_average};

/// How long a sent message may take to be announced before it counts as lost.
const NOTIFY_DEADLINE: Duration = Duration::from_secs(15);
/// Sign-ups (each an Argon2 hash on the server) run this many at a time.
const SIGN_UP_CONCURRENCY: usize = 8;
/// Sockets opened at a time.
const OPEN_CONCURRENCY: usize = 256;

/// Users signed up for a run, each following their stream on one socket.
pub struct Crowd {
    pub users: Vec<User>,
    pub arrivals: Arc<Arrivals>,
    followers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Crowd {
    fn drop(&mut self) {
        for follower in &self.followers {
            follower.abort();
        }
    }
}

/// Signs up `count` users named `{prefix}{n}` at `base`.
pub async fn sign_up(base: &str, prefix: &str, count: usize) -> Result<Vec<User>> {
    let http = http_client();
    let users: Vec<Result<User>> = futures::stream::iter(0..count)
        .map(|n| {
            let http = http.clone();
            let name = format!("{prefix}{n}");
            async move { User::sign_up(&http, base, &name).await }
        })
        .buffered(SIGN_UP_CONCURRENCY)
        .collect()
        .await;
    users.into_iter().collect()
}

impl Crowd {
    /// Each user's socket on `stream_base` (their REST calls go where the
    /// user was made), all past `ready`.
    pub async fn follow(users: Vec<User>, stream_base: &str) -> Result<Self> {
        let arrivals = Arc::new(Arrivals::default());
        let followers: Vec<Result<tokio::task::JoinHandle<()>>> =
            futures::stream::iter(users.iter().enumerate())
                .map(|(index, user)| follow(user, index, stream_base, None, Arc::clone(&arrivals)))
                .buffered(OPEN_CONCURRENCY)
                .collect()
                .await;
        Ok(Self {
            followers: followers.into_iter().collect::<Result<_>>()?,
            users,
            arrivals,
        })
    }
}

/// What a chat run measured.
#[derive(Default)]
pub struct Outcome {
    /// Messages stored and announced to both people's sockets.
    pub delivered: u64,
    /// Stored, but some socket never announced them.
    pub lost: u64,
    /// Refused with 503 or 429: load shed, as it should be past capacity.
    pub shed: u64,
    /// Any other failure.
    pub failed: u64,
    /// Sends the open loop did not start (too many already in flight).
    pub skipped: u64,
    pub elapsed: Duration,
    pub post: Latencies,
    pub notify: Latencies,
    pub get: Latencies,
    /// (when it was due since the start, POST → notified) per delivered message.
    pub timeline: Vec<(Duration, Duration)>,
    pub errors: Vec<String>,
}

impl Outcome {
    fn absorb(&mut self, exchange: Exchange) {
        match exchange {
            Exchange::Delivered {
                due,
                post,
                notify,
                get,
            } => {
                self.delivered += 1;
                self.post.record(post);
                self.notify.record(notify);
                self.get.record(get);
                self.timeline.push((due, notify));
            }
            Exchange::Lost => self.lost += 1,
            Exchange::Shed => self.shed += 1,
            Exchange::Failed(error) => {
                self.failed += 1;
                if self.errors.len() < 5 {
                    self.errors.push(error);
                }
            }
        }
    }

    /// Delivered messages per second.
    pub fn rate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let delivered = self.delivered as f64;
        delivered / self.elapsed.as_secs_f64().max(0.001)
    }

    /// Notification latencies of messages due within `from..to` of the start.
    pub fn notify_between(&self, from: Duration, to: Duration) -> Latencies {
        let mut window = Latencies::default();
        for (due, notify) in &self.timeline {
            if (from..to).contains(due) {
                window.record(*notify);
            }
        }
        window
    }
}

/// One message's round: POST, both sockets announce it, the recipient GETs it.
enum Exchange {
    Delivered {
        due: Duration,
        post: Duration,
        notify: Duration,
        get: Duration,
    },
    Lost,
    Shed,
    Failed(String),
}

/// Sends one message from `sender` to `recipient`, timed from `due` (the
/// moment it was meant to start; `start` is the run's).
async fn exchange(
    crowd: &Crowd,
    sender: usize,
    recipient: usize,
    due: Instant,
    start: Instant,
) -> Exchange {
    let from = &crowd.users[sender];
    let to = &crowd.users[recipient];
    let sent = from
        .send(&to.name, "a message from the load generator")
        .await;
    let posted = Instant::now();
    let id = match sent {
        Ok(id) => id,
        Err(error) => {
            return match error.downcast_ref::<Refused>() {
                Some(Refused {
                    status: 503 | 429, ..
                }) => Exchange::Shed,
                _ => Exchange::Failed(error.to_string()),
            };
        }
    };
    let Some(notified) = crowd.arrivals.wait(recipient, id, NOTIFY_DEADLINE).await else {
        return Exchange::Lost;
    };
    // Every tab: the sender's own socket announces it too.
    if crowd
        .arrivals
        .wait(sender, id, NOTIFY_DEADLINE)
        .await
        .is_none()
    {
        return Exchange::Lost;
    }
    let fetching = Instant::now();
    if let Err(error) = to.fetch(id).await {
        return Exchange::Failed(format!("GET {id}: {error}"));
    }
    Exchange::Delivered {
        due: due.saturating_duration_since(start),
        post: posted.saturating_duration_since(due),
        notify: notified.saturating_duration_since(due),
        get: fetching.elapsed(),
    }
}

/// Closed loop: `senders` senders, each sending its next message when the
/// last one is delivered, for `duration`. Sender `k` is user `k` (mod the
/// crowd) writing to the next user.
pub async fn closed_loop(crowd: &Arc<Crowd>, senders: usize, duration: Duration) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let people = crowd.users.len();
    let mut tasks = JoinSet::new();
    for k in 0..senders {
        let crowd = Arc::clone(crowd);
        tasks.spawn(async move {
            let mut outcome = Outcome::default();
            while Instant::now() < deadline {
                let due = Instant::now();
                outcome.absorb(exchange(&crowd, k % people, (k + 1) % people, due, start).await);
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(outcome) = joined {
            merge(&mut total, outcome);
        }
    }
    total.elapsed = start.elapsed();
    total
}

/// Open loop: a message due every `1/rate` seconds for `duration`, each
/// timed from when it was due, however late it started (no coordinated
/// omission). Past `max_in_flight` unfinished ones, new ones are skipped.
pub async fn open_loop(
    crowd: &Arc<Crowd>,
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
) -> Outcome {
    let start = Instant::now();
    let people = crowd.users.len();
    let mut tasks = JoinSet::new();
    let mut total = Outcome::default();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut due = start;
    let mut k = 0_usize;
    while due < start + duration {
        tokio::time::sleep_until(due.into()).await;
        while let Some(joined) = tasks.try_join_next() {
            if let Ok(exchange) = joined {
                total.absorb(exchange);
            }
        }
        if tasks.len() >= max_in_flight {
            total.skipped += 1;
        } else {
            let crowd = Arc::clone(crowd);
            let (sender, recipient) = (k % people, (k + 1) % people);
            tasks.spawn(async move { exchange(&crowd, sender, recipient, due, start).await });
        }
        k += 1;
        due += interval;
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(exchange) = joined {
            total.absorb(exchange);
        }
    }
    total.elapsed = duration;
    total
}

fn merge(total: &mut Outcome, part: Outcome) {
    total.delivered += part.delivered;
    total.lost += part.lost;
    total.shed += part.shed;
    total.failed += part.failed;
    total.skipped += part.skipped;
    total.post.add(&part.post);
    total.notify.add(&part.notify);
    total.get.add(&part.get);
    total.timeline.extend(part.timeline);
    for error in part.errors {
        if total.errors.len() < 5 {
            total.errors.push(error);
        }
    }
}

/// What the idle-socket mode measured.
#[derive(Debug, Clone, Serialize)]
pub struct IdleOutcome {
    pub sockets: usize,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    /// The server's memory per open socket, over the second half of them.
    pub kib_per_socket: f64,
}

/// Opens `sockets` sockets spread over `users` (from `local_ips` in turn,
/// so tens of thousands do not run out of ports) and measures the server's
/// memory per socket once they are all live and have settled.
///
/// The figure is the growth over the second half: the first sockets fill
/// memory the allocator kept from the sign-ups, which would hide part of
/// their cost.
pub async fn idle_sockets(
    base: &str,
    pid: u32,
    users: &[User],
    sockets: usize,
    local_ips: &[IpAddr],
) -> Result<IdleOutcome> {
    let settle = || tokio::time::sleep(Duration::from_secs(3));
    let arrivals = Arc::new(Arrivals::default());
    let open = |range: std::ops::Range<usize>| {
        let arrivals = Arc::clone(&arrivals);
        futures::stream::iter(range)
            .map(move |n| {
                let user = &users[n % users.len()];
                let ip = (!local_ips.is_empty()).then(|| local_ips[n % local_ips.len()]);
                follow(user, n, base, ip, Arc::clone(&arrivals))
            })
            .buffer_unordered(OPEN_CONCURRENCY)
            .collect::<Vec<Result<tokio::task::JoinHandle<()>>>>()
    };
    settle().await;
    let before = ProcessSample::of(pid);
    let half = sockets / 2;
    let mut followers = open(0..half).await;
    settle().await;
    let halfway = ProcessSample::of(pid);
    followers.extend(open(half..sockets).await);
    settle().await;
    let after = ProcessSample::of(pid);
    let followers: Vec<_> = followers.into_iter().collect::<Result<_>>()?;
    for follower in &followers {
        follower.abort();
    }
    #[expect(clippy::cast_precision_loss, reason = "counts are small")]
    let per_socket =
        (after.rss_kib.saturating_sub(halfway.rss_kib)) as f64 / (sockets - half).max(1) as f64;
    Ok(IdleOutcome {
        sockets,
        rss_before_mib: before.rss_mib(),
        rss_after_mib: after.rss_mib(),
        kib_per_socket: (per_socket * 10.0).round() / 10.0,
    })
}

/// Logs `count` users in at once (new sessions); each log-in's latency and
/// how many were refused (503/429).
pub async fn login_storm(base: &str, users: &[User], count: usize) -> (Latencies, u64, u64) {
    let http = http_client();
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let http = http.clone();
        let base = base.to_owned();
        let name = users[n % users.len()].name.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            let result = User::log_in(&http, &base, &name).await;
            (
                started.elapsed(),
                result.err().map(|error| error.to_string()),
            )
        });
    }
    let mut latencies = Latencies::default();
    let (mut refused, mut failed) = (0, 0);
    while let Some(Ok((took, error))) = tasks.join_next().await {
        match error {
            None => latencies.record(took),
            Some(error) if error.starts_with("503") || error.starts_with("429") => refused += 1,
            Some(_) => failed += 1,
        }
    }
    (latencies, refused, failed)
}

/// A one-line account of a chat run.
pub fn describe(
    name: &str,
    outcome: &Outcome,
    cpu: Option<(ProcessSample, ProcessSample)>,
) -> String {
    let cpu_per_message = cpu.map_or(String::new(), |(before, after)| {
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let per = before.cpu_seconds_until(after) / outcome.delivered.max(1) as f64 * 1e6;
        format!(", server CPU {per:.0} µs/msg, RSS {} MiB", after.rss_mib())
    });
    format!(
        "{name}: {:.0} delivered/s ({} delivered, {} lost, {} shed, {} failed, {} skipped); POST {}; notify {}; GET {}{cpu_per_message}; load {}",
        outcome.rate(),
        outcome.delivered,
        outcome.lost,
        outcome.shed,
        outcome.failed,
        outcome.skipped,
        outcome.post.summary(),
        outcome.notify.summary(),
        outcome.get.summary(),
        load_average(),
    )
}

/// The smoke run the test suite makes against a running server: a few
/// seconds of each mode, at a low rate. Fails if anything is lost or fails.
pub async fn smoke(base: &str, pid: Option<u32>) -> Result<Vec<String>> {
    let prefix = format!("smoke{:x}", rand_suffix());
    let users = sign_up(base, &prefix, 4).await?;
    let crowd = Arc::new(Crowd::follow(users.clone(), base).await?);
    let mut report = Vec::new();
    let closed = closed_loop(&crowd, 4, Duration::from_secs(2)).await;
    report.push(describe("closed loop, 4 senders", &closed, None));
    let open = open_loop(&crowd, 50.0, Duration::from_secs(2), 1000).await;
    report.push(describe("open loop, 50/s", &open, None));
    for (name, outcome) in [("closed", &closed), ("open", &open)] {
        if outcome.delivered == 0 || outcome.lost + outcome.failed + outcome.skipped > 0 {
            return Err(format!(
                "{name} loop: {}; errors {:?}",
                describe(name, outcome, None),
                outcome.errors
            )
            .into());
        }
    }
    if let Some(pid) = pid {
        let idle = idle_sockets(base, pid, &users, 20, &[]).await?;
        report.push(format!("idle: {idle:?}"));
    }
    let (logins, refused, failed) = login_storm(base, &users, 4).await;
    if failed > 0 || logins.count() + refused != 4 {
        return Err(format!("log-in storm: {failed} failed").into());
    }
    report.push(format!("log-ins: {}", logins.summary()));
    Ok(report)
}

/// A few random bits, to keep runs' usernames apart.
fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    nanos ^ std::process::id()
}

/// Percentiles of a window, for reports.
pub fn window(outcome: &Outcome, from: Duration, to: Duration) -> Percentiles {
    outcome.notify_between(from, to).summary()
}
