//! The chat page: people on the left, the open conversation on the right.
//! Server-rendered with the first page of people, then live in the browser.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

use crate::components::{Avatar, ChatContext, ConversationList, UserList, provide_local_clock};
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
    provide_local_clock();
    let chat = ChatContext::new(viewer.clone());
    provide_context(chat);
    show_unread_in_title(chat);
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
                        <span class="me-name" title=viewer.username.clone()>{viewer.username.clone()}</span>
                    </div>
                    // Icons, named for screen readers and on hover, so the
                    // reader's own name keeps the room.
                    <span class="header-actions">
                        <A href="/settings" attr:class="btn btn-ghost btn-icon" attr:aria-label="Settings" attr:title="Settings">
                            <svg viewBox="0 0 24 24" aria-hidden="true">
                                <path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12" />
                                <circle cx="16" cy="6" r="2" />
                                <circle cx="10" cy="12" r="2" />
                                <circle cx="18" cy="18" r="2" />
                            </svg>
                        </A>
                        <ActionForm action=log_out>
                            <button class="btn btn-ghost btn-icon" type="submit" aria-label="Log out" title="Log out">
                                <svg viewBox="0 0 24 24" aria-hidden="true">
                                    <path d="M10 4H5v16h5M18 12H9M14 8l4 4-4 4" />
                                </svg>
                            </button>
                        </ActionForm>
                    </span>
                </header>
                <NotificationsToggle />
                <div class="sidebar-scroll">
                    <ConversationList />
                    <h2 class="sidebar-heading">"People"</h2>
                    <UserList />
                </div>
            </aside>
            <Outlet />
        </div>
    }
}

