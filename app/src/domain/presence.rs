//! Presence: who is online, away (their tabs are hidden) or offline, across
//! every node.
//!
//! Each node knows its own sockets. Alone, that is the answer. With Redis,
//! every node writes its users into a sorted set per user
//! (`chatapp:presence:{id}`, member `{node}:{status}`, score = expiry): one
//! writer task writes each change (coalesced per user) and refreshes every
//! entry every [`REFRESH`]; a node that dies stops refreshing, and its
//! entries expire within the TTL (a minute by default).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionManager;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::entities::user;
use super::redis_link::RedisLink;
use crate::wire::PresenceStatus;

/// How often a node re-announces its users to Redis.
pub const REFRESH: Duration = Duration::from_secs(20);
/// The default time a node's entries live without a refresh.
pub const DEFAULT_TTL: Duration = Duration::from_mins(1);

/// One user's sockets on this node.
#[derive(Debug, Default, Clone, Copy)]
struct Local {
    online: usize,
    away: usize,
}

impl Local {
    fn status(self) -> Option<PresenceStatus> {
        if self.online > 0 {
            Some(PresenceStatus::Online)
        } else if self.away > 0 {
            Some(PresenceStatus::Away)
        } else {
            None
        }
    }
}

/// What the node counts, and which users' counts Redis has yet to hear.
#[derive(Default)]
struct Counts {
    local: HashMap<i64, Local>,
    unwritten: HashSet<i64>,
}

/// Presence on this node, shared through Redis when there is one.
pub struct Presence {
    counts: Mutex<Counts>,
    /// Wakes the writer when `unwritten` gains a user.
    changed: Notify,
    redis: Option<Arc<RedisLink>>,
    ttl: Duration,
}

/// A socket's presence; dropping it takes the socket away.
pub struct SocketPresence {
    presence: Arc<Presence>,
    user_id: i64,
    away: bool,
}

impl Presence {
    /// Node-local presence (one node).
    pub fn in_process() -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::default(),
            changed: Notify::new(),
            redis: None,
            ttl: DEFAULT_TTL,
        })
    }

    /// Presence shared through `link`, written by a task of `tasks` until
    /// `shutdown` (when the node withdraws its entries).
    pub fn shared(
        link: Arc<RedisLink>,
        ttl: Duration,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Arc<Self> {
        let presence = Arc::new(Self {
            counts: Mutex::default(),
            changed: Notify::new(),
            redis: Some(link),
            ttl,
        });
        tasks.spawn(Arc::clone(&presence).write_to_redis(shutdown.clone()));
        presence
    }

    /// Registers a socket of `user_id`, online. Counted at once (the guard
    /// exists before any await, so an aborted socket still uncounts itself);
    /// Redis hears of it from the writer.
    pub fn connect(self: &Arc<Self>, user_id: i64) -> SocketPresence {
        self.change(user_id, |local| local.online += 1);
        SocketPresence {
            presence: Arc::clone(self),
            user_id,
            away: false,
        }
    }

    /// The status of each of `user_ids` (offline when unknown): this node's
    /// sockets, and the other nodes' entries while the node is linked.
    pub async fn statuses(&self, user_ids: &[i64]) -> HashMap<i64, PresenceStatus> {
        let mut statuses: HashMap<i64, PresenceStatus> = {
            let counts = self.lock();
            user_ids
                .iter()
                .map(|id| {
                    let status = counts
                        .local
                        .get(id)
                        .and_then(|entry| entry.status())
                        .unwrap_or(PresenceStatus::Offline);
                    (*id, status)
                })
                .collect()
        };
        let Some(link) = self.redis.as_ref().filter(|link| link.is_linked()) else {
            return statuses;
        };
        let now = now_ms();
        let mut pipe = redis::pipe();
        for id in user_ids {
            pipe.cmd("ZRANGEBYSCORE").arg(key(*id)).arg(now).arg("+inf");
        }
        let members: Vec<Vec<String>> = match pipe.query_async(&mut link.commands()).await {
            Ok(members) => members,
            Err(error) => {
                tracing::debug!(%error, "presence: Redis unreadable; answering from this node");
                return statuses;
            }
        };
        for (id, members) in user_ids.iter().zip(members) {
            let remote = if members.iter().any(|m| m.ends_with(":online")) {
                PresenceStatus::Online
            } else if members.iter().any(|m| m.ends_with(":away")) {
                PresenceStatus::Away
            } else {
                PresenceStatus::Offline
            };
            let entry = statuses.entry(*id).or_insert(PresenceStatus::Offline);
            *entry = (*entry).max(remote);
        }
        statuses
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Updates this node's count for `user_id` now, and marks it for the
    /// writer (which writes whatever the count is by then, so racing updates
    /// converge on the latest state).
    fn change(&self, user_id: i64, update: impl FnOnce(&mut Local)) {
        let mut counts = self.lock();
        let entry = counts.local.entry(user_id).or_default();
        update(entry);
        if entry.status().is_none() {
            counts.local.remove(&user_id);
        }
        if self.redis.is_some() && counts.unwritten.insert(user_id) {
            self.changed.notify_one();
        }
    }

    /// The writer: each change as it comes, every entry every [`REFRESH`];
    /// on shutdown, the node's entries withdrawn.
    async fn write_to_redis(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(link) = self.redis.clone() else {
            return;
        };
        let mut connection = link.commands();
        let mut refresh = tokio::time::interval(REFRESH.min(self.ttl / 3));
        loop {
            let users: Vec<i64> = tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.changed.notified() => self.lock().unwritten.drain().collect(),
                _ = refresh.tick() => {
                    // Everyone this node counts, and anyone who just left it.
                    let mut counts = self.lock();
                    let mut users: HashSet<i64> = counts.unwritten.drain().collect();
                    users.extend(counts.local.keys().copied());
                    users.into_iter().collect()
                }
            };
            let statuses: Vec<(i64, Option<PresenceStatus>)> = {
                let counts = self.lock();
                users
                    .into_iter()
                    .map(|id| (id, counts.local.get(&id).and_then(|entry| entry.status())))
                    .collect()
            };
            self.write(&link, &mut connection, &statuses).await;
        }
        let withdrawn: Vec<(i64, Option<PresenceStatus>)> =
            self.lock().local.keys().map(|id| (*id, None)).collect();
        self.write(&link, &mut connection, &withdrawn).await;
    }

    /// Writes these users' statuses from this node (`None`: removed), in one
    /// round trip.
    async fn write(
        &self,
        link: &RedisLink,
        connection: &mut ConnectionManager,
        statuses: &[(i64, Option<PresenceStatus>)],
    ) {
        if statuses.is_empty() {
            return;
        }
        let online = format!("{}:online", link.node());
        let away = format!("{}:away", link.node());
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let now = now_ms();
        let mut pipe = redis::pipe();
        for (user_id, status) in statuses {
            let key = key(*user_id);
            pipe.zrem(&key, &online).ignore();
            pipe.zrem(&key, &away).ignore();
            if let Some(status) = status {
                let member = if *status == PresenceStatus::Online {
                    &online
                } else {
                    &away
                };
                pipe.zadd(&key, member, now + ttl_ms).ignore();
                // Old entries of dead nodes go when anyone writes.
                pipe.zrembyscore(&key, "-inf", now).ignore();
                pipe.pexpire(&key, ttl_ms).ignore();
            }
        }
        if let Err(error) = pipe.query_async::<()>(connection).await {
            // The next refresh writes everything again.
            tracing::debug!(%error, "presence: cannot write to Redis");
        }
    }
}

