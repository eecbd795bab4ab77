//! The durable per-user event stream, and idempotent sends.
//!
//! Every event a user must see gets the next number of that user's sequence
//! (`users.last_event_seq`), written in the same transaction as its cause. A
//! client that reconnects with the last number it applied replays from here.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;
use crate::m20261128_000002_create_messages::Messages;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(big_integer(Users::LastEventSeq).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(string_len_null(Messages::ClientId, 36))
                    .to_owned(),
            )
            .await?;
        // A retried send finds its first attempt; NULLs (no client id) never clash.
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_sender_client_id")
                    .table(Messages::Table)
                    .col(Messages::SenderId)
                    .col(Messages::ClientId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        let table = Table::create()
            .table(Events::Table)
            .if_not_exists()
            .col(big_pk_auto(Events::Id))
            .col(big_integer(Events::UserId))
            .col(big_integer(Events::Seq))
            .col(string_len(Events::Kind, 16))
            .col(big_integer_null(Events::MessageId))
            .col(date_time(Events::CreatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_events_user")
                    .from(Events::Table, Events::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_events_message")
                    .from(Events::Table, Events::MessageId)
                    .to(Messages::Table, Messages::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        manager
            .create_table(crate::with_mysql_table_options(manager, table))
            .await?;
        // Replay is one range scan: this user's events after a sequence number.
        manager
            .create_index(
                Index::create()
                    .name("idx_events_user_seq")
                    .table(Events::Table)
                    .col(Events::UserId)
                    .col(Events::Seq)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_message")
                    .table(Events::Table)
                    .col(Events::MessageId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_messages_sender_client_id")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::LastEventSeq)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    UserId,
    Seq,
    Kind,
    MessageId,
    CreatedAt,
}
