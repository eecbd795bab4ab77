//! A user's own account settings: e-mail, read receipts, password, and
//! ending their other sessions.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::AppState;
use super::auth::{self, AuthSession, SessionUser};
use super::entities::user;
use super::{accounts, email_change};
use crate::error::{AppError, FieldErrors};
use crate::wire::{AccountChanges, AccountSettings};

/// The settings page's current values.
pub async fn get(state: &AppState, user: &SessionUser) -> Result<AccountSettings, AppError> {
    let row = accounts::find_active_by_id(&state.db, user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(AccountSettings {
        pending_email: email_change::pending(&state.db, row.id).await?,
        username: row.username,
        email: row.email,
        send_read_receipts: row.send_read_receipts,
    })
}

/// Applies the changes given (absent fields stay as they are). A new
/// e-mail address waits for its confirmation link (`email_change`);
/// removing the address takes effect at once.
pub async fn update(
    state: &AppState,
    user: &SessionUser,
    changes: AccountChanges,
) -> Result<AccountSettings, AppError> {
    let mut update = user::Entity::update_many()
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::IsActive.eq(true));
    let mut anything = false;
    let current = accounts::find_active_by_id(&state.db, user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    // Compared in normal form: an address stored before it (one that
    // migration 14 could not fold) is still the same address.
    let current_email = current.email.as_deref().map(accounts::normalize_email);
    let email = changes
        .email
        .as_deref()
        .map(accounts::normalize_email)
        .filter(|email| Some(email) != current_email.as_ref())
        .filter(|email| !(email.is_empty() && current.email.is_none()));
    if let Some(email) = email {
        // Whoever controls the address can reset the password: prove it is
        // the owner changing it, not someone at an unlocked screen.
        check_current_password(
            state,
            user,
            changes.current_password.as_deref().unwrap_or_default(),
        )
        .await?;
        if email.is_empty() {
            update = update.col_expr(user::Column::Email, Expr::value(Option::<String>::None));
            anything = true;
            email_change::void_pending(&state.db, user.id).await?;
        } else {
            let problems = accounts::email_problems(&email);
            if !problems.is_empty() {
                let mut errors = FieldErrors::new();
                errors.insert("email".to_owned(), problems);
                return Err(AppError::Validation(errors));
            }
            email_change::request(state, &current, email).await?;
        }
    }
    if let Some(send) = changes.send_read_receipts {
        update = update.col_expr(user::Column::SendReadReceipts, Expr::value(send));
        anything = true;
    }
    if anything {
        update.exec(&state.db).await?;
    }
    get(state, user).await
}

/// Cancels the user's e-mail change waiting for its link (a typo, a change
/// of mind); the address that counts stays. The settings after.
pub async fn cancel_email_change(
    state: &AppState,
    user: &SessionUser,
) -> Result<AccountSettings, AppError> {
    email_change::void_pending(&state.db, user.id).await?;
    get(state, user).await
}

/// Changes the password after checking the current one. Every other
/// session ends; this one carries on.
pub async fn change_password(
    state: &AppState,
    session: &mut AuthSession,
    current_password: &str,
    new_password: String,
) -> Result<(), AppError> {
    let user = session.user.clone().ok_or(AppError::Unauthorized)?;
    check_current_password(state, &user, current_password).await?;
    accounts::set_password(&state.db, user.id, new_password)
        .await
        .map_err(|error| match error {
            AppError::Validation(mut fields) => {
                let problems = fields.remove("password").unwrap_or_default();
                let mut renamed = FieldErrors::new();
                renamed.insert("new_password".to_owned(), problems);
                AppError::Validation(renamed)
            }
            other => other,
        })?;
    state.directory.evict(user.id).await;
    stay_logged_in(state, session, user.id).await?;
    end_others_sockets(state, session, user.id);
    Ok(())
}

/// Checks the user's current password, throttled like log-ins so it cannot
/// be used to guess one.
pub(super) async fn check_current_password(
    state: &AppState,
    user: &SessionUser,
    password: &str,
) -> Result<(), AppError> {
    // Left empty is a form not filled in, not a wrong guess: no hash, no count.
    if password.is_empty() {
        return Err(AppError::invalid(
            "current_password",
            "Enter your current password.",
        ));
    }
    state
        .limits
        .log_in_per_account
        .check(&accounts::username_key(&user.username))
        .await?;
    let fits = accounts::credentials_within_bounds(&user.username, password).is_ok();
    if !fits
        || accounts::verify_credentials(&state.db, &user.username, password)
            .await?
            .is_none()
    {
        return Err(AppError::invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    Ok(())
}

/// Ends every session of the user but this one.
pub async fn end_other_sessions(
    state: &AppState,
    session: &mut AuthSession,
) -> Result<(), AppError> {
    let user = session.user.clone().ok_or(AppError::Unauthorized)?;
    user::Entity::update_many()
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .filter(user::Column::Id.eq(user.id))
        .exec(&state.db)
        .await?;
    state.directory.evict(user.id).await;
    stay_logged_in(state, session, user.id).await?;
    end_others_sockets(state, session, user.id);
    Ok(())
}

/// Closes the open sockets of the user's other sessions, on every node.
fn end_others_sockets(state: &AppState, session: &AuthSession, user_id: i64) {
    let current = session.session.id().map(|id| id.to_string());
    state
        .channels
        .end_user_sessions(user_id, current.as_deref());
}

/// Re-binds this session to the user's new credentials, so only the others
/// fail their next check.
async fn stay_logged_in(
    state: &AppState,
    session: &mut AuthSession,
    user_id: i64,
) -> Result<(), AppError> {
    let fresh = accounts::find_active_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    session.login(&SessionUser::from(fresh)).await?;
    // The id anyone may have learned before the change is worthless after;
    // this browser's sockets follow the session to its new id.
    let before = session.session.id();
    auth::rotate_id(session).await?;
    if let (Some(before), Some(after)) = (before, session.session.id()) {
        state
            .channels
            .rename_session(&before.to_string(), &after.to_string());
    }
    Ok(())
}
