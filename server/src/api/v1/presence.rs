//! `GET /api/v1/presence/?users=a,b,c`: who is online, away or offline.

use std::collections::BTreeMap;

use app::domain::AppState;
use app::domain::entities::user;
use app::error::AppError;
use app::models::PresenceStatus;
use axum::extract::State;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
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
    let keys: Vec<String> = names.iter().map(|name| name.to_ascii_lowercase()).collect();
    let found = user::Entity::find()
        .filter(user::Column::UsernameKey.is_in(keys))
        .filter(user::Column::IsActive.eq(true))
        .all(&state.db)
        .await?;
    let ids: Vec<i64> = found.iter().map(|user| user.id).collect();
    let statuses = state.presence.statuses(&ids).await;
    let by_key: BTreeMap<String, PresenceStatus> = found
        .iter()
        .map(|user| {
            (
                user.username_key.clone(),
                statuses
                    .get(&user.id)
                    .copied()
                    .unwrap_or(PresenceStatus::Offline),
            )
        })
        .collect();
    Ok(axum::Json(
        names
            .into_iter()
            .map(|name| {
                let status = by_key
                    .get(&name.to_ascii_lowercase())
                    .copied()
                    .unwrap_or(PresenceStatus::Offline);
                (name, status)
            })
            .collect(),
    ))
}
