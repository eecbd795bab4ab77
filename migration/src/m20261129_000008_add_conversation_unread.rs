//! `conversations.unread`: each user's unread count per conversation, kept in
//! the same transaction as every write that changes it (a new message, a
//! deletion, a read), so neither a send nor the conversation list has to
//! count messages, however long the history. Existing rows are counted once,
//! here, by the definition: the other person's messages after the read
//! pointer that are not deleted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(big_integer(Conversations::Unread).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE conversations SET unread = (SELECT COUNT(*) FROM messages m \
                 WHERE m.pair_low_id = CASE WHEN conversations.user_id < conversations.other_id \
                                            THEN conversations.user_id ELSE conversations.other_id END \
                   AND m.pair_high_id = CASE WHEN conversations.user_id < conversations.other_id \
                                             THEN conversations.other_id ELSE conversations.user_id END \
                   AND m.sender_id = conversations.other_id \
                   AND m.id > conversations.last_read_id \
                   AND m.deleted_at IS NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::Unread)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Unread,
}
