//! A page of one conversation's history.

use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::{Message, Page};

/// The newest messages with `with_user`, or those just older than `before`;
/// newest first.
#[server(prefix = "/rpc", endpoint = "list_messages")]
pub async fn list_messages(
    with_user: String,
    before: Option<i64>,
) -> Result<Page<Message>, AppError> {
    super::super::respond(async move {
        use crate::domain::messages::{self, Cursor};
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let cursor = before.map_or(Cursor::Page(1), Cursor::Before);
        let listing = messages::list(
            &state.db,
            viewer.id,
            Some(&with_user),
            cursor,
            state.settings.messages_to_load,
        )
        .await?;
        messages::into_page(listing, Some(&with_user), cursor)
    })
    .await
}
