//! Presence: who is online, away (their tabs are hidden) or offline, across
//! every node.
//!
//! Each node knows its own sockets. Alone, that is the answer. With Redis,
//! every node writes its users into a sorted set per user
//! (`chatapp:presence:{id}`, member `{node}:{status}`, score = expiry) and
//! refreshes them every [`REFRESH`]; a node that dies stops refreshing, and
//! its entries expire within [`Presence::ttl`] (a minute by default).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::models::PresenceStatus;

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

/// Presence on this node, shared through Redis when there is one.
pub struct Presence {
    local: Arc<Mutex<HashMap<i64, Local>>>,
    redis: Option<RedisPresence>,
    ttl: Duration,
}

struct RedisPresence {
    client: redis::Client,
    node: String,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
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
            local: Arc::default(),
            redis: None,
            ttl: DEFAULT_TTL,
        })
    }

    /// Presence shared through Redis at `url`, refreshed until `shutdown`.
    pub fn redis(
        url: &str,
        ttl: Duration,
        shutdown: &CancellationToken,
    ) -> redis::RedisResult<Arc<Self>> {
        let presence = Arc::new(Self {
            local: Arc::default(),
            redis: Some(RedisPresence {
                client: redis::Client::open(url)?,
                node: uuid::Uuid::new_v4().simple().to_string(),
                connection: tokio::sync::Mutex::new(None),
            }),
            ttl,
        });
        let refreshing = Arc::clone(&presence);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH.min(ttl / 3));
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => refreshing.publish_all().await,
                }
            }
            refreshing.withdraw_all().await;
        });
        Ok(presence)
    }

    /// Registers a socket of `user_id`, online. Counted at once (the guard
    /// exists before any await, so an aborted socket still uncounts itself);
    /// Redis hears of it in the background.
    pub fn connect(self: &Arc<Self>, user_id: i64) -> SocketPresence {
        self.change(user_id, |local| local.online += 1);
        SocketPresence {
            presence: Arc::clone(self),
            user_id,
            away: false,
        }
    }

    /// The status of each of `user_ids` (offline when unknown).
    pub async fn statuses(&self, user_ids: &[i64]) -> HashMap<i64, PresenceStatus> {
        let mut statuses: HashMap<i64, PresenceStatus> = {
            let local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
            user_ids
                .iter()
                .map(|id| {
                    let status = local
                        .get(id)
                        .and_then(|entry| entry.status())
                        .unwrap_or(PresenceStatus::Offline);
                    (*id, status)
                })
                .collect()
        };
        let Some(redis) = &self.redis else {
            return statuses;
        };
        let now = now_ms();
        let mut guard = redis.connection.lock().await;
        let Some(connection) = redis.connected(&mut guard).await else {
            return statuses;
        };
        let mut pipe = redis::pipe();
        for id in user_ids {
            pipe.cmd("ZRANGEBYSCORE").arg(key(*id)).arg(now).arg("+inf");
        }
        let Ok(members): redis::RedisResult<Vec<Vec<String>>> = pipe.query_async(connection).await
        else {
            *guard = None;
            return statuses;
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

    /// Updates this node's count for `user_id` now, and tells Redis in the
    /// background what the count is by then (so racing updates converge on
    /// the latest state).
    fn change(self: &Arc<Self>, user_id: i64, update: impl FnOnce(&mut Local)) {
        {
            let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = local.entry(user_id).or_default();
            update(entry);
            if entry.status().is_none() {
                local.remove(&user_id);
            }
        }
        if self.redis.is_some() {
            let presence = Arc::clone(self);
            tokio::spawn(async move {
                let status = presence
                    .local
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&user_id)
                    .and_then(|entry| entry.status());
                presence.publish(user_id, status).await;
            });
        }
    }

    /// Writes one user's status from this node to Redis (or removes it).
    async fn publish(&self, user_id: i64, status: Option<PresenceStatus>) {
        let Some(redis) = &self.redis else { return };
        let mut guard = redis.connection.lock().await;
        let Some(connection) = redis.connected(&mut guard).await else {
            return;
        };
        let online = format!("{}:online", redis.node);
        let away = format!("{}:away", redis.node);
        let expiry = now_ms() + i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let mut pipe = redis::pipe();
        pipe.zrem(key(user_id), &online).ignore();
        pipe.zrem(key(user_id), &away).ignore();
        if let Some(status) = status {
            let member = if status == PresenceStatus::Online {
                &online
            } else {
                &away
            };
            pipe.zadd(key(user_id), member, expiry).ignore();
            // Old entries of dead nodes go when anyone writes.
            pipe.zrembyscore(key(user_id), "-inf", now_ms()).ignore();
            pipe.pexpire(
                key(user_id),
                i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX),
            )
            .ignore();
        }
        if pipe.query_async::<()>(connection).await.is_err() {
            *guard = None;
        }
    }

    async fn publish_all(&self) {
        let users: Vec<(i64, Option<PresenceStatus>)> = self
            .local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, local)| (*id, local.status()))
            .collect();
        for (user_id, status) in users {
            self.publish(user_id, status).await;
        }
    }

    async fn withdraw_all(&self) {
        let users: Vec<i64> = self
            .local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        for user_id in users {
            self.publish(user_id, None).await;
        }
    }
}

impl RedisPresence {
    async fn connected<'a>(
        &self,
        guard: &'a mut Option<redis::aio::MultiplexedConnection>,
    ) -> Option<&'a mut redis::aio::MultiplexedConnection> {
        if guard.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(2)));
            *guard = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .inspect_err(|error| tracing::debug!(%error, "presence: Redis unreachable"))
                .ok();
        }
        guard.as_mut()
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
