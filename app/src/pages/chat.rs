//! The chat page: people on the left, the open conversation on the right.
//! Server-rendered with the first page of people, then live in the browser.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::components::{Avatar, ChatContext, UserList, provide_hydrated};
use crate::error::AppError;
use crate::server_fns::auth::{LogOut, Viewer, current_viewer};

#[component]
pub fn ChatPage() -> impl IntoView {
    let viewer = Resource::new(|| (), |()| current_viewer());
    view! {
        <Suspense fallback=|| view! { <p class="list-note">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(viewer)) => view! { <ChatLayout viewer /> }.into_any(),
                    Ok(None) | Err(AppError::Unauthorized) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ChatLayout(viewer: Viewer) -> impl IntoView {
    provide_hydrated();
    let chat = ChatContext::new(viewer.clone());
    provide_context(chat);
    let location = use_location();
    open_live_connection(chat, location.pathname);

    let conversation_open = move || location.pathname.get().starts_with("/chat/");
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <div class="chat-layout" data-open=move || conversation_open().to_string()>
            <aside class="sidebar">
                <header class="sidebar-header">
                    <div class="me">
                        <Avatar name=viewer.username.clone() />
                        <span class="me-name">{viewer.username.clone()}</span>
                    </div>
                    <ActionForm action=log_out>
                        <button class="btn btn-ghost" type="submit">"Log out"</button>
                    </ActionForm>
                </header>
                <UserList />
            </aside>
            <Outlet />
        </div>
    }
}

/// Opens the event stream for as long as the chat page is mounted. Reconnects
/// replay what was missed; when the stream cannot (first connection, resync),
/// the open conversation's newest page is merged in instead.
fn open_live_connection(chat: ChatContext, pathname: Memo<String>) {
    #[cfg(feature = "hydrate")]
    {
        // `try_`: fetches may finish after the page is gone.
        let open_conversation = move || {
            pathname
                .try_get_untracked()?
                .strip_prefix("/chat/")
                .map(str::to_owned)
        };
        let reload = move || {
            let Some(other) = open_conversation() else {
                return;
            };
            leptos::task::spawn_local(async move {
                let newest = crate::server_fns::messages::list_messages(other.clone(), None).await;
                for message in newest.map(|chunk| chunk.items).unwrap_or_default() {
                    chat.add_live_message(message, Some(&other));
                }
            });
        };
        let connection = crate::client::LiveConnection::open(
            chat.connection,
            move |message| chat.add_live_message(message, open_conversation().as_deref()),
            reload,
        );
        let connection = StoredValue::new_local(Some(connection));
        on_cleanup(move || {
            if let Some(connection) = connection.try_update_value(Option::take).flatten() {
                connection.close();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, pathname);
}
