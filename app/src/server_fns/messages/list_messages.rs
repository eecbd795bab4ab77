//! A page of one conversation's history.

use leptos::prelude::*;

use super::super::Chunk;
use crate::error::AppError;
use crate::models::Message;

/// The newest messages with `with_user`, or those just older than `before`;
/// newest first.
#[server(prefix = "/rpc", endpoint = "list_messages")]
pub async fn list_messages(
    with_user: String,
    before: Option<i64>,
) -> Result<Chunk<Message>, AppError> {
    super::super::respond(async move {
        use crate::domain::messages::{self, Cursor};
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let cursor = before.map_or(Cursor::Page(1), Cursor::Before);
        let page = messages::list(
            &state.db,
            viewer.id,
            Some(&with_user),
            cursor,
            state.settings.messages_to_load,
        )
        .await?;
        Ok(Chunk {
            items: page.messages,
            has_more: page.has_older,
        })
    })
    .await
}
