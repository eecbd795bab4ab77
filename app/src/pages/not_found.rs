//! The page for unknown addresses.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · ChatApp" />
        <main class="auth-page">
            <div class="auth-card">
                <h1 class="brand">"Page not found"</h1>
                <p class="auth-subtitle">"There is nothing at this address."</p>
                <a class="btn btn-primary" href="/">"Go to your chats"</a>
            </div>
        </main>
    }
}
