//! `GET /api/v1/presence/?users=a,b,c`: who is online, away or offline.

use std::collections::BTreeMap;

use app::domain::{AppState, presence};
use app::error::AppError;
use app::wire::{ErrorBody, PresenceStatus};
use axum::extract::State;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Query};

/// The most users one request may ask about.
const MAX_USERS: usize = 200;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PresenceQuery {
    /// Usernames, separated by commas (at most 200).
    #[serde(default)]
    users: String,
}

/// `{"alice": "online", "bob": "offline"}` for the usernames asked (unknown
/// and deactivated users are offline).
#[utoipa::path(
    get,
    operation_id = "show_presence",
    path = "/api/v1/presence/",
    tag = "people",
    params(PresenceQuery),
    responses(
        (status = 200, description = "Each name asked about, with its status.", body = std::collections::BTreeMap<String, PresenceStatus>,
            example = json!({"alice": "online", "bob": "offline"})),
        (status = 400, description = "More than 200 names.", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    Query(query): Query<PresenceQuery>,
) -> Result<axum::Json<BTreeMap<String, PresenceStatus>>, AppError> {
    let names: Vec<String> = query
        .users
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if names.len() > MAX_USERS {
        return Err(AppError::invalid(
            "users",
            format!("Ask about at most {MAX_USERS} users at once."),
        ));
    }
    Ok(axum::Json(
        presence::of_usernames(&state.db, &state.presence, names).await?,
    ))
}
