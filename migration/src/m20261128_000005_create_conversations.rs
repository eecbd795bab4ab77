//! Conversations with read pointers, edits and deletions, and free-form event
//! payloads.
//!
//! - `conversations`: one row per user and person they talk to, with the
//!   newest message and the user's read pointer (the last message id read).
//!   Unread counts are computed from the pointer, never kept as counters.
//! - `messages.edited_at` / `deleted_at`: a deleted message stays as a
//!   tombstone (its body emptied), so ids, pointers and previews stay valid.
//! - `users.send_read_receipts`: whether others see "seen" for this user.
//! - `users.session_epoch`: bumped to end all of a user's sessions at once.
//! - `events.data`: the event as JSON, so new kinds need no new columns.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;
use crate::m20261128_000002_create_messages::Messages;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (table, column) in [
            (
                Messages::Table.into_iden(),
                date_time_null(Messages::EditedAt),
            ),
            (
                Messages::Table.into_iden(),
                date_time_null(Messages::DeletedAt),
            ),
            (
                Users::Table.into_iden(),
                boolean(Users::SendReadReceipts).default(true).to_owned(),
            ),
            (
                Users::Table.into_iden(),
                big_integer(Users::SessionEpoch).default(0).to_owned(),
            ),
            (Events::Table.into_iden(), text_null(Events::Data)),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        let table = Table::create()
            .table(Conversations::Table)
            .if_not_exists()
            .col(big_pk_auto(Conversations::Id))
            .col(big_integer(Conversations::UserId))
            .col(big_integer(Conversations::OtherId))
            .col(big_integer(Conversations::LastMessageId))
            .col(big_integer(Conversations::LastReadId).default(0))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_conversations_user")
                    .from(Conversations::Table, Conversations::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_conversations_other")
                    .from(Conversations::Table, Conversations::OtherId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        manager
            .create_table(crate::with_mysql_table_options(manager, table))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_user_other")
                    .table(Conversations::Table)
                    .col(Conversations::UserId)
                    .col(Conversations::OtherId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // The list, most recent first: one range scan per user.
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_user_recent")
                    .table(Conversations::Table)
                    .col(Conversations::UserId)
                    .col(Conversations::LastMessageId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        // Existing history counts as read: nobody gets a wall of old badges.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO conversations (user_id, other_id, last_message_id, last_read_id) \
                 SELECT owner, other, MAX(id), MAX(id) FROM ( \
                   SELECT sender_id AS owner, recipient_id AS other, id FROM messages \
                   UNION ALL \
                   SELECT recipient_id AS owner, sender_id AS other, id FROM messages \
                 ) AS sides GROUP BY owner, other",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Conversations::Table).to_owned())
            .await?;
        for (table, column) in [
            (Messages::Table.into_iden(), Messages::EditedAt.into_iden()),
            (Messages::Table.into_iden(), Messages::DeletedAt.into_iden()),
            (
                Users::Table.into_iden(),
                Users::SendReadReceipts.into_iden(),
            ),
            (Users::Table.into_iden(), Users::SessionEpoch.into_iden()),
            (Events::Table.into_iden(), Events::Data.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    UserId,
    OtherId,
    LastMessageId,
    LastReadId,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Data,
}
