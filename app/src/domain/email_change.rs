//! Giving an account an e-mail address, at sign-up or in settings: the
//! address takes effect only when its owner opens the link sent to it. The
//! address is where password reset links go, so a typo must not lock its
//! user out, and nobody may claim an address they cannot read. Asking
//! answers the same whether or not another account has the address: that
//! account's owner is told instead, so neither sign-up nor settings can be
//! used to find out who has an account.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, SqlErr, TransactionTrait,
};

use super::entities::{email_change, user};
use super::mail::Email;
use super::{AppState, link_token};
use crate::error::AppError;

/// How long a confirmation link works.
pub const LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How long the old address's link to undo a change works: long enough for
/// an owner who reads mail weekly.
pub const UNDO_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// The address `user_id` asked to change to and has not confirmed yet.
pub async fn pending(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<String>, AppError> {
    Ok(email_change::Entity::find()
        .filter(email_change::Column::UserId.eq(user_id))
        .filter(email_change::Column::Restores.eq(false))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(email_change::Column::Id)
        .one(db)
        .await?
        .map(|row| row.new_email))
}

/// Records `new_email` (valid, lower-cased, not the current address) as the
/// address `account` wants, replacing any earlier request, and mails the
/// link on the job queue. The caller has checked the password.
pub async fn request(
    state: &AppState,
    account: &user::Model,
    new_email: String,
) -> Result<(), AppError> {
    // Mail to one address is bounded, whoever asks for it: nobody can flood
    // someone's inbox through the settings page either.
    state.limits.reset_per_address.check(&new_email).await?;
    let (token, token_hash) = link_token::issue();
    let txn = state.db.begin().await?;
    void_pending(&txn, account.id).await?;
    let row = insert_link(&txn, account.id, &new_email, token_hash, false).await?;
    txn.commit().await?;
    let job_state = state.clone();
    let user_id = account.id;
    let username = account.username.clone();
    let old_email = account.email.clone();
    let queued = state.jobs.enqueue(async move {
        send_mails(&job_state, user_id, username, old_email, new_email, token).await;
    });
    if queued.is_err() {
        // No mail will go: the change must not show as waiting for one.
        email_change::Entity::delete_by_id(row.id)
            .exec(&state.db)
            .await?;
    }
    queued
}

async fn insert_link(
    db: &impl ConnectionTrait,
    user_id: i64,
    email: &str,
    token_hash: String,
    restores: bool,
) -> Result<email_change::Model, AppError> {
    let now = super::now();
    let lifetime = if restores {
        UNDO_LIFETIME
    } else {
        LINK_LIFETIME
    };
    Ok(email_change::ActiveModel {
        user_id: Set(user_id),
        new_email: Set(email.to_owned()),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        restores: Set(restores),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Ends any unconfirmed change of `user_id`'s address: a newer request
/// replaces it, and a new password voids it (it may have been asked for by
/// whoever knew the old one). The old address's undo links stay.
pub async fn void_pending(db: &impl ConnectionTrait, user_id: i64) -> Result<(), AppError> {
    email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(super::now()))
        .filter(email_change::Column::UserId.eq(user_id))
        .filter(email_change::Column::Restores.eq(false))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The notice (with its undo link) to the old address; then the link to the
/// new address, or, when another account has it, a word to that account's
/// owner instead. Each is sent even if the other fails.
async fn send_mails(
    state: &AppState,
    user_id: i64,
    username: String,
    old_email: Option<String>,
    new_email: String,
    token: String,
) {
    let base = state.settings.public_url.trim_end_matches('/').to_owned();
    if let Some(old_email) = old_email
        && let Err(error) =
            send_notice(state, user_id, &username, old_email, &new_email, &base).await
    {
        tracing::error!(%error, "could not tell the old address of an e-mail change");
    }
    if let Err(error) = send_link(state, &username, new_email, &token, &base).await {
        tracing::error!(%error, "could not send an e-mail confirmation link");
    }
}

async fn send_notice(
    state: &AppState,
    user_id: i64,
    username: &str,
    old_email: String,
    new_email: &str,
    base: &str,
) -> Result<(), String> {
    let (undo, undo_hash) = link_token::issue();
    insert_link(&state.db, user_id, &old_email, undo_hash, true)
        .await
        .map_err(|error| error.to_string())?;
    state
        .mailer
        .send(Email {
            to: old_email,
            subject: "Your ChatApp e-mail address is being changed".to_owned(),
            body: format!(
                "Hello {username},\n\nSomeone logged in as you, with your password, asked to \
                 change your account's e-mail address to {new_email}. It changes once that \
                 address confirms it.\n\nIf it was you, there is nothing to do.\n\n\
                 If it was not, someone knows your password. Open this link within 7 days to \
                 keep this address (or get it back) and log everyone out of your account:\n\n\
                 {base}/confirm-email?token={undo}\n\n\
                 Then choose a new password at {base}/forgot-password.\n"
            ),
        })
        .await
}

async fn send_link(
    state: &AppState,
    username: &str,
    new_email: String,
    token: &str,
    base: &str,
) -> Result<(), String> {
    let has_owner = user::Entity::find()
        .filter(user::Column::Email.eq(new_email.clone()))
        .one(&state.db)
        .await
        .map_err(|error| error.to_string())?
        .is_some();
    let message = if has_owner {
        Email {
            to: new_email,
            subject: "Someone tried to add your address to a ChatApp account".to_owned(),
            body: format!(
                "Hello,\n\nThe ChatApp account {username:?} (new, or changing its address) asked \
                 to use this e-mail address, which already belongs to your account. Nothing has \
                 changed.\n\n\
                 If it was you: your account with this address is still yours. Log in at \
                 {base}/login, or choose a new password at {base}/forgot-password.\n\n\
                 If it was not you, there is nothing to do.\n"
            ),
        }
    } else {
        Email {
            to: new_email,
            subject: "Confirm your new ChatApp e-mail address".to_owned(),
            body: format!(
                "Hello {username},\n\nYou asked to use this address for your ChatApp account. \
                 Open this link within a day to confirm it:\n\n\
                 {base}/confirm-email?token={token}\n\n\
                 Until then, your account keeps its old address. If it was not you, ignore \
                 this e-mail: nothing changes.\n"
            ),
        }
    };
    state.mailer.send(message).await
}

/// What a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The account's address now.
    pub email: String,
    /// It was an undo link: the old address is back, every session of the
    /// account has ended and reset links sent before are void.
    pub restored: bool,
}

/// Sets the address a valid, unused, unexpired `token` was sent to on its
/// account, and uses the token up. An undo link also voids pending changes
/// and reset links, and ends every session of the account.
pub async fn confirm(state: &AppState, token: &str) -> Result<Confirmed, AppError> {
    let invalid = || {
        AppError::invalid(
            "token",
            "This confirmation link is invalid, already used or expired. \
             Change your e-mail again in your settings to get a new one.",
        )
    };
    let txn = state.db.begin().await?;
    let row = email_change::Entity::find()
        .filter(email_change::Column::TokenHash.eq(link_token::hash(token)))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(Utc::now()))
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    // Claim it: of two racing uses, exactly one changes the row.
    let claimed = email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(super::now()))
        .filter(email_change::Column::Id.eq(row.id))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    let mut change = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(row.new_email.clone()))
        .filter(user::Column::Id.eq(row.user_id))
        .filter(user::Column::IsActive.eq(true));
    if row.restores {
        // Whoever made the change may be logged in, and may have asked for
        // resets at the address they gave: none of that carries on.
        change = change.col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        );
    }
    let changed = change.exec(&txn).await.map_err(|error| {
        // The link proves the address is the reader's, so saying that
        // another account has it (since the request) reveals nothing.
        if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            AppError::conflict("email", "Another account has this e-mail address.")
        } else {
            AppError::from(error)
        }
    })?;
    if changed.rows_affected != 1 {
        return Err(invalid());
    }
    if row.restores {
        void_pending(&txn, row.user_id).await?;
        super::password_reset::void_links(&txn, row.user_id).await?;
    }
    txn.commit().await?;
    state.directory.evict(row.user_id).await;
    if row.restores {
        state.channels.end_user_sessions(row.user_id, None);
    }
    Ok(Confirmed {
        email: row.new_email,
        restored: row.restores,
    })
}
