//! Server functions the UI calls, one per file, grouped by resource. Each is a
//! thin edge over the domain layer, like the REST handlers, and answers with
//! the same wire types.

pub mod auth;
pub mod conversations;
pub mod messages;
pub mod users;

/// The logged-in user, as a server function answers it.
#[cfg(feature = "ssr")]
pub(crate) async fn require_user()
-> Result<crate::domain::auth::SessionUser, crate::error::AppError> {
    let session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
    session.user.ok_or(crate::error::AppError::Unauthorized)
}

/// The client address of the request a server function is answering.
#[cfg(feature = "ssr")]
pub(crate) fn client_ip(state: &crate::domain::AppState) -> std::net::IpAddr {
    leptos::prelude::use_context::<axum::http::request::Parts>().map_or(
        std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        |parts| crate::domain::client_ip::of_request(&parts, &state.settings.trusted_proxies),
    )
}

/// Runs a server function's work and, on failure, answers with the error's
/// own HTTP status (400, 401, 409…) instead of a blanket 500. A plain form
/// post (a browser without the WASM) keeps the redirect `server_fn` answers
/// it with: back to the form's page, the error in its URL for the page to
/// show. A 400 there would leave that browser on a page of raw JSON.
#[cfg(feature = "ssr")]
pub(crate) async fn respond<T>(
    work: impl Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    let result = work.await;
    if let Err(error) = &result
        && !is_plain_form_post()
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}

/// Whether the request is a form posted by the browser itself (it accepts
/// HTML), not a `fetch` from the WASM.
#[cfg(feature = "ssr")]
fn is_plain_form_post() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    })
}
