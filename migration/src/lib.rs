//! ChatApp's database schema as SeaORM migrations.
//!
//! The same migrations run on SQLite (the embedded default) and on MySQL/MariaDB
//! (production). Released migrations are never edited: a change is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_users;
mod m20261128_000002_create_messages;
mod m20261128_000003_create_sessions;
mod m20261128_000004_create_events;
mod m20261128_000005_create_conversations;
mod m20261128_000006_create_password_resets;
mod m20261129_000007_backfill_event_data;
mod m20261129_000008_add_conversation_unread;
mod m20261129_000009_forget_sessions_holding_hashes;
mod m20261129_000010_fold_lookalike_usernames;
mod m20261129_000011_add_user_conversation_count;
mod m20261130_000012_create_email_changes;
mod m20261130_000013_compare_emails_exactly;
mod m20261130_000014_lower_case_whole_emails;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_users::Migration),
            Box::new(m20261128_000002_create_messages::Migration),
            Box::new(m20261128_000003_create_sessions::Migration),
            Box::new(m20261128_000004_create_events::Migration),
            Box::new(m20261128_000005_create_conversations::Migration),
            Box::new(m20261128_000006_create_password_resets::Migration),
            Box::new(m20261129_000007_backfill_event_data::Migration),
            Box::new(m20261129_000008_add_conversation_unread::Migration),
            Box::new(m20261129_000009_forget_sessions_holding_hashes::Migration),
            Box::new(m20261129_000010_fold_lookalike_usernames::Migration),
            Box::new(m20261129_000011_add_user_conversation_count::Migration),
            Box::new(m20261130_000012_create_email_changes::Migration),
            Box::new(m20261130_000013_compare_emails_exactly::Migration),
            Box::new(m20261130_000014_lower_case_whole_emails::Migration),
        ]
    }
}

/// On MySQL/MariaDB, pins the engine and a 4-byte UTF-8 charset so that emoji
/// round-trip whatever the server's defaults are. SQLite ignores both concepts.
pub(crate) fn with_mysql_table_options(
    manager: &SchemaManager,
    mut table: TableCreateStatement,
) -> TableCreateStatement {
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_unicode_ci");
    }
    table
}
