//! The REST calls the chat makes from the browser (gloo-net).

use gloo_net::http::{Request, Response};

use crate::error::AppError;
use crate::models::{Message, NewMessage};

/// `GET /api/v1/message/{id}/`.
pub async fn fetch_message(id: i64) -> Result<Message, AppError> {
    let response = Request::get(&format!("/api/v1/message/{id}/"))
        .send()
        .await
        .map_err(network_error)?;
    decode(response).await
}

/// Why a send did not go through.
#[derive(Debug, Clone)]
pub enum SendFailure {
    /// Offline, or the server is away or busy: try again (same `client_id`).
    Retry,
    /// The server refused this message; retrying cannot help.
    Refused(AppError),
}

/// `POST /api/v1/message/`. Safe to retry with the same `client_id`.
pub async fn post_message(new_message: &NewMessage) -> Result<Message, SendFailure> {
    let request = Request::post("/api/v1/message/")
        .json(new_message)
        .map_err(|error| SendFailure::Refused(network_error(error)))?;
    let Ok(response) = request.send().await else {
        return Err(SendFailure::Retry);
    };
    if response.status() >= 500 || response.status() == 429 {
        return Err(SendFailure::Retry);
    }
    decode(response).await.map_err(SendFailure::Refused)
}

/// `POST /api/v1/conversation/{with}/read` `{last_read_id}`. Best effort:
/// the `read` event updates every tab when it lands.
pub async fn mark_read(with: &str, last_read_id: i64) -> Result<(), AppError> {
    let response = Request::post(&format!("/api/v1/conversation/{with}/read"))
        .json(&serde_json::json!({ "last_read_id": last_read_id }))
        .map_err(network_error)?
        .send()
        .await
        .map_err(network_error)?;
    expect_success(response).await
}

/// `PATCH /api/v1/message/{id}/` `{body}`.
pub async fn edit_message(id: i64, body: &str) -> Result<Message, AppError> {
    let response = Request::patch(&format!("/api/v1/message/{id}/"))
        .json(&serde_json::json!({ "body": body }))
        .map_err(network_error)?
        .send()
        .await
        .map_err(network_error)?;
    decode(response).await
}

/// `DELETE /api/v1/message/{id}/`.
pub async fn delete_message(id: i64) -> Result<(), AppError> {
    let response = Request::delete(&format!("/api/v1/message/{id}/"))
        .send()
        .await
        .map_err(network_error)?;
    expect_success(response).await
}

/// `GET /api/v1/presence/?users=…`.
pub async fn fetch_presence(
    users: &[String],
) -> Result<std::collections::HashMap<String, crate::models::PresenceStatus>, AppError> {
    let response = Request::get("/api/v1/presence/")
        .query([("users", users.join(","))])
        .send()
        .await
        .map_err(network_error)?;
    if !response.ok() {
        return Err(AppError::BadRequest(format!(
            "The server answered {}.",
            response.status()
        )));
    }
    response.json().await.map_err(network_error)
}

async fn expect_success(response: Response) -> Result<(), AppError> {
    if response.ok() {
        return Ok(());
    }
    decode(response).await.map(|_| ())
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    detail: String,
    #[serde(default)]
    errors: Option<crate::error::FieldErrors>,
}

async fn decode(response: Response) -> Result<Message, AppError> {
    if response.ok() {
        return response.json().await.map_err(network_error);
    }
    let status = response.status();
    let body: Option<ErrorBody> = response.json().await.ok();
    Err(match (status, body) {
        (401, _) => AppError::Unauthorized,
        (403, Some(body)) => AppError::Forbidden(body.detail),
        (404, _) => AppError::NotFound,
        (
            400 | 409,
            Some(ErrorBody {
                errors: Some(errors),
                ..
            }),
        ) => AppError::Validation(errors),
        (_, Some(body)) => AppError::BadRequest(body.detail),
        (_, None) => AppError::BadRequest(format!("The server answered {status}.")),
    })
}

fn network_error(error: gloo_net::Error) -> AppError {
    AppError::BadRequest(format!("Network error: {error}"))
}
