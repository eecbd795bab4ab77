//! E-mail changes waiting for their confirmation link: a new address takes
//! effect only once its owner opens the link sent to it. The old address
//! gets a link too, that undoes the change (`restores`). As with reset
//! links, only a SHA-256 of each token is stored.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(EmailChanges::Table)
            .if_not_exists()
            .col(big_pk_auto(EmailChanges::Id))
            .col(big_integer(EmailChanges::UserId))
            // The same bound as `users.email`.
            .col(string_len(EmailChanges::NewEmail, 254))
            // Hex SHA-256 of the token sent by e-mail.
            .col(string_len_uniq(EmailChanges::TokenHash, 64))
            .col(date_time(EmailChanges::CreatedAt))
            .col(date_time(EmailChanges::ExpiresAt))
            .col(date_time_null(EmailChanges::UsedAt))
            // Opening it puts `new_email` back and ends every session: the
            // old address's way to undo a change it did not ask for.
            .col(boolean(EmailChanges::Restores).default(false))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_email_changes_user")
                    .from(EmailChanges::Table, EmailChanges::UserId)
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
                    .name("idx_email_changes_user")
                    .table(EmailChanges::Table)
                    .col(EmailChanges::UserId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailChanges::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    Id,
    UserId,
    NewEmail,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    Restores,
}
