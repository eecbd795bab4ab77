//! One page of the people the viewer can talk to.

use leptos::prelude::*;

use super::super::Chunk;
use crate::error::AppError;
use crate::models::UserSummary;

/// Users whose name contains `search`, by name, `page` from 1.
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users(search: String, page: u64) -> Result<Chunk<UserSummary>, AppError> {
    super::super::respond(async move {
        use crate::domain::users;
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let page = page.clamp(1, crate::domain::MAX_PAGE);
        let found = users::list_others(
            &state.db,
            viewer.id,
            &search,
            page,
            users::DEFAULT_PAGE_SIZE,
        )
        .await?;
        Ok(Chunk {
            has_more: page.saturating_mul(users::DEFAULT_PAGE_SIZE) < found.count,
            items: found.users,
        })
    })
    .await
}