/// Opens the event stream for as long as the chat page is mounted. Events
/// update the conversation list at once, in order; the messages they name
/// are fetched and shown when they arrive. Reconnects replay what was missed;
/// when the stream cannot (first connection, resync), the list and the open
/// conversation's newest page are loaded again instead.
fn open_live_connection(chat: ChatContext, pathname: Memo<String>) {
    #[cfg(feature = "hydrate")]
    {
        use crate::client::{Handlers, LiveConnection};
        use crate::wire::{ClientFrame, Event, EventBody, PresenceStatus};

        // `try_`: fetches may finish after the page is gone.
        let open_conversation = move || {
            pathname
                .try_get_untracked()?
                .strip_prefix("/chat/")
                .map(str::to_owned)
        };
        let reload = move || {
            leptos::task::spawn_local(async move {
                if let Ok(page) = crate::server_fns::conversations::list_conversations().await {
                    chat.load_inbox(page);
                }
            });
            let Some(other) = open_conversation() else {
                return;
            };
            leptos::task::spawn_local(async move {
                let newest = crate::server_fns::messages::list_messages(other.clone(), None).await;
                for message in newest.map(|page| page.results).unwrap_or_default() {
                    chat.replace_live_message(message, Some(&other));
                }
            });
        };
        let on_event = move |event: Event| {
            if let EventBody::Message { with, .. } = &event.body {
                chat.stopped_typing(with);
            }
            let named = event.body.message_id();
            let is_new = matches!(event.body, EventBody::Message { .. });
            // Their messages became tombstones all at once: show them so.
            let erased = matches!(event.body, EventBody::AccountDeleted { .. });
            chat.apply_event(event);
            if erased {
                reload();
            }
            let Some(id) = named else { return };
            leptos::task::spawn_local(async move {
                match crate::client::fetch_message(id).await {
                    Ok(message) => {
                        chat.apply_message(&message);
                        let open = open_conversation();
                        if is_new {
                            notify_if_unseen(&chat, &message, open.as_deref());
                            chat.add_live_message(message, open.as_deref());
                        } else {
                            chat.replace_live_message(message, open.as_deref());
                        }
                    }
                    // Not visible any more: nothing to show.
                    Err(crate::error::AppError::NotFound) => {}
                    // Could not fetch it: reload rather than leave a hole.
                    Err(_) => reload(),
                }
            });
        };
        let connection = LiveConnection::open(
            chat.connection,
            Handlers {
                on_event,
                on_typing: move |from: String| chat.someone_typing(&from),
                on_reload: reload,
            },
        );
        let connection = StoredValue::new_local(Some(connection));
        let send = move |frame: ClientFrame| {
            connection.with_value(|connection| {
                if let Some(connection) = connection {
                    connection.send(&frame);
                }
            });
        };
        // Hidden tabs count as away; shown again, online.
        let visibility =
            leptos::prelude::window_event_listener_untyped("visibilitychange", move |_| {
                let hidden = document().visibility_state() == web_sys::VisibilityState::Hidden;
                let status = if hidden {
                    PresenceStatus::Away
                } else {
                    PresenceStatus::Online
                };
                send(ClientFrame::Presence { status });
            });
        on_cleanup(move || visibility.remove());
        poll_presence(chat, pathname);
        // Typing signals the composer raises go out on the socket.
        Effect::new(move |_| {
            if let Some((to, _)) = chat.typing_out.get() {
                send(ClientFrame::Typing { to });
            }
        });
        on_cleanup(move || {
            if let Some(connection) = connection.try_update_value(Option::take).flatten() {
                connection.close();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, pathname);
}

/// "(3) bob · ChatApp": the unread total leads the tab's title, whatever page
/// title the open view sets.
fn show_unread_in_title(chat: ChatContext) {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |_| {
            let total = chat.inbox.with(crate::inbox::Inbox::total_unread);
            location.pathname.track();
            // After the view's own <Title> has been applied.
            request_animation_frame(move || {
                let document = document();
                let title = document.title();
                let base = match title.split_once(") ") {
                    Some((count, rest))
                        if count.starts_with('(')
                            && count[1..].chars().all(|c| c.is_ascii_digit()) =>
                    {
                        rest.to_owned()
                    }
                    _ => title,
                };
                let wanted = if total > 0 {
                    format!("({total}) {base}")
                } else {
                    base
                };
                if document.title() != wanted {
                    document.set_title(&wanted);
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = chat;
}

/// How often the presence of the people on screen is refreshed.
#[cfg(feature = "hydrate")]
const PRESENCE_POLL: std::time::Duration = std::time::Duration::from_secs(15);

/// Keeps `chat.presence` current for everyone in the conversation list and
/// the open conversation: now, whenever they change, and every 15 s.
#[cfg(feature = "hydrate")]
fn poll_presence(chat: ChatContext, pathname: Memo<String>) {
    let people = Memo::new(move |_| {
        let mut people: Vec<String> = chat.inbox.with(|inbox| {
            inbox
                .conversations
                .iter()
                .map(|c| c.with.to_ascii_lowercase())
                .collect()
        });
        if let Some(open) = pathname.get().strip_prefix("/chat/") {
            people.push(open.to_ascii_lowercase());
        }
        chat.directory.with(|directory| {
            people.extend(directory.iter().map(|name| name.to_ascii_lowercase()));
        });
        people.sort();
        people.dedup();
        people
    });
    let refresh = move || {
        let Some(people) = people.try_get_untracked() else {
            return;
        };
        if people.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(statuses) = crate::client::fetch_presence(&people).await {
                chat.presence.try_set(
                    statuses
                        .into_iter()
                        .map(|(name, status)| (name.to_ascii_lowercase(), status))
                        .collect(),
                );
            }
        });
    };
    Effect::new(move |_| {
        people.track();
        refresh();
    });
    if let Ok(interval) = set_interval_with_handle(refresh, PRESENCE_POLL) {
        on_cleanup(move || interval.clear());
    }
}

/// A browser notification for a message from someone whose conversation is
/// not on screen, if the user allowed them.
#[cfg(feature = "hydrate")]
fn notify_if_unseen(chat: &ChatContext, message: &crate::wire::Message, open: Option<&str>) {
    use web_sys::{Notification, NotificationOptions, NotificationPermission};
    // Fetched asynchronously: the page may be gone.
    let Some(me) = chat.viewer.try_with_value(|viewer| viewer.username.clone()) else {
        return;
    };
    let from_other = !message.user.eq_ignore_ascii_case(&me);
    let on_screen = open.is_some_and(|open| open.eq_ignore_ascii_case(&message.user))
        && document().visibility_state() == web_sys::VisibilityState::Visible;
    if !from_other || on_screen || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    let (start, truncated) = crate::wire::preview(&message.body);
    options.set_body(&if truncated {
        format!("{start}…")
    } else {
        start
    });
    options.set_tag(&format!("chatapp-{}", message.user));
    options.set_silent(Some(true));
    let _ = Notification::new_with_options(&message.user, &options);
}

/// "Turn on notifications", while the browser has not been asked yet.
#[component]
fn NotificationsToggle() -> impl IntoView {
    let ask = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        ask.set(web_sys::Notification::permission() == web_sys::NotificationPermission::Default);
    });
    let request = move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(promise) = web_sys::Notification::request_permission() {
            leptos::task::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                ask.try_set(false);
            });
        }
    };
    view! {
        <Show when=move || ask.get()>
            <p class="notify-banner">
                "Get a notification when a message arrives. "
                <button class="btn-link" type="button" on:click=request>"Turn on"</button>
            </p>
        </Show>
    }
}
