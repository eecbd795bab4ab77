//! This node's link to Redis, shared by the channel layer and presence: one
//! node identity, one command connection, and whether the node is linked.
//!
//! Commands go through a [`ConnectionManager`]: multiplexed (every caller
//! shares one connection, and none waits for another's round trip), cheap to
//! clone, and reconnecting by itself, so no lock is ever held across a call.
//! Pub/sub needs a connection of its own; the channel layer opens it from
//! [`RedisLink::client`] and reports through [`RedisLink::set_linked`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long connecting, or one command, may take before it counts as failed.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// See the module docs.
pub struct RedisLink {
    node: String,
    client: redis::Client,
    commands: ConnectionManager,
    linked: AtomicBool,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("node", &self.node)
            .field("linked", &self.is_linked())
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// A link to the Redis at `url`, with a fresh node identity. Connects
    /// lazily: only a malformed URL fails here, and an unreachable Redis is
    /// retried while the node serves its own users.
    pub fn new(url: &str) -> redis::RedisResult<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            // Fail fast while Redis is away; callers retry on their own terms.
            .set_number_of_retries(1);
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Arc::new(Self {
            node: uuid::Uuid::new_v4().simple().to_string(),
            client,
            commands,
            linked: AtomicBool::new(false),
        }))
    }

    /// This node's identity among the nodes sharing this Redis.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The connection for commands (a cheap clone of the shared one).
    pub fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// For connections of their own (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Whether the node is linked to the others (its subscription is up).
    pub fn is_linked(&self) -> bool {
        self.linked.load(Ordering::Relaxed)
    }

    pub(crate) fn set_linked(&self, linked: bool) {
        self.linked.store(linked, Ordering::Relaxed);
    }
}
