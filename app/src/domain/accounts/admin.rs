//! Accounts as administrators see and change them (`server user …`).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, SqlErr,
};

use super::{find_by_username, normalize_email, register};
use crate::domain::entities::user;
use crate::error::AppError;
use crate::wire::Registration;

/// An account as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: i64,
    pub username: String,
    pub is_active: bool,
    pub is_admin: bool,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<user::Model> for AccountSummary {
    fn from(user: user::Model) -> Self {
        Self {
            id: user.id,
            username: user.username,
            is_active: user.is_active,
            is_admin: user.is_admin,
            last_login_at: user.last_login_at,
        }
    }
}

/// Every account, by username (for administrators).
pub async fn list_all(db: &DatabaseConnection) -> Result<Vec<AccountSummary>, DbErr> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::UsernameKey)
        .all(db)
        .await?
        .into_iter()
        .map(AccountSummary::from)
        .collect())
}

/// The account called `username` (any case), or a 404 that names it.
pub async fn named(db: &DatabaseConnection, username: &str) -> Result<AccountSummary, AppError> {
    find_by_username(db, username)
        .await?
        .map(AccountSummary::from)
        .ok_or(AppError::NotFound)
}

/// Creates an account as an administrator does (`admin`: with the rights).
pub async fn create(
    db: &DatabaseConnection,
    registration: Registration,
    admin: bool,
) -> Result<AccountSummary, AppError> {
    // An administrator may learn who has an address, and is trusted with
    // it: the address counts at once, with no confirmation link (sign-up
    // makes the account without it and sends one).
    if let Some(email) = registration.email.as_deref().map(normalize_email)
        && !email.is_empty()
        && user::Entity::find()
            .filter(user::Column::Email.eq(email))
            .one(db)
            .await?
            .is_some()
    {
        return Err(AppError::conflict(
            "email",
            "An account with this e-mail address already exists.",
        ));
    }
    let registered = register(db, registration).await?;
    let created = registered.user;
    if let Some(email) = registered.email {
        user::Entity::update_many()
            .col_expr(user::Column::Email, Expr::value(email))
            .filter(user::Column::Id.eq(created.id))
            .exec(db)
            .await
            .map_err(|error| {
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
                    AppError::conflict(
                        "email",
                        "An account with this e-mail address already exists.",
                    )
                } else {
                    AppError::from(error)
                }
            })?;
    }
    if admin {
        set_flag(db, created.id, user::Column::IsAdmin, true).await?;
    }
    Ok(AccountSummary {
        is_admin: admin,
        ..AccountSummary::from(created)
    })
}

/// Gives `username` the administrator's rights.
pub async fn make_admin(
    db: &DatabaseConnection,
    username: &str,
) -> Result<AccountSummary, AppError> {
    let account = named(db, username).await?;
    set_flag(db, account.id, user::Column::IsAdmin, true).await?;
    Ok(AccountSummary {
        is_admin: true,
        ..account
    })
}

/// Deactivates `username`: no log-in, every session ends (each request
/// re-reads the account, and a new epoch fails every session's check), and
/// hidden from the directory; the people they wrote to still read their
/// messages. Open sockets close when the caller announces the ending.
pub async fn deactivate(
    db: &DatabaseConnection,
    username: &str,
) -> Result<AccountSummary, AppError> {
    let account = named(db, username).await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::IsActive,
            sea_orm::sea_query::Expr::value(false),
        )
        .col_expr(
            user::Column::SessionEpoch,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(user::Column::SessionEpoch),
                1,
            ),
        )
        .filter(user::Column::Id.eq(account.id))
        .exec(db)
        .await?;
    Ok(AccountSummary {
        is_active: false,
        ..account
    })
}

/// Turns a flag of one account on or off.
async fn set_flag(
    db: &DatabaseConnection,
    user_id: i64,
    flag: user::Column,
    value: bool,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(flag, sea_orm::sea_query::Expr::value(value))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
