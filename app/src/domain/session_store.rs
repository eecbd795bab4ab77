//! Sessions in the database, behind an in-process cache.
//!
//! tower-sessions has no SeaORM store, and the sqlx stores keep their own
//! schema and pool; this adapter keeps sessions in our migrated `sessions`
//! table on the one pool, on SQLite and MySQL alike.

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
use tower_sessions_moka_store::MokaStore;

use super::entities::session;

/// How many sessions each node keeps in memory.
const CACHED_SESSIONS: u64 = 10_000;

/// The session store the app uses: memory first, then the database.
pub type SessionStore = CachingSessionStore<MokaStore, DbSessionStore>;

/// Builds the cached, database-backed session store.
pub fn session_store(db: DatabaseConnection) -> SessionStore {
    CachingSessionStore::new(MokaStore::new(Some(CACHED_SESSIONS)), DbSessionStore { db })
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

fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
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
