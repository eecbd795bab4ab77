//! Accounts: registration rules, credential checks, and (in [`admin`])
//! what administrators do to them; passwords are hashed in [`passwords`].

mod admin;
mod passwords;

pub use admin::{AccountSummary, create, deactivate, list_all, make_admin, named};
pub use passwords::{
    HashingLimits, configure as configure_hashing, hash_password, in_flight as hashes_in_flight,
};
use passwords::{dummy_hash, run_hashing, verify_password};

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, SqlErr,
};

use super::entities::user;
use crate::error::{AppError, FieldErrors};
use crate::wire::Registration;

pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 32;
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Argon2 accepts more, but hashing megabytes is a denial-of-service lever.
pub const PASSWORD_MAX_CHARS: usize = 1024;
const EMAIL_MAX_CHARS: usize = 254;

/// The key usernames are unique by: lower case, so `Alice` and `alice` collide.
pub fn username_key(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// What look-alike usernames share: `john.smith`, `John_Smith` and
/// `johnsmith` fold to the same, and only one of them can be registered.
pub fn username_fold(username: &str) -> String {
    username
        .trim()
        .chars()
        .filter(|c| !matches!(c, '.' | '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Problems with a proposed username, empty when it is acceptable.
pub fn username_problems(username: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let length = username.chars().count();
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&length) {
        problems.push(format!(
            "Usernames are {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters long."
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        problems.push("Use only letters, digits, '.', '_' and '-'.".to_owned());
    }
    problems
}

/// Problems with a proposed password, empty when it is acceptable.
pub fn password_problems(password: &str) -> Vec<String> {
    let length = password.chars().count();
    if length < PASSWORD_MIN_CHARS {
        vec![format!(
            "Passwords must be at least {PASSWORD_MIN_CHARS} characters long."
        )]
    } else if length > PASSWORD_MAX_CHARS {
        vec![format!(
            "Passwords must be at most {PASSWORD_MAX_CHARS} characters long."
        )]
    } else {
        Vec::new()
    }
}

/// An e-mail address as stored and compared: trimmed and lower-cased,
/// non-ASCII letters too (`JOSÉ@…` is `josé@…`), because people type the
/// same address in different cases and every mail provider treats them
/// as one.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Problems with an e-mail address (a plausibility check; only a sent mail proves one).
pub fn email_problems(email: &str) -> Vec<String> {
    let plausible = email.len() <= EMAIL_MAX_CHARS
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if plausible {
        Vec::new()
    } else {
        vec!["Enter a valid e-mail address.".to_owned()]
    }
}

/// Creates an account, or says what is wrong with the request.
pub async fn register(
    db: &DatabaseConnection,
    registration: Registration,
) -> Result<Registered, AppError> {
    // Exactly as given: the forms trim what people type, the API takes
    // what it documents.
    let username = registration.username;
    let email = registration
        .email
        .as_deref()
        .map(normalize_email)
        .filter(|email| !email.is_empty());

    let mut errors = FieldErrors::new();
    for (field, problems) in [
        ("username", username_problems(&username)),
        ("password", password_problems(&registration.password)),
        (
            "email",
            email.as_deref().map(email_problems).unwrap_or_default(),
        ),
    ] {
        if !problems.is_empty() {
            errors.insert(field.to_owned(), problems);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    let password_hash = hash_password(registration.password).await?;
    let new_user = || user::ActiveModel {
        username_key: Set(username_key(&username)),
        username_fold: Set(Some(username_fold(&username))),
        username: Set(username.clone()),
        // An address counts once its owner confirms it (`email_change`).
        email: Set(None),
        password_hash: Set(password_hash.clone()),
        is_admin: Set(false),
        is_active: Set(true),
        created_at: Set(super::now()),
        last_login_at: Set(None),
        // Written out rather than left to the columns' defaults: SQLite's
        // RETURNING has been seen to hand back NULL for a default of a
        // column added by ALTER TABLE, which failed a sign-up with a 500.
        username_fold_rank: Set(0),
        last_event_seq: Set(0),
        send_read_receipts: Set(true),
        session_epoch: Set(0),
        conversation_count: Set(0),
        ..Default::default()
    };
    match new_user().insert(db).await {
        Ok(user) => Ok(Registered { user, email }),
        Err(error) => match taken_key(&error) {
            // The very name (in any case) is taken, not only one like it:
            // say the plainer thing, whichever index the database checked
            // first.
            Some(TakenKey::LookAlike) if find_by_username(db, &username).await?.is_some() => {
                Err(AppError::conflict("username", "This username is taken."))
            }
            _ => Err(registration_error(error)),
        },
    }
}

/// A new account, and the address it gave, to be confirmed.
#[derive(Debug)]
pub struct Registered {
    pub user: user::Model,
    pub email: Option<String>,
}

/// Which unique key an insert ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TakenKey {
    Email,
    Username,
    LookAlike,
}

fn taken_key(error: &sea_orm::DbErr) -> Option<TakenKey> {
    let Some(SqlErr::UniqueConstraintViolation(detail)) = error.sql_err() else {
        return None;
    };
    // MySQL: "Duplicate entry 'x' for key 'email'"; SQLite: "... failed: users.email".
    // Look only at the key's name: the duplicate value may contain "email" too.
    let key = detail
        .rsplit_once("for key")
        .map_or(detail.as_str(), |(_, key)| key);
    let key = key.to_ascii_lowercase();
    Some(if key.contains("email") {
        TakenKey::Email
    } else if key.contains("fold") {
        TakenKey::LookAlike
    } else {
        TakenKey::Username
    })
}

fn registration_error(error: sea_orm::DbErr) -> AppError {
    match taken_key(&error) {
        Some(TakenKey::Username) => AppError::conflict("username", "This username is taken."),
        Some(TakenKey::LookAlike) => AppError::conflict(
            "username",
            "This username is too like one that is taken ('.', '_', '-' and case do not count).",
        ),
        Some(TakenKey::Email) => AppError::Internal,
        None => AppError::from(error),
    }
}

/// Refuses (400) a username or password longer than any account can have,
/// before any lookup, throttle key or hash is spent on it.
pub fn credentials_within_bounds(username: &str, password: &str) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if username.trim().is_empty() {
        errors.insert(
            "username".to_owned(),
            vec!["Enter your username.".to_owned()],
        );
    } else if username.chars().count() > USERNAME_MAX_CHARS {
        errors.insert(
            "username".to_owned(),
            vec![format!(
                "Usernames are at most {USERNAME_MAX_CHARS} characters."
            )],
        );
    }
    if password.is_empty() {
        errors.insert(
            "password".to_owned(),
            vec!["Enter your password.".to_owned()],
        );
    } else if password.chars().count() > PASSWORD_MAX_CHARS {
        errors.insert(
            "password".to_owned(),
            vec![format!(
                "Passwords are at most {PASSWORD_MAX_CHARS} characters."
            )],
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The active user with these credentials, or `None`. Unknown users cost the
/// same hashing work as wrong passwords, so timing does not reveal which.
pub async fn verify_credentials(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
) -> Result<Option<user::Model>, AppError> {
    credentials_within_bounds(username, password)?;
    let user = user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username_key(username)))
        .filter(user::Column::IsActive.eq(true))
        .one(db)
        .await?;
    let hash = user.as_ref().map_or_else(
        || dummy_hash().to_owned(),
        |user| user.password_hash.clone(),
    );
    let password = password.to_owned();
    let matches = run_hashing(move || verify_password(&password, &hash)).await?;
    Ok(user.filter(|_| matches))
}

/// Records a successful log-in.
pub async fn record_login(db: &DatabaseConnection, user_id: i64) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::LastLoginAt,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An active user by id.
pub async fn find_active_by_id(
    db: &impl sea_orm::ConnectionTrait,
    user_id: i64,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(user_id)
        .filter(user::Column::IsActive.eq(true))
        .one(db)
        .await
}

/// A user by username, case-insensitively, active or not.
pub async fn find_by_username(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::UsernameKey.eq(username_key(username)))
        .one(db)
        .await
}

/// Sets a new password. Every existing session of the user ends at its next
/// request, on every node: sessions carry a hash of the password hash, and
/// each request re-reads the user.
pub async fn set_password(
    db: &DatabaseConnection,
    user_id: i64,
    new_password: String,
) -> Result<(), AppError> {
    let problems = password_problems(&new_password);
    if !problems.is_empty() {
        let mut errors = FieldErrors::new();
        errors.insert("password".to_owned(), problems);
        return Err(AppError::Validation(errors));
    }
    let hash = hash_password(new_password).await?;
    // A new epoch with the new password: every session of the account ends.
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(
            user::Column::SessionEpoch,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(user::Column::SessionEpoch),
                1,
            ),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    // A reset link sent before is for the old password: void it.
    super::password_reset::void_links(db, user_id).await?;
    // So may an e-mail change: whoever knew the old password may have asked.
    super::email_change::void_pending(db, user_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert!(username_problems("alice").is_empty());
        assert!(username_problems("a.b_c-9").is_empty());
        assert!(username_problems(&"x".repeat(32)).is_empty());
        assert_eq!(username_problems("ab").len(), 1);
        assert_eq!(username_problems(&"x".repeat(33)).len(), 1);
        assert_eq!(username_problems("al ice").len(), 1);
        assert_eq!(username_problems("ålice").len(), 1);
        assert_eq!(username_problems("<b>").len(), 1);
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert_eq!(password_problems("1234567").len(), 1);
        assert!(password_problems("12345678").is_empty());
    }

    #[test]
    fn emails_are_checked_for_plausibility() {
        assert!(email_problems("a@example.com").is_empty());
        assert_eq!(email_problems("a@b").len(), 1);
        assert_eq!(email_problems("@example.com").len(), 1);
        assert_eq!(email_problems("a b@example.com").len(), 1);
    }
}
