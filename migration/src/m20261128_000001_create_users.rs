//! Accounts: who can log in, and how.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Users::Table)
            .if_not_exists()
            .col(big_pk_auto(Users::Id))
            // As typed by the user, for display.
            .col(string_len(Users::Username, 32))
            // Lower-cased: makes uniqueness case-insensitive on every backend.
            .col(string_len_uniq(Users::UsernameKey, 32))
            .col(string_len_null(Users::Email, 254).unique_key())
            .col(string_len(Users::PasswordHash, 255))
            .col(boolean(Users::IsAdmin).default(false))
            .col(boolean(Users::IsActive).default(true))
            .col(date_time(Users::CreatedAt))
            .col(date_time_null(Users::LastLoginAt))
            .to_owned();
        manager
            .create_table(crate::with_mysql_table_options(manager, table))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    Username,
    UsernameKey,
    Email,
    PasswordHash,
    IsAdmin,
    IsActive,
    CreatedAt,
    LastLoginAt,
    LastEventSeq,
    SendReadReceipts,
    SessionEpoch,
}
