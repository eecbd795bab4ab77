//! Extractors whose rejections are [`AppError`]s, so every failure under
//! `/api/` answers the same JSON shape.

use app::domain::auth::{AuthSession, SessionUser};
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

/// The logged-in user; 401 without a valid session.
pub struct CurrentUser(pub SessionUser);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let session = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|(_, message)| {
                tracing::error!(message, "session layer missing");
                AppError::Internal
            })?;
        session.user.map(Self).ok_or(AppError::Unauthorized)
    }
}

/// A JSON body: `application/json`, and an object (every body of the API
/// is one; serde alone would also read a struct from an array).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "Send the body as application/json.".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(request, state).await?;
        Ok(Self(json_object(&bytes)?))
    }
}

/// Whether the body says it is JSON (`application/json`, or `…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

/// `bytes` read as `T`, if they are a JSON object.
fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(AppError::BadRequest(
            "The body must be a JSON object.".to_owned(),
        ));
    }
    let axum::Json(value) = axum::Json::<T>::from_bytes(bytes)?;
    Ok(value)
}

/// A JSON or form-encoded body (the original app's client sent forms).
pub struct JsonOrForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonOrForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let axum::Form(value) = axum::Form::<T>::from_request(request, state).await?;
            Ok(Self(value))
        } else if is_json(request.headers()) {
            let bytes = Bytes::from_request(request, state).await?;
            Ok(Self(json_object(&bytes)?))
        } else {
            Err(AppError::UnsupportedMediaType(
                "Send the body as application/json or application/x-www-form-urlencoded."
                    .to_owned(),
            ))
        }
    }
}

/// Query parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);
