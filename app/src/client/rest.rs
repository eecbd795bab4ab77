//! The REST calls the chat makes from the browser (gloo-net), with the
//! request, response and error bodies of [`crate::wire`].

use std::collections::HashMap;

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::wire::{ErrorBody, Message, MessageEdit, NewMessage, PresenceStatus, ReadUpTo};

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
        .json(&ReadUpTo { last_read_id })
        .map_err(network_error)?
        .send()
        .await
        .map_err(network_error)?;
    expect_success(response).await
}

/// `PATCH /api/v1/message/{id}/` `{body}`.
pub async fn edit_message(id: i64, body: &str) -> Result<Message, AppError> {
    let response = Request::patch(&format!("/api/v1/message/{id}/"))
        .json(&MessageEdit {
            body: body.to_owned(),
        })
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
pub async fn fetch_presence(users: &[String]) -> Result<HashMap<String, PresenceStatus>, AppError> {
    let response = Request::get("/api/v1/presence/")
        .query([("users", users.join(","))])
        .send()
        .await
        .map_err(network_error)?;
    decode(response).await
}

async fn expect_success(response: Response) -> Result<(), AppError> {
    if response.ok() {
        Ok(())
    } else {
        Err(failure(response).await)
    }
}

/// The body of a successful answer, or the error the server answered.
async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, AppError> {
    if response.ok() {
        response.json().await.map_err(network_error)
    } else {
        Err(failure(response).await)
    }
}

/// A failed answer as the error it stands for (the one error body).
async fn failure(response: Response) -> AppError {
    let status = response.status();
    let body: Option<ErrorBody> = response.json().await.ok();
    AppError::from_response(status, body)
}

fn network_error(error: gloo_net::Error) -> AppError {
    AppError::BadRequest(format!("Network error: {error}"))
}
