//! Messages: sending (with its rules), reading one, and paging through history.

use sea_orm::sea_query::Alias;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    FromQueryResult, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    Select,
};

use super::auth::SessionUser;
use super::entities::{message, user};
use super::{AppState, accounts};
use crate::error::{AppError, FieldErrors};
use crate::models::{Message, NewMessage, Notification};

/// Which page of a message list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Page `n` (from 1) of newest-first results.
    Page(u64),
    /// The messages just older than this id: keyset paging, no OFFSET cost.
    Before(i64),
}

/// One page of messages, newest first.
#[derive(Debug)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// All messages in the list, across pages.
    pub count: u64,
    /// Whether older messages exist beyond this page.
    pub has_older: bool,
}

/// Validates and stores a message, then notifies both participants. The
/// notification goes out only after the insert has committed, so a client that
/// fetches the id at once always finds it.
pub async fn send(
    state: &AppState,
    sender: &SessionUser,
    new_message: NewMessage,
) -> Result<Message, AppError> {
    let body = new_message.body.trim();
    let recipient_name = new_message.recipient.trim();
    let max_chars = state.settings.max_message_chars;

    let mut errors = FieldErrors::new();
    if body.is_empty() {
        errors.insert("body".into(), vec!["The message is empty.".into()]);
    } else if body.chars().count() > max_chars {
        errors.insert(
            "body".into(),
            vec![format!("Messages are at most {max_chars} characters long.")],
        );
    }
    let recipient = if recipient_name.is_empty() {
        None
    } else {
        accounts::find_by_username(&state.db, recipient_name)
            .await?
            .filter(|user| user.is_active)
    };
    match &recipient {
        None => {
            errors.insert("recipient".into(), vec!["No such user.".into()]);
        }
        Some(recipient) if recipient.id == sender.id => {
            errors.insert(
                "recipient".into(),
                vec!["You cannot send a message to yourself.".into()],
            );
        }
        Some(_) => {}
    }
    let Some(recipient) = recipient.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };

    let stored = message::ActiveModel {
        sender_id: Set(sender.id),
        recipient_id: Set(recipient.id),
        pair_low_id: Set(sender.id.min(recipient.id)),
        pair_high_id: Set(sender.id.max(recipient.id)),
        created_at: Set(super::now()),
        body: Set(body.to_owned()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;

    for user_id in [sender.id, recipient.id] {
        state.channels.publish(
            user_id,
            Notification::Message {
                message: stored.id.to_string(),
            },
        );
    }
    Ok(Message {
        id: stored.id,
        user: sender.username.clone(),
        recipient: recipient.username,
        timestamp: stored.created_at,
        body: stored.body,
    })
}

/// A message the viewer sent or received. Anyone else gets `NotFound`, exactly
/// as for an id that does not exist, so ids reveal nothing.
pub async fn find_visible(
    db: &DatabaseConnection,
    viewer_id: i64,
    message_id: i64,
) -> Result<Message, AppError> {
    with_usernames(message::Entity::find_by_id(message_id).filter(involving(viewer_id)))
        .into_model::<MessageRow>()
        .one(db)
        .await?
        .map(Message::from)
        .ok_or(AppError::NotFound)
}

/// A page of the viewer's messages, newest first: the conversation with
/// `other_username`, or, without one, everything the viewer sent or received.
pub async fn list(
    db: &DatabaseConnection,
    viewer_id: i64,
    other_username: Option<&str>,
    cursor: Cursor,
    per_page: u64,
) -> Result<MessagePage, AppError> {
    let scope = match other_username {
        Some(name) => {
            let other = accounts::find_by_username(db, name)
                .await?
                .ok_or_else(|| AppError::invalid("target", "No such user."))?;
            Condition::all()
                .add(message::Column::PairLowId.eq(viewer_id.min(other.id)))
                .add(message::Column::PairHighId.eq(viewer_id.max(other.id)))
        }
        None => involving(viewer_id),
    };
    let count = message::Entity::find()
        .filter(scope.clone())
        .count(db)
        .await?;

    let mut query = message::Entity::find()
        .filter(scope)
        .order_by_desc(message::Column::Id);
    query = match cursor {
        Cursor::Page(page) => query.offset(page.saturating_sub(1).saturating_mul(per_page)),
        Cursor::Before(id) => query.filter(message::Column::Id.lt(id)),
    };
    // One extra row tells whether there is an older page.
    let mut rows = with_usernames(query.limit(per_page + 1))
        .into_model::<MessageRow>()
        .all(db)
        .await?;
    let has_older = rows.len() as u64 > per_page;
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok(MessagePage {
        messages: rows.into_iter().map(Message::from).collect(),
        count,
        has_older,
    })
}

fn involving(user_id: i64) -> Condition {
    Condition::any()
        .add(message::Column::SenderId.eq(user_id))
        .add(message::Column::RecipientId.eq(user_id))
}

/// Joins both users' names in, so a page is one query, not one per row.
fn with_usernames(query: Select<message::Entity>) -> Select<message::Entity> {
    query
        .select_only()
        .columns([
            message::Column::Id,
            message::Column::CreatedAt,
            message::Column::Body,
        ])
        .join_as(
            JoinType::InnerJoin,
            message::Relation::Sender.def(),
            Alias::new("sender"),
        )
        .join_as(
            JoinType::InnerJoin,
            message::Relation::Recipient.def(),
            Alias::new("recipient"),
        )
        .tbl_col_as(
            (Alias::new("sender"), user::Column::Username),
            "sender_username",
        )
        .tbl_col_as(
            (Alias::new("recipient"), user::Column::Username),
            "recipient_username",
        )
}

#[derive(Debug, FromQueryResult)]
struct MessageRow {
    id: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    body: String,
    sender_username: String,
    recipient_username: String,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            user: row.sender_username,
            recipient: row.recipient_username,
            timestamp: row.created_at,
            body: row.body,
        }
    }
}
