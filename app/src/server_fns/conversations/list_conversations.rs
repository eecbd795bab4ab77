//! The viewer's conversations, as a snapshot the stream then keeps current.

use leptos::prelude::*;

use crate::error::AppError;
use crate::models::ConversationPage;

/// The first page of the viewer's conversations, most recent first, and the
/// event `seq` it is a snapshot at.
#[server(prefix = "/rpc", endpoint = "list_conversations")]
pub async fn list_conversations() -> Result<ConversationPage, AppError> {
    super::super::respond(async move {
        use crate::domain::conversations;
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let page_size = conversations::DEFAULT_PAGE_SIZE;
        let found = conversations::list(&state.db, viewer.id, 1, page_size).await?;
        Ok(ConversationPage {
            next: (page_size < found.count).then(|| "/api/v1/conversation/?page=2".to_owned()),
            previous: None,
            count: found.count,
            results: found.conversations,
            seq: found.seq,
        })
    })
    .await
}
