//! The secrets in e-mailed links (password reset, e-mail confirmation):
//! 256 random bits, of which the database keeps only a SHA-256, so a copy of
//! it cannot be used to act on anyone's account. Rows of expired links are
//! swept, so neither table grows with every request ever made.

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use super::entities::{email_change, password_reset};

/// A new token for a link, and the hash to store for it.
pub fn issue() -> (String, String) {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of `token`, to look a link up by.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Deletes the rows of every link past its expiry (used or not: either
/// way it can no longer do anything); how many.
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let now = Utc::now();
    let resets = password_reset::Entity::delete_many()
        .filter(password_reset::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    let changes = email_change::Entity::delete_many()
        .filter(email_change::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(resets.rows_affected + changes.rows_affected)
}

/// Runs [`delete_expired`] every `period` until `shutdown` is cancelled.
pub async fn delete_expired_periodically(
    db: DatabaseConnection,
    period: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => match delete_expired(&db).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted expired e-mail links"),
                Err(error) => tracing::warn!(%error, "could not delete expired e-mail links"),
            },
        }
    }
}
