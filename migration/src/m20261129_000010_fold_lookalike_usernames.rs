//! Look-alike usernames: `john.smith`, `john_smith` and `JohnSmith` may no
//! longer all be registered. Each account gets `username_fold` (the name
//! without '.', '_', '-', lower-cased), unique together with
//! `username_fold_rank`. Accounts made from now on have rank 0, so a new
//! name that folds like an existing one is refused. Accounts that already
//! collided before this migration keep their names: all but the oldest of
//! each group get their own id as rank.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::UsernameFold).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::UsernameFoldRank)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Usernames are ASCII letters, digits, '.', '_' and '-', so SQL's
        // LOWER and REPLACE fold them exactly as the application does.
        db.execute_unprepared(
            "UPDATE users SET username_fold = \
             LOWER(REPLACE(REPLACE(REPLACE(username, '.', ''), '_', ''), '-', ''))",
        )
        .await?;
        // The derived table lets MySQL read the table it updates.
        db.execute_unprepared(
            "UPDATE users SET username_fold_rank = id WHERE id IN (\
               SELECT id FROM (\
                 SELECT later.id FROM users later JOIN users earlier \
                   ON earlier.username_fold = later.username_fold AND earlier.id < later.id\
               ) AS collided)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_username_fold")
                    .table(Users::Table)
                    .col(Users::UsernameFold)
                    .col(Users::UsernameFoldRank)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_username_fold")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Users::UsernameFold, Users::UsernameFoldRank] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    UsernameFold,
    UsernameFoldRank,
}
