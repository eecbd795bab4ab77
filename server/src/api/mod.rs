//! The REST API (JSON), versioned under `/api/v1`.

pub mod extract;
pub mod v1;

use app::error::AppError;

/// Any unknown `/api/` address: a JSON 404, never an HTML page.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
