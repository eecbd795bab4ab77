//! Password reset tokens: only a SHA-256 of each token is stored, so a copy
//! of the database cannot be used to reset anyone's password.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(PasswordResets::Table)
            .if_not_exists()
            .col(big_pk_auto(PasswordResets::Id))
            .col(big_integer(PasswordResets::UserId))
            // Hex SHA-256 of the token sent by e-mail.
            .col(string_len_uniq(PasswordResets::TokenHash, 64))
            .col(date_time(PasswordResets::CreatedAt))
            .col(date_time(PasswordResets::ExpiresAt))
            .col(date_time_null(PasswordResets::UsedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_password_resets_user")
                    .from(PasswordResets::Table, PasswordResets::UserId)
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
                    .name("idx_password_resets_user")
                    .table(PasswordResets::Table)
                    .col(PasswordResets::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PasswordResets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}
