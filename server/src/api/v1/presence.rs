//! `GET /api/v1/presence/?users=a,b,c`: who is online, away or offline.

use std::collections::BTreeMap;

use app::domain::{AppState, presence};
use app::error::AppError;
use app::wire::PresenceStatus;
use axum::extract::State;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Query};

/// The most users one request may ask about.
const MAX_USERS: usize = 200;

#[derive(Deserialize)]
pub struct PresenceQuery {
    #[serde(default)]
    users: String,
}

/// `{"alice": "online", "bob": "offline"}` for the usernames asked (unknown
/// and deactivated users are offline).
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
