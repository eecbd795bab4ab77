//! Sessions used to be checked against a copy of the password hash, stored in
//! each session row. They are now checked against the account's session
//! epoch only, so the old rows (each holding a hash) are deleted: everyone
//! logs in once more after this upgrade, and no session row holds anything
//! derived from a password.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(Query::delete().from_table(Sessions::Table).to_owned())
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Nothing to restore: the deleted sessions are gone either way.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
}
