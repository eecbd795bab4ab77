//! The viewer's conversations, as a snapshot the stream then keeps current.

use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::{Conversation, Page};

/// The first page of the viewer's conversations, most recent first, and the
/// event `seq` it is a snapshot at.
#[server(prefix = "/rpc", endpoint = "list_conversations")]
pub async fn list_conversations() -> Result<Page<Conversation>, AppError> {
    super::super::respond(async move {
        use crate::domain::conversations;
        use crate::domain::paging::PageRequest;
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let request = PageRequest::new(
            None,
            None,
            conversations::DEFAULT_PAGE_SIZE,
            conversations::MAX_PAGE_SIZE,
        )?;
        let snapshot = conversations::list(&state.db, viewer.id, request).await?;
        conversations::into_page(snapshot, request, None)
    })
    .await
}
