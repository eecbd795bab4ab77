//! E-mail addresses are now lower-cased whole, non-ASCII letters too
//! (`JOSÉ@example.org` is stored and looked up as `josé@example.org`);
//! before, only ASCII letters were, so `josÉ@…` was stored as typed and
//! a reset asked for as `josé@…` found no account. This brings stored
//! addresses, and pending changes, into the new form, the same Rust
//! function the application uses (SQLite's LOWER folds ASCII only).
//!
//! Where another account already holds the folded form, the address is
//! left as it is: two accounts cannot share one, and neither owner loses
//! mail they receive today.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        fold(manager, "users", "email", true).await?;
        fold(manager, "email_changes", "new_email", false).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Lower-cased addresses stay valid for the older code, which
        // lower-cases only the ASCII letters of what it is given.
        Ok(())
    }
}

/// Lower-cases `column` of `table` where it has non-ASCII characters (the
/// only ones the older code left alone). `unique`: skip rows whose folded
/// form another row holds.
async fn fold(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    unique: bool,
) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    let db = manager.get_connection();
    // More bytes than characters: not ASCII. Few rows, found without
    // reading every address into the migration.
    let non_ascii = match backend {
        DatabaseBackend::MySql => format!("LENGTH({column}) <> CHAR_LENGTH({column})"),
        _ => format!("LENGTH(CAST({column} AS BLOB)) <> LENGTH({column})"),
    };
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT id, {column} FROM {table} \
                 WHERE {column} IS NOT NULL AND {non_ascii} ORDER BY id"
            ),
        ))
        .await?;
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let stored: String = row.try_get("", column)?;
        let folded = stored.to_lowercase();
        if folded == stored {
            continue;
        }
        if unique {
            let taken = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    format!("SELECT id FROM {table} WHERE {column} = ?"),
                    [folded.clone().into()],
                ))
                .await?;
            if taken.is_some() {
                continue;
            }
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("UPDATE {table} SET {column} = ? WHERE id = ?"),
            [folded.into(), id.into()],
        ))
        .await?;
    }
    Ok(())
}
