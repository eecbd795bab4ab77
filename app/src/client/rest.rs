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

/// `POST /api/v1/message/`.
pub async fn post_message(new_message: &NewMessage) -> Result<Message, AppError> {
    let response = Request::post("/api/v1/message/")
        .json(new_message)
        .map_err(network_error)?
        .send()
        .await
        .map_err(network_error)?;
    decode(response).await
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
