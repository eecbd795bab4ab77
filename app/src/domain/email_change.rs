//! Giving an account an e-mail address, at sign-up or in settings: the
//! address takes effect only when its owner opens the link sent to it. The
//! address is where password reset links go, so a typo must not lock its
//! user out, and nobody may claim an address they cannot read. Asking
//! answers the same whether or not another account has the address: that
//! account's owner is told instead, so neither sign-up nor settings can be
//! used to find out who has an account.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, SqlErr,
};

use super::entities::{email_change, user};
use super::mail::Email;
use super::{AppState, link_token};
use crate::error::AppError;

/// How long a confirmation link works.
pub const LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The address `user_id` asked to change to and has not confirmed yet.
pub async fn pending(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<String>, AppError> {
    Ok(email_change::Entity::find()
        .filter(email_change::Column::UserId.eq(user_id))
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
    void_pending(&state.db, account.id).await?;
    let (token, token_hash) = link_token::issue();
    let now = super::now();
    email_change::ActiveModel {
        user_id: Set(account.id),
        new_email: Set(new_email.clone()),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(now + LINK_LIFETIME),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let job_state = state.clone();
    let username = account.username.clone();
    let old_email = account.email.clone();
    state.jobs.enqueue(async move {
        if let Err(error) = send_mails(&job_state, username, old_email, new_email, token).await {
            tracing::error!(%error, "could not send an e-mail change's mails");
        }
    })
}

/// Ends any unconfirmed change of `user_id`'s address: a newer request
/// replaces it, and a new password voids it (it may have been asked for by
/// whoever knew the old one).
pub async fn void_pending(db: &impl ConnectionTrait, user_id: i64) -> Result<(), AppError> {
    email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(super::now()))
        .filter(email_change::Column::UserId.eq(user_id))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The link to the new address, or, when another account has it, a word to
/// that account's owner instead; and a notice to the old address, so an
/// owner whose password was stolen learns of it.
async fn send_mails(
    state: &AppState,
    username: String,
    old_email: Option<String>,
    new_email: String,
    token: String,
) -> Result<(), String> {
    let base = state.settings.public_url.trim_end_matches('/').to_owned();
    let has_owner = user::Entity::find()
        .filter(user::Column::Email.eq(new_email.clone()))
        .one(&state.db)
        .await
        .map_err(|error| error.to_string())?
        .is_some();
    let to_new = if has_owner {
        Email {
            to: new_email.clone(),
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
            to: new_email.clone(),
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
    state.mailer.send(to_new).await?;
    if let Some(old_email) = old_email {
        state
            .mailer
            .send(Email {
                to: old_email,
                subject: "Your ChatApp e-mail address is being changed".to_owned(),
                body: format!(
                    "Hello {username},\n\nSomeone logged in as you, with your password, asked \
                     to change your account's e-mail address to {new_email}. It changes once \
                     that address confirms it.\n\nIf it was you, there is nothing to do. If it \
                     was not, choose a new password at {base}/forgot-password: that also \
                     cancels the change.\n"
                ),
            })
            .await?;
    }
    Ok(())
}

/// Sets the address a valid, unused, unexpired `token` was sent to on its
/// account, and uses the token up. Returns the address.
pub async fn confirm(state: &AppState, token: &str) -> Result<String, AppError> {
    let invalid = || {
        AppError::invalid(
            "token",
            "This confirmation link is invalid, already used or expired. \
             Change your e-mail again in your settings to get a new one.",
        )
    };
    let row = email_change::Entity::find()
        .filter(email_change::Column::TokenHash.eq(link_token::hash(token)))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(Utc::now()))
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    // Claim it: of two racing uses, exactly one changes the row.
    let claimed = email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(super::now()))
        .filter(email_change::Column::Id.eq(row.id))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(&state.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    let changed = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(row.new_email.clone()))
        .filter(user::Column::Id.eq(row.user_id))
        .filter(user::Column::IsActive.eq(true))
        .exec(&state.db)
        .await
        .map_err(|error| {
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
    state.directory.evict(row.user_id).await;
    Ok(row.new_email)
}
