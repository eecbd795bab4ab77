//! Sending a message: its rules, and sending safely twice.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr,
};

use super::{find_visible, validated_body};
use crate::domain::AppState;
use crate::domain::auth::SessionUser;
use crate::domain::entities::message;
use crate::domain::stream::{self, Batch, NewEvent, Written};
use crate::error::{AppError, FieldErrors};
use crate::wire::{EventBody, Message, NewMessage};

const CLIENT_ID_FORMAT: &str =
    "client_id must be a UUID, such as 0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e.";
/// `0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e`: 32 hex digits and 4 hyphens.
const HYPHENATED_LEN: usize = 36;

/// What [`send`] did.
#[derive(Debug)]
pub struct Sent {
    pub message: Message,
    /// False when a retry (same `client_id`) found the message already stored.
    pub created: bool,
}

/// Why a send's transaction stopped.
enum SendStop {
    /// Another attempt with the same client id stored it first.
    AlreadyStored,
    Failed(AppError),
}

impl From<DbErr> for SendStop {
    fn from(error: DbErr) -> Self {
        Self::Failed(error.into())
    }
}

impl From<AppError> for SendStop {
    fn from(error: AppError) -> Self {
        Self::Failed(error)
    }
}

/// Validates and stores a message and its events, then notifies both
/// participants. The notification goes out only after the transaction has
/// committed, so a client that fetches the id at once always finds it.
///
/// With a `client_id`, sending is idempotent: a retry returns the stored
/// message and creates nothing, even when two retries race.
pub async fn send(
    state: &AppState,
    sender: &SessionUser,
    new_message: NewMessage,
) -> Result<Sent, AppError> {
    state
        .limits
        .sends_per_user
        .check(&sender.id.to_string())
        .await?;
    let recipient_name = new_message.recipient.trim();
    let mut errors = FieldErrors::new();
    let body = match validated_body(&new_message.body, state.settings.max_message_chars) {
        Ok(body) => body,
        Err(AppError::Validation(problems)) => {
            errors.extend(problems);
            String::new()
        }
        Err(other) => return Err(other),
    };
    let client_id = new_message.client_id.as_deref().and_then(|text| {
        // The hyphenated form only, as documented (`format: uuid`).
        let parsed = uuid::Uuid::try_parse(text)
            .ok()
            .filter(|_| text.len() == HYPHENATED_LEN);
        if parsed.is_none() {
            errors.insert("client_id".into(), vec![CLIENT_ID_FORMAT.into()]);
        }
        parsed.map(|id| id.hyphenated().to_string())
    });
    let recipient = if recipient_name.is_empty() {
        None
    } else {
        state.directory.active_by_name(recipient_name).await?
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

    let created_at = crate::domain::now();
    let row = message::ActiveModel {
        sender_id: Set(sender.id),
        recipient_id: Set(recipient.id),
        pair_low_id: Set(sender.id.min(recipient.id)),
        pair_high_id: Set(sender.id.max(recipient.id)),
        created_at: Set(created_at),
        body: Set(body.clone()),
        client_id: Set(client_id.clone()),
        ..Default::default()
    };
    let (sender_id, recipient_id) = (sender.id, recipient.id);
    let (sender_name, recipient_name) = (sender.username.clone(), recipient.username.clone());
    let recent = std::sync::Arc::clone(&state.recent_messages);
    let sent = Message {
        id: 0,
        user: sender.username.clone(),
        recipient: recipient.username.clone(),
        timestamp: created_at,
        body: body.clone(),
        client_id: client_id.clone(),
        edited_at: None,
        deleted: false,
    };
    let stored = stream::commit_with_events(
        state,
        &[sender_id, recipient_id],
        &[(sender_id, recipient_id), (recipient_id, sender_id)],
        move |batch: &mut Batch| {
            Box::pin(async move {
                // A retry of a stored message fails here as a whole, leaving
                // nothing behind (the unique key on sender and client id).
                let id = match message::Entity::insert(row).exec(batch.txn()).await {
                    Ok(inserted) => inserted.last_insert_id,
                    Err(error)
                        if matches!(
                            error.sql_err(),
                            Some(SqlErr::UniqueConstraintViolation(_))
                        ) =>
                    {
                        return Err(SendStop::AlreadyStored);
                    }
                    Err(error) => return Err(error.into()),
                };
                // Kept for the fetches its notifications bring, before they go out.
                let message = Message { id, ..sent };
                batch.after_commit(move || recent.remember(message, sender_id, recipient_id));
                let mine = batch.conversation(sender_id, recipient_id);
                mine.last_message_id = id;
                Batch::changed(mine);
                let my_unread = mine.unread;
                let theirs = batch.conversation(recipient_id, sender_id);
                theirs.last_message_id = id;
                theirs.unread += 1;
                Batch::changed(theirs);
                let their_unread = theirs.unread;
                let event = |with: &str, unread: i64| EventBody::Message {
                    message: id,
                    with: with.to_owned(),
                    unread: Some(u64::try_from(unread).unwrap_or(0)),
                };
                Ok(Written {
                    value: id,
                    events: vec![
                        NewEvent::new(sender_id, event(&recipient_name, my_unread)),
                        NewEvent::new(recipient_id, event(&sender_name, their_unread)),
                    ],
                })
            })
        },
    )
    .await;
    let id = match (stored, &client_id) {
        (Ok(id), _) => id,
        // A retry, or two attempts racing: answer with the first.
        (Err(SendStop::AlreadyStored), Some(client_id)) => {
            let first = find_sent_with_client_id(&state.db, sender.id, client_id)
                .await?
                .ok_or(AppError::Internal)?;
            return replayed(state, first, recipient.id, &body).await;
        }
        (Err(SendStop::AlreadyStored), None) => return Err(AppError::Internal),
        (Err(SendStop::Failed(error)), _) => return Err(error),
    };
    Ok(Sent {
        message: Message {
            id,
            user: sender.username.clone(),
            recipient: recipient.username.clone(),
            timestamp: created_at,
            body,
            client_id,
            edited_at: None,
            deleted: false,
        },
        created: true,
    })
}

async fn find_sent_with_client_id(
    db: &DatabaseConnection,
    sender_id: i64,
    client_id: &str,
) -> Result<Option<(message::Model, Message)>, AppError> {
    let Some(row) = message::Entity::find()
        .filter(message::Column::SenderId.eq(sender_id))
        .filter(message::Column::ClientId.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let message = find_visible(db, sender_id, row.id).await?;
    Ok(Some((row, message)))
}

/// A retry must be the same message; reusing a client id for another is a bug
/// in the client, and silently answering with the old message would hide it.
///
/// The first attempt's notifications are published again: if its node died
/// between the commit and the publish, this is the only signal the other
/// connections get (they drop it if they already had it).
async fn replayed(
    state: &AppState,
    (first, message): (message::Model, Message),
    recipient_id: i64,
    body: &str,
) -> Result<Sent, AppError> {
    if first.recipient_id == recipient_id && first.body == body {
        let deliveries = stream::log::message_deliveries(&state.db, first.id).await?;
        state.channels.publish(deliveries);
        Ok(Sent {
            message,
            created: false,
        })
    } else {
        Err(AppError::conflict(
            "client_id",
            "This client_id was already used for a different message.",
        ))
    }
}
