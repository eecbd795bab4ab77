//! Reading messages: one by id, and pages of a conversation or of
//! everything a user sent and received.

use sea_orm::sea_query::Alias;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Select,
};

use crate::domain::accounts;
use crate::domain::entities::{message, user};
use crate::domain::paging::{Listing, link};
use crate::error::AppError;
use crate::wire::{Message, Page};

/// Which page of a message list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Page `n` (from 1) of newest-first results.
    Page(u64),
    /// The messages just older than this id: keyset paging, no OFFSET cost.
    Before(i64),
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
) -> Result<Listing<Message>, AppError> {
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
    let total = message::Entity::find()
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
    let has_more = rows.len() as u64 > per_page;
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok(Listing {
        items: rows.into_iter().map(Message::from).collect(),
        total,
        has_more,
    })
}

/// A list of messages as the wire page, with links onward in the paging the
/// request used: `page` numbers, or `before` ids (keyset). A numbered page
/// past the end is a 404.
pub fn into_page(
    listing: Listing<Message>,
    target: Option<&str>,
    cursor: Cursor,
) -> Result<Page<Message>, AppError> {
    let page_link = |key: &str, value: String| {
        link(
            "/api/v1/message/",
            &[("target", target.map(str::to_owned)), (key, Some(value))],
        )
    };
    let (next, previous) = match cursor {
        Cursor::Page(page) => {
            if page > 1 && listing.items.is_empty() {
                return Err(AppError::NotFound);
            }
            (
                listing
                    .has_more
                    .then(|| page_link("page", (page + 1).to_string())),
                (page > 1).then(|| page_link("page", (page - 1).to_string())),
            )
        }
        Cursor::Before(_) => (
            listing
                .items
                .last()
                .filter(|_| listing.has_more)
                .map(|oldest| page_link("before", oldest.id.to_string())),
            None,
        ),
    };
    Ok(Page {
        count: listing.total,
        next,
        previous,
        results: listing.items,
        seq: None,
    })
}

/// Up to `limit` of the viewer's messages with ids above `after`, oldest
/// first: the pages of an export (keyset, so the last costs what the first
/// did).
pub async fn oldest_after(
    db: &DatabaseConnection,
    viewer_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<Message>, sea_orm::DbErr> {
    Ok(with_usernames(
        message::Entity::find()
            .filter(involving(viewer_id))
            .filter(message::Column::Id.gt(after))
            .order_by_asc(message::Column::Id)
            .limit(limit),
    )
    .into_model::<MessageRow>()
    .all(db)
    .await?
    .into_iter()
    .map(Message::from)
    .collect())
}

pub(super) fn involving(user_id: i64) -> Condition {
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
            message::Column::ClientId,
            message::Column::EditedAt,
            message::Column::DeletedAt,
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
    client_id: Option<String>,
    edited_at: Option<chrono::DateTime<chrono::Utc>>,
    deleted_at: Option<chrono::DateTime<chrono::Utc>>,
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
            client_id: row.client_id,
            edited_at: row.edited_at,
            deleted: row.deleted_at.is_some(),
        }
    }
}
