//! Login sessions, kept in the database so they survive restarts and are shared
//! by every server node.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Sessions::Table)
            .if_not_exists()
            // tower-sessions ids: 22 characters of URL-safe base64.
            .col(string_len(Sessions::Id, 64).primary_key())
            .col(text(Sessions::Data))
            .col(date_time(Sessions::ExpiresAt))
            .to_owned();
        manager
            .create_table(crate::with_mysql_table_options(manager, table))
            .await?;
        // The periodic clean-up deletes by expiry.
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_expires_at")
                    .if_not_exists()
                    .table(Sessions::Table)
                    .col(Sessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}
