//! Messages between two users, indexed for the queries the app makes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Messages::Table)
            .if_not_exists()
            .col(big_pk_auto(Messages::Id))
            .col(big_integer(Messages::SenderId))
            .col(big_integer(Messages::RecipientId))
            // The conversation as an unordered pair (smaller id, larger id): both
            // directions of one conversation share one index range.
            .col(big_integer(Messages::PairLowId))
            .col(big_integer(Messages::PairHighId))
            .col(date_time(Messages::CreatedAt))
            .col(text(Messages::Body))
            // Foreign keys inline: SQLite cannot add them after the table exists.
            .foreign_key(
                ForeignKey::create()
                    .name("fk_messages_sender")
                    .from(Messages::Table, Messages::SenderId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_messages_recipient")
                    .from(Messages::Table, Messages::RecipientId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            )
            .to_owned();
        manager
            .create_table(crate::with_mysql_table_options(manager, table))
            .await?;

        // One conversation, newest first, keyset by id: a single range scan.
        create_index(
            manager,
            "idx_messages_pair_id",
            &[Messages::PairLowId, Messages::PairHighId, Messages::Id],
        )
        .await?;
        // Everything a user sent or received (two range scans, merged).
        create_index(
            manager,
            "idx_messages_sender_id",
            &[Messages::SenderId, Messages::Id],
        )
        .await?;
        create_index(
            manager,
            "idx_messages_recipient_id",
            &[Messages::RecipientId, Messages::Id],
        )
        .await?;
        // The original app's time index.
        create_index(manager, "idx_messages_created_at", &[Messages::CreatedAt]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await
    }
}

/// Separate `CREATE INDEX` statements: inline non-unique indexes break SQLite.
async fn create_index(
    manager: &SchemaManager<'_>,
    name: &str,
    columns: &[Messages],
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(Messages::Table).if_not_exists();
    for column in columns {
        index.col(*column);
    }
    manager.create_index(index.clone()).await
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum Messages {
    Table,
    Id,
    SenderId,
    RecipientId,
    PairLowId,
    PairHighId,
    CreatedAt,
    Body,
    ClientId,
    EditedAt,
    DeletedAt,
}
