//! The REST API (JSON), versioned under `/api/v1`.

pub mod extract;
pub mod v1;

use app::domain::AppState;
use app::error::AppError;
use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The interactive API docs: Swagger UI, its files built into the binary
/// (from the `utoipa-swagger-ui` crate), reading [`v1::openapi::DOCUMENT_PATH`].
pub const DOCS_PATH: &str = "/api/docs";

/// What the docs page may load: its own scripts and styles (Swagger UI sets
/// inline styles), pictures it inlines, and calls to this origin ("Try it
/// out"). Nothing from anywhere else.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

/// The docs page's routes.
pub fn docs() -> Router<AppState> {
    Router::from(SwaggerUi::new(DOCS_PATH).config(Config::from(v1::openapi::DOCUMENT_PATH))).layer(
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_POLICY),
        ),
    )
}

/// Any unknown `/api/` address: a JSON 404, never an HTML page.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
