//! Extractors whose rejections are [`AppError`]s, so every failure under
//! `/api/` answers the same JSON shape.

use app::domain::auth::{AuthSession, SessionUser};
use app::error::AppError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
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

/// A JSON body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

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
        } else if content_type.starts_with("application/json") {
            let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
            Ok(Self(value))
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
