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
/// own HTTP status (400, 401, 409…) instead of a blanket 500.
#[cfg(feature = "ssr")]
pub(crate) async fn respond<T>(
    work: impl Future<Output = Result<T, crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    let result = work.await;
    if let Err(error) = &result
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}
