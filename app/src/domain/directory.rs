//! Users as the hot paths need them (every request's session check, every
//! send's recipient), from memory: a cache by id and by name in front of the
//! `users` table.
//!
//! Whatever changes what is cached (a new password, ended sessions,
//! deactivation) evicts the user here, and on other nodes through the
//! channel layer's session endings; entries never outlive [`TTL`] anyway,
//! which bounds how stale a node that missed an eviction can be.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use super::accounts::username_key;
use super::entities::user;

/// The longest an entry is trusted without reading the database: how long a
/// change made where no eviction can reach (the admin CLI without Redis)
/// takes to be noticed.
pub const TTL: Duration = Duration::from_secs(5);
/// Users kept in memory.
const CAPACITY: u64 = 100_000;

/// What the hot paths know of a user.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub is_active: bool,
    /// What sessions are checked against: changing it ends them all. Only
    /// the session epoch (bumped by a new password, "log out everywhere"),
    /// so no session row holds anything derived from the password.
    pub(crate) auth_hash: String,
}

impl std::fmt::Debug for UserRecord {
    // Hand-written so what sessions are checked against never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

impl From<user::Model> for UserRecord {
    fn from(user: user::Model) -> Self {
        Self {
            auth_hash: format!("epoch-{}", user.session_epoch),
            id: user.id,
            username: user.username,
            is_active: user.is_active,
        }
    }
}

/// The cache; cheap to share behind an `Arc`.
pub struct Directory {
    db: DatabaseConnection,
    by_id: moka::future::Cache<i64, Arc<UserRecord>>,
    /// Username key → id (ids never change; names never do either).
    ids: moka::future::Cache<String, i64>,
}

impl Directory {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            by_id: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
            ids: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .build(),
        }
    }

    /// The user with this id, active or not.
    pub async fn by_id(&self, id: i64) -> Result<Option<Arc<UserRecord>>, DbErr> {
        if let Some(record) = self.by_id.get(&id).await {
            return Ok(Some(record));
        }
        let Some(row) = user::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        Ok(Some(self.remember(row).await))
    }

    /// The user called `username` (any case), active or not.
    pub async fn by_name(&self, username: &str) -> Result<Option<Arc<UserRecord>>, DbErr> {
        let key = username_key(username);
        if let Some(id) = self.ids.get(&key).await {
            return self.by_id(id).await;
        }
        let Some(row) = user::Entity::find()
            .filter(user::Column::UsernameKey.eq(&key))
            .one(&self.db)
            .await?
        else {
            // Misses are not kept: the name may be taken a moment later.
            return Ok(None);
        };
        Ok(Some(self.remember(row).await))
    }

    /// The active user called `username`, if any.
    pub async fn active_by_name(&self, username: &str) -> Result<Option<Arc<UserRecord>>, DbErr> {
        Ok(self.by_name(username).await?.filter(|user| user.is_active))
    }

    async fn remember(&self, row: user::Model) -> Arc<UserRecord> {
        self.ids.insert(row.username_key.clone(), row.id).await;
        let record = Arc::new(UserRecord::from(row));
        self.by_id.insert(record.id, Arc::clone(&record)).await;
        record
    }

    /// Forgets `user_id`: the next lookup reads the database.
    pub async fn evict(&self, user_id: i64) {
        self.by_id.invalidate(&user_id).await;
    }

    /// Forgets everyone (evictions may have been missed).
    pub fn evict_all(&self) {
        self.by_id.invalidate_all();
    }
}