impl SocketPresence {
    /// The socket's tab was hidden (`away`) or shown again.
    pub fn set_away(&mut self, away: bool) {
        if away == self.away {
            return;
        }
        self.away = away;
        self.presence.change(self.user_id, |local| {
            if away {
                local.online -= 1;
                local.away += 1;
            } else {
                local.away -= 1;
                local.online += 1;
            }
        });
    }
}

impl Drop for SocketPresence {
    fn drop(&mut self) {
        let away = self.away;
        self.presence.change(self.user_id, |local| {
            if away {
                local.away -= 1;
            } else {
                local.online -= 1;
            }
        });
    }
}

/// `{"alice": "online", "bob": "offline"}` for the usernames asked, spelled
/// as asked; unknown and deactivated users are offline.
pub async fn of_usernames(
    db: &impl ConnectionTrait,
    presence: &Presence,
    names: Vec<String>,
) -> Result<BTreeMap<String, PresenceStatus>, DbErr> {
    let keys: Vec<String> = names
        .iter()
        .map(|name| super::accounts::username_key(name))
        .collect();
    let found: Vec<(i64, String)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::UsernameKey])
        .filter(user::Column::UsernameKey.is_in(keys))
        .filter(user::Column::IsActive.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let statuses = presence.statuses(&ids).await;
    let by_key: HashMap<String, PresenceStatus> = found
        .into_iter()
        .map(|(id, key)| {
            let status = statuses
                .get(&id)
                .copied()
                .unwrap_or(PresenceStatus::Offline);
            (key, status)
        })
        .collect();
    Ok(names
        .into_iter()
        .map(|name| {
            let status = by_key
                .get(&super::accounts::username_key(&name))
                .copied()
                .unwrap_or(PresenceStatus::Offline);
            (name, status)
        })
        .collect())
}

fn key(user_id: i64) -> String {
    format!("chatapp:presence:{user_id}")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn online_beats_away_beats_offline_and_the_last_socket_counts() {
        let presence = Presence::in_process();
        let mut phone = presence.connect(1);
        let laptop = presence.connect(1);
        phone.set_away(true);
        let statuses = presence.statuses(&[1, 2]).await;
        assert_eq!(statuses[&1], PresenceStatus::Online);
        assert_eq!(statuses[&2], PresenceStatus::Offline);
        drop(laptop);
        assert_eq!(presence.statuses(&[1]).await[&1], PresenceStatus::Away);
        drop(phone);
        assert_eq!(presence.statuses(&[1]).await[&1], PresenceStatus::Offline);
    }
}
