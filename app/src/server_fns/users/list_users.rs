//! One page of the people the viewer can talk to.

use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::{Page, UserSummary};

/// Users whose name contains `search`, by name, `page` from 1.
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users(search: String, page: u64) -> Result<Page<UserSummary>, AppError> {
    super::super::respond(async move {
        use crate::domain::paging::{PageRequest, link};
        use crate::domain::users;
        let viewer = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let request = PageRequest::new(
            Some(page),
            None,
            users::DEFAULT_PAGE_SIZE,
            users::MAX_PAGE_SIZE,
        )?;
        users::list_others(&state.db, viewer.id, &search, request)
            .await?
            .into_numbered_page(request, |page| {
                link(
                    "/api/v1/user/",
                    &[
                        ("search", Some(search.clone()).filter(|s| !s.is_empty())),
                        ("page", Some(page.to_string())),
                    ],
                )
            })
    })
    .await
}
