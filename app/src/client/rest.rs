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
