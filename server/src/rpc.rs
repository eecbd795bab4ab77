//! Server functions fail before their body runs when their arguments do not
//! decode (a number out of range, a missing field, a JSON body where a form
//! was expected), and Leptos answers those with a blanket 500. They are the
//! caller's mistakes: answered 400 (405 for a wrong method), with the same
//! JSON error body.

use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leptos::prelude::ServerFnErrorErr;

use crate::around::{After, Around};

/// The most of an error body read to classify it.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Middleware: see the module docs.
pub struct AnswerBadArguments;

impl Around for AnswerBadArguments {
    /// Whether the request is for a server function.
    type Note = bool;

    fn before(&self, request: &Request) -> bool {
        request.uri().path().starts_with("/rpc/")
    }

    fn after(&self, is_server_fn: bool, response: Response) -> After {
        if !is_server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
            return After::Done(response);
        }
        After::Later(Box::pin(classify(response)))
    }
}

/// A server function's 500, with the status its error deserves.
async fn classify(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return AppError::Internal.into_response();
    };
    if let Ok(AppError::ServerFn(error)) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = status_of(&error);
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn status_of(error: &ServerFnErrorErr) -> StatusCode {
    match error {
        // A body without a declared length, cut off at the limit by
        // `RequestBodyLimitLayer` (http-body-util's `LengthLimitError`).
        ServerFnErrorErr::Deserialization(message) | ServerFnErrorErr::Request(message)
            if message.contains("length limit exceeded") =>
        {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        ServerFnErrorErr::Args(_)
        | ServerFnErrorErr::MissingArg(_)
        | ServerFnErrorErr::Deserialization(_)
        | ServerFnErrorErr::Request(_) => StatusCode::BAD_REQUEST,
        ServerFnErrorErr::UnsupportedRequestMethod(_) => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
