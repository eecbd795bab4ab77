//! The one error type of the API and the server functions.
//!
//! Client errors carry what the caller needs to fix the request; internal errors
//! are logged where they are converted and reach the client only as a generic
//! message.

use std::collections::BTreeMap;

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

use crate::wire::ErrorBody;
pub use crate::wire::FieldErrors;

/// Everything that can go wrong in a request, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    #[error("Authentication credentials were not provided or are no longer valid.")]
    Unauthorized,
    #[error("Invalid username or password.")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found.")]
    NotFound,
    #[error("{}", summarize(.0))]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{}", summarize(.0))]
    Conflict(FieldErrors),
    #[error("The request body is larger than the limit of {0} bytes.")]
    PayloadTooLarge(usize),
    #[error("The URL is longer than the limit of {0} bytes.")]
    UriTooLong(usize),
    #[error("The request headers are larger than the limit of {0} bytes.")]
    HeadersTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many attempts; try again in {0} seconds.")]
    TooManyRequests(u64),
    #[error("The service is temporarily unavailable; try again shortly.")]
    Unavailable,
    /// Too much to do right now: refused rather than queued.
    #[error("The server is busy; try again in {0} seconds.")]
    Busy(u64),
    /// The request took longer than the server allows one to.
    #[error("The request took too long; try again.")]
    TimedOut,
    #[error("Something went wrong on our side; it has been logged.")]
    Internal,
    /// A server function failed to reach the server or to decode its answer.
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

impl AppError {
    /// A validation error on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    /// A conflict (such as a taken username) on one field.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::Conflict(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    /// The per-field messages, when the error has any.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Validation(fields) | Self::Conflict(fields) => Some(fields),
            _ => None,
        }
    }

    /// The wire body this error is answered with.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            detail: self.to_string(),
            errors: self.field_errors().cloned(),
        }
    }

    /// The error an answer with `status` and `body` (if it had a readable
    /// one) stands for: how a client turns a failed request back into the
    /// error the server had.
    pub fn from_response(status: u16, body: Option<ErrorBody>) -> Self {
        match (status, body) {
            (401, _) => Self::Unauthorized,
            (404, _) => Self::NotFound,
            (503, _) => Self::Unavailable,
            (403, Some(body)) => Self::Forbidden(body.detail),
            (
                400,
                Some(ErrorBody {
                    errors: Some(errors),
                    ..
                }),
            ) => Self::Validation(errors),
            (
                409,
                Some(ErrorBody {
                    errors: Some(errors),
                    ..
                }),
            ) => Self::Conflict(errors),
            (429, _) => Self::TooManyRequests(0),
            (500.., _) => Self::Internal,
            (_, Some(body)) => Self::BadRequest(body.detail),
            (_, None) => Self::BadRequest(format!("The server answered {status}.")),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthorized | Self::InvalidCredentials => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound => 404,
            Self::Validation(_) | Self::BadRequest(_) | Self::ServerFn(_) => 400,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::UriTooLong(_) => 414,
            Self::HeadersTooLarge(_) => 431,
            Self::UnsupportedMediaType(_) => 415,
            Self::TooManyRequests(_) => 429,
            Self::Internal => 500,
            Self::Unavailable | Self::Busy(_) | Self::TimedOut => 503,
        }
    }
}

fn summarize(fields: &FieldErrors) -> String {
    fields
        .values()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::ServerFn(value)
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(value: ServerFnErrorErr) -> Self {
        Self::ServerFn(value)
    }
}

#[cfg(feature = "ssr")]
mod server {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use sea_orm::{DbErr, RuntimeErr};

    use super::AppError;

    /// Database errors: trouble that passes (the database unreachable or
    /// restarting, a lock conflict) is a 503 the client may retry; anything
    /// else is a bug or corruption. Either way it is logged with its cause.
    impl From<DbErr> for AppError {
        fn from(error: DbErr) -> Self {
            if is_transient(&error) {
                tracing::error!(%error, "database unavailable");
                metrics::counter!("chatapp_db_errors_total", "kind" => "unavailable").increment(1);
                Self::Unavailable
            } else {
                tracing::error!(%error, "database error");
                metrics::counter!("chatapp_db_errors_total", "kind" => "other").increment(1);
                Self::Internal
            }
        }
    }

    fn is_transient(error: &DbErr) -> bool {
        use sea_orm::sqlx::Error as Sqlx;
        let sqlx = match error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(RuntimeErr::SqlxError(_)) => return true,
            DbErr::Exec(RuntimeErr::SqlxError(sqlx))
            | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => sqlx,
            _ => return false,
        };
        match &**sqlx {
            Sqlx::Io(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_) => true,
            // Deadlock or serialisation failure (SQLSTATE 40001), lock wait
            // timeout (MySQL HY000/1205), SQLite busy or locked (5, 6, 517).
            Sqlx::Database(database) => {
                let code = database.code().unwrap_or_default();
                // A statement stopped by the statement timeout (MariaDB
                // 70100, MySQL 3024) is load, not a bug: 503 too.
                matches!(code.as_ref(), "40001" | "5" | "6" | "517" | "70100")
                    || database.message().contains("Lock wait timeout")
                    || database.message().contains("max_statement_time")
                    || database
                        .message()
                        .contains("maximum statement execution time")
            }
            _ => false,
        }
    }

    /// Extractor rejections (bad JSON, wrong content type, body too large, bad
    /// query) become the same JSON errors as everything else.
    fn from_rejection(status: StatusCode, text: String) -> AppError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge(crate::wire::MAX_REQUEST_BYTES)
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(text),
            _ => AppError::BadRequest(text),
        }
    }

    macro_rules! from_rejections {
        ($($rejection:ty),*) => {$(
            impl From<$rejection> for AppError {
                fn from(rejection: $rejection) -> Self {
                    from_rejection(rejection.status(), rejection.body_text())
                }
            }
        )*};
    }
    from_rejections!(
        axum::extract::rejection::BytesRejection,
        axum::extract::rejection::JsonRejection,
        axum::extract::rejection::FormRejection,
        axum::extract::rejection::QueryRejection,
        axum::extract::rejection::PathRejection
    );

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status = StatusCode::from_u16(self.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let retry_after = match &self {
                AppError::TooManyRequests(seconds) | AppError::Busy(seconds) => Some(*seconds),
                AppError::Unavailable | AppError::TimedOut => Some(1),
                _ => None,
            };
            let mut response = (status, Json(self.body())).into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(seconds),
                );
            }
            if status == StatusCode::UNAUTHORIZED {
                // Session auth, not HTTP auth: name the scheme so clients know.
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Session"),
                );
            }
            response
        }
    }
}
