//! Message events stored before events carried their data (the first
//! release of the event stream) get it now: `{"type": "message", "message":
//! "<id>", "with": "<the other person>"}`, so every stored event reads as the
//! wire type, which names the other person. Their unread count was never
//! known and stays absent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Usernames are letters, digits, '.', '_' and '-': nothing to escape.
        let sql = match manager.get_database_backend() {
            DatabaseBackend::MySql => {
                "UPDATE events e \
                 JOIN messages m ON m.id = e.message_id \
                 JOIN users u ON u.id = IF(m.sender_id = e.user_id, m.recipient_id, m.sender_id) \
                 SET e.data = CONCAT('{\"type\":\"message\",\"message\":\"', e.message_id, \
                                     '\",\"with\":\"', u.username, '\"}') \
                 WHERE e.data IS NULL AND e.kind = 'message'"
            }
            _ => {
                "UPDATE events SET data = \
                   '{\"type\":\"message\",\"message\":\"' || message_id || '\",\"with\":\"' || \
                   (SELECT u.username FROM messages m JOIN users u \
                      ON u.id = CASE WHEN m.sender_id = events.user_id \
                                     THEN m.recipient_id ELSE m.sender_id END \
                    WHERE m.id = events.message_id) || '\"}' \
                 WHERE data IS NULL AND kind = 'message' AND message_id IS NOT NULL"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The filled-in data is correct for the earlier schema too.
        Ok(())
    }
}
