//! A user's own data: taking all of it away (export) and deleting the
//! account.
//!
//! Deleting keeps what the people they wrote to need to make sense of their
//! own history, and nothing more: every message the user sent becomes a
//! tombstone (an empty body, as a deleted message is), the messages others
//! sent them stay with their senders, and the username stays taken, so
//! nobody can sign up under it and seem to continue an old conversation.
//! Their e-mail address, password hash, conversations, events and
//! password-reset tokens are removed; every session and socket ends.

use futures::{Stream, StreamExt, stream};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::account_settings::check_current_password;
use super::auth::{self, AuthSession};
use super::entities::{conversation, email_change, event, message, password_reset, user};
use super::messages;
use super::stream::{Batch, NewEvent, Written, commit_with_events};
use super::{AppState, accounts};
use crate::error::AppError;
use crate::wire::{EXPORT_FORMAT, EventBody, ExportedAccount, ExportedConversation, Message};

/// Messages read per query while an export streams out.
const EXPORT_PAGE: u64 = 500;

/// The user's export, as JSON text in pieces (an [`crate::wire::AccountExport`]
/// once joined): the account and conversations are read first, so problems
/// there are a proper error; then the messages, a page at a time, so memory
/// stays flat however long the history. A database failure mid-way ends the
/// stream with that error (the download is then cut short, never wrong).
pub async fn export(
    state: &AppState,
    user_id: i64,
) -> Result<impl Stream<Item = Result<String, DbErr>> + Send + 'static, AppError> {
    state
        .limits
        .exports_per_user
        .check(&user_id.to_string())
        .await?;
    let account = accounts::find_active_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let conversations = exported_conversations(&state.db, user_id).await?;
    let head = format!(
        r#"{{"format":{},"exported_at":{},"account":{},"conversations":{},"messages":["#,
        json(&EXPORT_FORMAT)?,
        json(&super::now())?,
        json(&ExportedAccount {
            username: account.username,
            email: account.email,
            created_at: account.created_at,
            last_login_at: account.last_login_at,
            send_read_receipts: account.send_read_receipts,
        })?,
        json(&conversations)?,
    );
    let db = state.db.clone();
    let pages = stream::try_unfold(Some(0_i64), move |after| {
        let db = db.clone();
        async move {
            let Some(after) = after else {
                return Ok(None);
            };
            let page = messages::oldest_after(&db, user_id, after, EXPORT_PAGE).await?;
            let next = (page.len() as u64 == EXPORT_PAGE)
                .then(|| page.last().map(|newest| newest.id))
                .flatten();
            let text = messages_json(&page, after > 0)?;
            Ok(Some((text, next)))
        }
    });
    Ok(stream::once(async { Ok(head) })
        .chain(pages)
        .chain(stream::once(async { Ok("]}".to_owned()) })))
}

/// Deletes the user's account, once they confirm it is them with their
/// password: see the module docs for what goes and what stays. The people
/// they talked to get an `account_deleted` event each, and this session ends.
pub async fn delete_account(
    state: &AppState,
    session: &mut AuthSession,
    current_password: &str,
) -> Result<(), AppError> {
    let me = session.user.clone().ok_or(AppError::Unauthorized)?;
    check_current_password(state, &me, current_password).await?;
    let partners: Vec<i64> = conversation::Entity::find()
        .filter(conversation::Column::UserId.eq(me.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| row.other_id)
        .collect();
    let users: Vec<i64> = std::iter::once(me.id).chain(partners.clone()).collect();
    let pairs: Vec<(i64, i64)> = partners.iter().map(|&other| (other, me.id)).collect();
    let (my_id, my_name) = (me.id, me.username.clone());
    commit_with_events(state, &users, &pairs, move |batch: &mut Batch| {
        Box::pin(async move {
            erase(batch.txn(), my_id).await?;
            let mut events = Vec::with_capacity(partners.len());
            for other in partners {
                // Nothing they sent is left to be unread.
                let theirs = batch.conversation(other, my_id);
                if theirs.unread != 0 {
                    theirs.unread = 0;
                    Batch::changed(theirs);
                }
                events.push(NewEvent::new(
                    other,
                    EventBody::AccountDeleted {
                        with: my_name.clone(),
                    },
                ));
            }
            Ok::<_, AppError>(Written { value: (), events })
        })
    })
    .await?;
    state.recent_messages.forget_sent_by(me.id);
    state.directory.evict(me.id).await;
    state.channels.end_user_sessions(me.id, None);
    auth::log_out(session, state).await?;
    tracing::info!(user_id = me.id, "account deleted");
    Ok(())
}

/// The statements of a deletion, inside the writer's transaction.
async fn erase(txn: &DatabaseTransaction, user_id: i64) -> Result<(), DbErr> {
    message::Entity::update_many()
        .col_expr(message::Column::Body, Expr::value(String::new()))
        .col_expr(
            message::Column::ClientId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(message::Column::DeletedAt, Expr::value(super::now()))
        .filter(message::Column::SenderId.eq(user_id))
        .filter(message::Column::DeletedAt.is_null())
        .exec(txn)
        .await?;
    conversation::Entity::delete_many()
        .filter(conversation::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    event::Entity::delete_many()
        .filter(event::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    password_reset::Entity::delete_many()
        .filter(password_reset::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    email_change::Entity::delete_many()
        .filter(email_change::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    // The row stays (messages point at it, and its name stays taken), with
    // nothing personal left on it and no way in.
    user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(false))
        .col_expr(user::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(user::Column::PasswordHash, Expr::value(String::new()))
        .col_expr(
            user::Column::LastLoginAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .col_expr(user::Column::ConversationCount, Expr::value(0))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Each conversation's state, with the other person's name.
async fn exported_conversations(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<Vec<ExportedConversation>, DbErr> {
    let rows = conversation::Entity::find()
        .filter(conversation::Column::UserId.eq(user_id))
        .order_by_desc(conversation::Column::LastMessageId)
        .all(db)
        .await?;
    let names: std::collections::HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|row| row.other_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|other| (other.id, other.username))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(ExportedConversation {
                with: names.get(&row.other_id)?.clone(),
                last_read_id: row.last_read_id,
                unread: u64::try_from(row.unread).unwrap_or(0),
            })
        })
        .collect())
}

/// A page of messages as array elements, after a comma unless it is the first.
fn messages_json(page: &[Message], after_others: bool) -> Result<String, DbErr> {
    let mut text = String::new();
    for (index, message) in page.iter().enumerate() {
        if after_others || index > 0 {
            text.push(',');
        }
        text.push_str(&json(message)?);
    }
    Ok(text)
}

fn json(value: &impl serde::Serialize) -> Result<String, DbErr> {
    serde_json::to_string(value)
        .map_err(|error| DbErr::Custom(format!("cannot encode the export: {error}")))
}
