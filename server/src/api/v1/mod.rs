//! `/api/v1`: the original app's REST API (paths and field names kept, so its
//! clients keep working), plus sign-up and sessions.

mod auth;
mod conversations;
mod messages;
pub mod openapi;
mod presence;
mod users;

use app::domain::AppState;
use app::wire::{ErrorBody, MAX_REQUEST_BYTES};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, post};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: signing up, logging in, resetting a forgotten password.
    Public,
    /// Only a logged-in user; 401 otherwise.
    Session,
}

/// One route of the API, as the router serves it.
pub struct ApiRoute {
    /// The path under `/api/v1`. One ending in `/` is also served without it.
    pub path: &'static str,
    pub access: Access,
    pub handlers: MethodRouter<AppState>,
}

impl ApiRoute {
    fn public(path: &'static str, handlers: MethodRouter<AppState>) -> Self {
        Self {
            path,
            access: Access::Public,
            handlers,
        }
    }

    fn session(path: &'static str, handlers: MethodRouter<AppState>) -> Self {
        Self {
            path,
            access: Access::Session,
            handlers,
        }
    }
}

/// Every v1 route: the one list the router is built from, so a test can
/// walk all of them.
pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::public("/auth/register", post(auth::register)),
        ApiRoute::public("/auth/login", post(auth::log_in)),
        ApiRoute::session("/auth/logout", post(auth::log_out)),
        ApiRoute::session("/auth/me", get(auth::me)),
        ApiRoute::session(
            "/auth/settings",
            get(auth::settings).patch(auth::update_settings),
        ),
        ApiRoute::public("/auth/email/confirm", post(auth::confirm_email)),
        ApiRoute::session("/auth/email/pending", delete(auth::cancel_email_change)),
        ApiRoute::session("/auth/password", post(auth::change_password)),
        ApiRoute::session("/auth/sessions/end-others", post(auth::end_other_sessions)),
        ApiRoute::session("/auth/export", get(auth::export)),
        ApiRoute::session("/auth/account", delete(auth::delete_account)),
        ApiRoute::public("/auth/password-reset", post(auth::request_password_reset)),
        ApiRoute::public(
            "/auth/password-reset/confirm",
            post(auth::confirm_password_reset),
        ),
        ApiRoute::session("/user/", get(users::list)),
        ApiRoute::session("/message/", get(messages::list).post(messages::create)),
        ApiRoute::session(
            "/message/{id}/",
            get(messages::show)
                .patch(messages::edit)
                .delete(messages::delete),
        ),
        ApiRoute::session("/presence/", get(presence::show)),
        ApiRoute::session("/conversation/", get(conversations::list)),
        ApiRoute::session("/conversation/{username}/read", post(conversations::read)),
    ]
}

/// The v1 routes. Collection paths answer with and without the trailing slash.
pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let router = router.route(route.path, route.handlers.clone());
            match route.path.strip_suffix('/') {
                Some(bare) if !bare.is_empty() => router.route(bare, route.handlers),
                _ => router,
            }
        })
        .route("/openapi.json", get(openapi::document))
        .fallback(super::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

async fn method_not_allowed() -> (axum::http::StatusCode, axum::Json<ErrorBody>) {
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(ErrorBody {
            detail: "Method not allowed.".to_owned(),
            errors: None,
        }),
    )
}
