//! E-mail addresses compare byte for byte on MySQL/MariaDB, as on SQLite.
//! The tables' `utf8mb4_unicode_ci` made `josé@example.org` and
//! `jose@example.org` one address there: the second could never be
//! confirmed, and its owner would be told the first one's account had
//! tried to use "their" address. Addresses are stored lower-cased (ASCII),
//! so binary comparison loses nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_collation(manager, "utf8mb4_bin").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_collation(manager, "utf8mb4_unicode_ci").await
    }
}

async fn set_collation(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::MySql {
        // SQLite compares text byte for byte already.
        return Ok(());
    }
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        "ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE {collation} NULL"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "ALTER TABLE email_changes MODIFY new_email VARCHAR(254) CHARACTER SET utf8mb4 \
         COLLATE {collation} NOT NULL"
    ))
    .await?;
    Ok(())
}
