//! Forgotten passwords: a single-use, random (256-bit) link by e-mail, valid
//! for an hour, stored only as a hash. Asking never reveals whether an
//! account exists; using a link sets the password and ends every session.

use std::net::IpAddr;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::entities::{password_reset, user};
use super::limits::address_key;
use super::mail::Email;
use super::{AppState, accounts, link_token};
use crate::error::{AppError, FieldErrors};

/// How long a reset link works.
pub const LINK_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Sends a reset link to `email` if an active account has it. Answers at
/// once and the same either way: the lookup, the token and the e-mail all
/// happen later, on the job queue, so neither the answer nor its timing
/// tells an attacker whether the address is registered.
pub async fn request(state: &AppState, client: IpAddr, email: &str) -> Result<(), AppError> {
    let as_typed = email.trim().to_owned();
    let email = accounts::normalize_email(email);
    let problems = accounts::email_problems(&email);
    if !problems.is_empty() {
        let mut errors = FieldErrors::new();
        errors.insert("email".to_owned(), problems);
        return Err(AppError::Validation(errors));
    }
    // Per address too: nobody can flood someone's inbox, from any number
    // of addresses. Limited whether or not an account has it, so a 429
    // tells nothing either.
    state
        .limits
        .reset_per_ip
        .check(&address_key(client))
        .await?;
    state.limits.reset_per_address.check(&email).await?;
    let job_state = state.clone();
    state.jobs.enqueue(async move {
        if let Err(error) = send_link(&job_state, email, as_typed).await {
            tracing::error!(%error, "could not send a password reset link");
        }
    })
}

/// The address exactly `as_typed` first: one stored before addresses were
/// lower-cased whole, which migration 14 left as it was because another
/// account had its folded form, is found as its owner types it.
async fn send_link(state: &AppState, email: String, as_typed: String) -> Result<(), AppError> {
    let mut account = None;
    let candidates = if as_typed == email {
        vec![email]
    } else {
        vec![as_typed, email]
    };
    for address in candidates {
        account = user::Entity::find()
            .filter(user::Column::Email.eq(address))
            .filter(user::Column::IsActive.eq(true))
            .one(&state.db)
            .await?;
        if account.is_some() {
            break;
        }
    }
    let Some(account) = account else {
        return Ok(());
    };
    let Some(email) = account.email.clone() else {
        return Ok(());
    };
    let (token, token_hash) = link_token::issue();
    let now = super::now();
    password_reset::ActiveModel {
        user_id: Set(account.id),
        token_hash: Set(token_hash),
        created_at: Set(now),
        expires_at: Set(now + LINK_LIFETIME),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let link = format!(
        "{}/reset-password?token={token}",
        state.settings.public_url.trim_end_matches('/')
    );
    let message = Email {
        to: email,
        subject: "Reset your ChatApp password".to_owned(),
        body: format!(
            "Hello {name},\n\nSomeone (hopefully you) asked to reset the password of your ChatApp account.\n\
             Open this link within an hour to choose a new one:\n\n{link}\n\n\
             If it was not you, ignore this e-mail: your password stays as it is.\n",
            name = account.username
        ),
    };
    state.mailer.send(message).await.map_err(|error| {
        tracing::error!(%error, "could not send a password reset e-mail");
        AppError::Internal
    })
}

/// Uses up every reset link of `user_id` not used yet: a new password, or
/// an address taken back, makes them worthless.
pub async fn void_links(db: &impl ConnectionTrait, user_id: i64) -> Result<(), AppError> {
    password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::UsedAt,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(password_reset::Column::UserId.eq(user_id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Sets `new_password` for the account a valid, unused, unexpired `token`
/// belongs to, and uses the token up (with any others of that account).
pub async fn confirm(state: &AppState, token: &str, new_password: String) -> Result<(), AppError> {
    let invalid = || {
        AppError::invalid(
            "token",
            "This reset link is invalid, already used or expired. Ask for a new one.",
        )
    };
    let problems = accounts::password_problems(&new_password);
    if !problems.is_empty() {
        let mut errors = FieldErrors::new();
        errors.insert("new_password".to_owned(), problems);
        return Err(AppError::Validation(errors));
    }
    let now = Utc::now();
    let row = password_reset::Entity::find()
        .filter(password_reset::Column::TokenHash.eq(link_token::hash(token)))
        .filter(password_reset::Column::UsedAt.is_null())
        .filter(password_reset::Column::ExpiresAt.gt(now))
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    // Claim it: of two racing uses, exactly one changes the row.
    let claimed = password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::UsedAt,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(password_reset::Column::Id.eq(row.id))
        .filter(password_reset::Column::UsedAt.is_null())
        .exec(&state.db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    accounts::find_active_by_id(&state.db, row.user_id)
        .await?
        .ok_or_else(invalid)?;
    // This also voids any other link sent to the account.
    accounts::set_password(&state.db, row.user_id, new_password).await?;
    state.directory.evict(row.user_id).await;
    state.channels.end_user_sessions(row.user_id, None);
    Ok(())
}
