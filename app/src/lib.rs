//! ChatApp's application crate, shared by the server and the browser.
//!
//! - [`pages`] and [`components`]: the Leptos UI, rendered on the server and
//!   hydrated in the browser.
//! - [`server_fns`]: the server functions the UI calls.
//! - [`wire`]: the wire contract (bodies, pages, the event stream's frames),
//!   and [`error`]: the one error type; shared by both sides and the tests.
//! - [`client`]: the browser's access to the API and the live stream.
//! - `domain` (server only): accounts, messages, sessions and the channel layer,
//!   called by the server functions and by the REST API in the `server` crate.

pub mod client;
pub mod components;
pub mod error;
pub mod inbox;
pub mod pages;
pub mod server_fns;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
mod page_policy;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    page_policy::apply(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The routed application.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page as interactive, for people's tools and for the browser tests.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Title text="ChatApp" />
        <Router>
            <Routes fallback=pages::NotFound>
                <ParentRoute path=path!("") view=pages::ChatPage ssr=SsrMode::Async>
                    <Route path=path!("") view=components::NoConversation ssr=SsrMode::Async />
                    <Route
                        path=path!("chat/:username")
                        view=components::ConversationPane
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/register") view=pages::RegisterPage ssr=SsrMode::Async />
                <Route path=path!("/settings") view=pages::SettingsPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=pages::ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=pages::ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/confirm-email") view=pages::ConfirmEmailPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
