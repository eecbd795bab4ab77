//! Sessions in the database, behind an in-process cache.
//!
//! tower-sessions has no SeaORM store, and the sqlx stores keep their own
//! schema and pool; this adapter keeps sessions in our migrated `sessions`
//! table on the one pool, on SQLite and MySQL alike.
//!
//! Each node caches sessions it has seen. A log-out on any node evicts the
//! session from every node's cache through the channel layer
//! ([`evict_ended_sessions`]); if that link was down, the whole cache is dropped
//! once it is back, and entries never outlive [`CACHE_TTL`] anyway.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr,
};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{CachingSessionStore, SessionStore as _};

use super::channel_layer::SessionEnding;
use super::entities::session;

/// How many sessions each node keeps in memory.
const CACHED_SESSIONS: u64 = 10_000;
/// The longest a cached session is trusted without reading the database: the
/// bound on staleness should every invalidation be lost.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_mins(5);

/// The session store the app uses: memory first, then the database.
pub type SessionStore = CachingSessionStore<SessionCache, DbSessionStore>;

/// Builds the cached, database-backed session store, and returns a handle on
/// its cache for eviction.
pub fn session_store(db: DatabaseConnection) -> (SessionStore, SessionCache) {
    let cache = SessionCache {
        cache: moka::future::Cache::builder()
            .max_capacity(CACHED_SESSIONS)
            .time_to_live(CACHE_TTL)
            .build(),
        ended: moka::future::Cache::builder()
            .max_capacity(CACHED_SESSIONS)
            .time_to_live(CACHE_TTL)
            .build(),
    };
    (
        CachingSessionStore::new(cache.clone(), DbSessionStore { db }),
        cache,
    )
}

/// This node's memory of recently used sessions (clones share one cache).
#[derive(Debug, Clone)]
pub struct SessionCache {
    cache: moka::future::Cache<Id, Record>,
    /// Sessions known to have ended, for as long as a cached copy could
    /// live: a request that read the row just before the log-out committed
    /// must not put it back in the cache afterwards.
    ended: moka::future::Cache<Id, ()>,
}

impl SessionCache {
    /// Forgets one session, or all of them.
    pub async fn evict(&self, ending: &SessionEnding) {
        match ending {
            SessionEnding::One(id) => {
                if let Ok(id) = id.parse::<Id>() {
                    self.ended.insert(id, ()).await;
                    self.cache.invalidate(&id).await;
                }
            }
            SessionEnding::Unknown => self.cache.invalidate_all(),
            // Each request re-reads the user and checks the session against
            // the new credentials: nothing cached to drop.
            SessionEnding::User { .. } => {}
            // The old id was deleted like a log-out.
            SessionEnding::Renamed { from, .. } => {
                if let Ok(id) = from.parse::<Id>() {
                    self.ended.insert(id, ()).await;
                    self.cache.invalidate(&id).await;
                }
            }
        }
    }

    async fn remember(&self, record: &Record) {
        if !self.ended.contains_key(&record.id) {
            self.cache.insert(record.id, record.clone()).await;
        }
    }
}

#[async_trait]
impl tower_sessions::SessionStore for SessionCache {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // The database store behind decides the final id; this only caches.
        self.remember(record).await;
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.remember(record).await;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .cache
            .get(session_id)
            .await
            .filter(|record| record.expiry_date > OffsetDateTime::now_utc()))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.cache.invalidate(session_id).await;
        Ok(())
    }
}

/// Evicts sessions from this node's cache, and their users from its
/// directory, as they end anywhere, until the layer closes or the node shuts
/// down.
pub async fn evict_ended_sessions(
    cache: SessionCache,
    directory: std::sync::Arc<super::directory::Directory>,
    mut endings: tokio::sync::broadcast::Receiver<SessionEnding>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let ending = tokio::select! {
            () = shutdown.cancelled() => return,
            ending = endings.recv() => ending,
        };
        let ending = match ending {
            Ok(ending) => ending,
            Err(RecvError::Lagged(_)) => SessionEnding::Unknown,
            Err(RecvError::Closed) => return,
        };
        match &ending {
            // A new password, a new epoch, a deactivation: what the
            // directory holds for that user is out of date.
            SessionEnding::User { user_id, .. } => directory.evict(*user_id).await,
            SessionEnding::Unknown => directory.evict_all(),
            SessionEnding::One(_) | SessionEnding::Renamed { .. } => {}
        }
        cache.evict(&ending).await;
    }
}

/// Session records in the `sessions` table.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

fn backend_error(error: &DbErr) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn to_row(record: &Record) -> session_store::Result<session::ActiveModel> {
    let data = serde_json::to_string(&record.data)
        .map_err(|error| session_store::Error::Encode(error.to_string()))?;
    Ok(session::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(data),
        expires_at: Set(to_chrono(record.expiry_date)),
    })
}

/// Whole seconds, rounded up: the database keeps no fractions (MySQL would
/// round), and a row must never expire before the cached copy does.
fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    let seconds = at.unix_timestamp() + i64::from(at.nanosecond() > 0);
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn to_offset(at: DateTime<Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[async_trait]
impl tower_sessions::SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A random 128-bit id collides about never; if it does, draw again
        // rather than overwrite someone else's session.
        loop {
            let row = to_row(record)?;
            match session::Entity::insert(row)
                .exec_without_returning(&self.db)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error)
                    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
                {
                    record.id = Id::default();
                }
                Err(error) => return Err(backend_error(&error)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let upsert = OnConflict::column(session::Column::Id)
            .update_columns([session::Column::Data, session::Column::ExpiresAt])
            .to_owned();
        session::Entity::insert(to_row(record)?)
            .on_conflict(upsert)
            .exec_without_returning(&self.db)
            .await
            .map_err(|error| backend_error(&error))?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = session::Entity::find_by_id(session_id.to_string())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(|error| backend_error(&error))?;
        let Some(row) = row else { return Ok(None) };
        let data: HashMap<String, serde_json::Value> = serde_json::from_str(&row.data)
            .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date: to_offset(row.expires_at),
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(session_id.to_string())
            .exec(&self.db)
            .await
            .map_err(|error| backend_error(&error))?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(|error| backend_error(&error))?;
        Ok(())
    }
}

/// Deletes expired sessions every `period` until `shutdown` is cancelled.
pub async fn delete_expired_sessions(
    db: DatabaseConnection,
    period: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let store = DbSessionStore { db };
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {
                if let Err(error) = store.delete_expired().await {
                    tracing::warn!(%error, "could not delete expired sessions");
                }
            }
        }
    }
}

/// Reads a session straight from the database, bypassing the cache (for tests
/// and diagnostics).
pub async fn load_uncached(
    db: &DatabaseConnection,
    session_id: &Id,
) -> session_store::Result<Option<Record>> {
    DbSessionStore { db: db.clone() }.load(session_id).await
}
