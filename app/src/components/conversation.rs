//! One conversation: its history (older pages load on scroll), live messages,
//! day separators, and the composer.

use std::collections::BTreeMap;

use leptos::html::Div;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::time::{clock_time, day_key, day_label, live_time};
use super::{Avatar, ChatContext, Composer, MessageText, PresenceDot};
use crate::client::ConnectionState;
use crate::error::AppError;
use crate::server_fns::messages::list_messages;
use crate::wire::Message;

/// Within this many pixels of the bottom, new messages keep the view pinned there.
const STICKY_BOTTOM_PX: i32 = 120;
/// Within this many pixels of the top, older messages start loading.
const LOAD_OLDER_PX: i32 = 120;

/// Shown when no conversation is open.
#[component]
pub fn NoConversation() -> impl IntoView {
    view! {
        <section class="conversation">
            <div class="empty-state">
                <h2>"Pick someone to chat with"</h2>
                <p>"Choose a person on the left, or search for them by name."</p>
            </div>
        </section>
    }
}

/// The conversation named by the `:username` route parameter.
#[component]
pub fn ConversationPane() -> impl IntoView {
    let params = use_params_map();
    let other = Memo::new(move |_| params.read().get("username").unwrap_or_default());
    let latest = Resource::new(move || other.get(), |other| list_messages(other, None));
    // A plain string on the server. The chat page's Suspense may build this
    // pane more than once while the page renders; Leptos keeps the <Title>
    // of every build and reads one when the page is done, which can be a
    // discarded build whose signals are gone (a panic, seen under
    // concurrent page loads).
    #[cfg(feature = "ssr")]
    let title = format!("{} · ChatApp", other.get_untracked());
    #[cfg(not(feature = "ssr"))]
    let title = move || format!("{} · ChatApp", other.get());

    view! {
        <Title text=title />
        <section class="conversation" aria-label=move || format!("Conversation with {}", other.get())>
            <header class="conversation-header">
                <a class="back-link" href="/" aria-label="Back to people">"‹"</a>
                <span class="avatar-with-presence">
                    {move || view! { <Avatar name=other.get() /> }}
                    <PresenceDot who=other announced=true />
                </span>
                <div class="conversation-title">
                    <h2>{move || other.get()}</h2>
                    <TypingNote other />
                </div>
                <ConnectionBadge />
            </header>
            <Transition fallback=|| view! { <div class="message-scroller"><p class="history-note">"Loading messages…"</p></div> }>
                {move || Suspend::new(async move {
                    match latest.await {
                        Ok(page) => view! {
                            <MessageList other latest_has_older=page.has_more() latest=page.results />
                            <Composer recipient=other />
                        }.into_any(),
                        Err(AppError::Validation(_)) => view! {
                            <div class="empty-state">
                                <h2>"No such user"</h2>
                                <p>"Pick someone from the list instead."</p>
                            </div>
                        }.into_any(),
                        Err(error) => view! {
                            <div class="empty-state"><p role="alert">{error.to_string()}</p></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ConnectionBadge() -> impl IntoView {
    let chat = ChatContext::use_context();
    move || {
        let (state, text) = match chat.connection.get() {
            ConnectionState::Connecting => ("connecting", "Connecting…"),
            ConnectionState::Live => ("live", ""),
            ConnectionState::Reconnecting => ("offline", "Reconnecting…"),
            ConnectionState::Offline => {
                ("offline", "Offline: messages will send when you are back")
            }
        };
        view! { <span class="connection-status" data-state=state role="status">{text}</span> }
    }
}

enum Row {
    Day(String, String),
    Message(Message),
}

impl Row {
    fn key(&self) -> String {
        match self {
            // The label too: the same day may be named anew (the server's
            // UTC "Yesterday" is the reader's "Today").
            Self::Day(key, label) => format!("day-{key}-{label}"),
            // An edit or a deletion renders the row anew (edit times are
            // whole seconds, so the body itself is part of the key).
            Self::Message(message) => {
                use std::hash::{Hash, Hasher};
                let mut body = std::collections::hash_map::DefaultHasher::new();
                message.body.hash(&mut body);
                format!("msg-{}-{:x}-{}", message.id, body.finish(), message.deleted)
            }
        }
    }
}

#[component]
fn MessageList(other: Memo<String>, latest: Vec<Message>, latest_has_older: bool) -> impl IntoView {
    let chat = ChatContext::use_context();
    let me = chat.viewer.with_value(|viewer| viewer.username.clone());
    let older = RwSignal::new(Vec::<Message>::new());
    let older_has_more = RwSignal::new(latest_has_older);
    let loading_older = RwSignal::new(false);
    let scroller = NodeRef::<Div>::new();
    let stick_to_bottom = StoredValue::new(true);
    // Scroll position before older messages were prepended, to restore after.
    let anchor = StoredValue::new(None::<(i32, i32)>);

    // History, older pages and live arrivals, once each, oldest first.
    let messages = Memo::new(move |_| {
        let other = other.get();
        let mut by_id = BTreeMap::new();
        for message in older.get().into_iter().chain(latest.iter().cloned()) {
            by_id.insert(message.id, message);
        }
        chat.live_messages.with(|live| {
            for message in live.iter().filter(|message| message.involves(&other)) {
                by_id.insert(message.id, message.clone());
            }
        });
        by_id.into_values().collect::<Vec<_>>()
    });

    // This conversation's messages still on their way, in the order written.
    let pending = Memo::new(move |_| {
        let other = other.get();
        chat.pending.with(|pending| {
            pending
                .iter()
                .filter(|message| message.recipient.eq_ignore_ascii_case(&other))
                .cloned()
                .collect::<Vec<_>>()
        })
    });

    // "Seen" goes under my newest message the other person has read.
    let seen_id = Memo::new(move |_| {
        let other = other.get();
        let seen_up_to = chat
            .inbox
            .with(|inbox| inbox.get(&other).and_then(|c| c.seen_up_to))?;
        let me = chat.viewer.with_value(|viewer| viewer.username.clone());
        messages.with(|messages| {
            messages
                .iter()
                .filter(|m| m.user == me && !m.deleted && m.id <= seen_up_to)
                .map(|m| m.id)
                .max()
        })
    });
    mark_read_while_visible(chat, other, messages);
    let editing = RwSignal::new(None::<i64>);
    // The own message last tapped or clicked, whose actions stay shown.
    let selected = RwSignal::new(None::<i64>);
    let action_error = RwSignal::new(None::<String>);

    let rows = move || {
        let mut rows = Vec::new();
        let mut last_day = String::new();
        for message in messages.get() {
            let day = day_key(&message.timestamp);
            if day != last_day {
                rows.push(Row::Day(day.clone(), day_label(&message.timestamp)));
                last_day = day;
            }
            rows.push(Row::Message(message));
        }
        rows
    };

    let load_older = move || {
        if loading_older.get_untracked() || !older_has_more.get_untracked() {
            return;
        }
        let Some(oldest) = messages.with_untracked(|messages| messages.first().map(|m| m.id))
        else {
            return;
        };
        if let Some(element) = scroller.get_untracked() {
            anchor.set_value(Some((element.scroll_height(), element.scroll_top())));
        }
        loading_older.set(true);
        let other = other.get_untracked();
        leptos::task::spawn_local(async move {
            if let Ok(page) = list_messages(other, Some(oldest)).await {
                older_has_more.set(page.has_more());
                older.update(|older| older.extend(page.results));
            }
            loading_older.set(false);
        });
    };

    let me_for_scroll = me.clone();
    // A message arrived while the reader was scrolled up: "New messages ↓".
    let unseen_below = RwSignal::new(false);
    let to_bottom = move || {
        if let Some(element) = scroller.get_untracked() {
            element.set_scroll_top(element.scroll_height());
        }
        unseen_below.set(false);
    };

    // Keep the view where the reader expects it: at the bottom on open, when
    // they send, and when a message arrives while they are there; still when
    // older ones appear above.
    Effect::new(move |previous: Option<(Option<i64>, Option<i64>, usize)>| {
        let (ends, newest_is_theirs) = messages.with(|messages| {
            (
                (
                    messages.first().map(|m| m.id),
                    messages.last().map(|m| m.id),
                    pending.with(Vec::len),
                ),
                messages.last().is_some_and(|m| m.user != me_for_scroll),
            )
        });
        if let Some(element) = scroller.get() {
            // After the next layout, when the new rows have their heights.
            request_animation_frame(move || match previous {
                None => element.set_scroll_top(element.scroll_height()),
                Some((oldest, newest, pending)) => {
                    if ends.0 != oldest
                        && let Some((height, top)) = anchor.get_value()
                    {
                        element.set_scroll_top(top + element.scroll_height() - height);
                        anchor.set_value(None);
                    }
                    // My own message goes to the bottom, and so does the view.
                    if ends.2 > pending || (ends.1 != newest && stick_to_bottom.get_value()) {
                        element.set_scroll_top(element.scroll_height());
                    } else if ends.1 > newest && newest_is_theirs {
                        unseen_below.set(true);
                    }
                }
            });
        }
        ends
    });

    view! {
        <div
            class="message-scroller"
            node_ref=scroller
            on:scroll=move |_| {
                let Some(element) = scroller.get_untracked() else { return };
                let from_bottom = element.scroll_height() - element.scroll_top() - element.client_height();
                stick_to_bottom.set_value(from_bottom < STICKY_BOTTOM_PX);
                if from_bottom < STICKY_BOTTOM_PX {
                    unseen_below.set(false);
                }
                if element.scroll_top() < LOAD_OLDER_PX {
                    load_older();
                }
            }
        >
            <Show when=move || older_has_more.get()>
                <p class="history-note">
                    <button class="btn-link" on:click=move |_| load_older() disabled=move || loading_older.get()>
                        {move || if loading_older.get() { "Loading older messages…" } else { "Load older messages" }}
                    </button>
                </p>
            </Show>
            <Show when=move || messages.with(Vec::is_empty) && pending.with(Vec::is_empty)>
                <div class="empty-state">
                    <h2>"No messages yet"</h2>
                    <p>"Say hello! Messages you send appear here at once."</p>
                </div>
            </Show>
            <ol class="messages">
                <For each=rows key=Row::key let(row)>
                    {match row {
                        Row::Day(_, label) => view! {
                            <li class="day-separator"><span>{label}</span></li>
                        }.into_any(),
                        Row::Message(message) => {
                            let mine = message.user == me;
                            let timestamp = message.timestamp;
                            let id = message.id;
                            let deleted = message.deleted;
                            let edited = message.edited_at.is_some();
                            let body = message.body.clone();
                            view! {
                                <li
                                    class="message"
                                    class:mine=mine
                                    class:theirs=!mine
                                    class:deleted=deleted
                                    class:editing=move || editing.get() == Some(id)
                                    // A tap (touch screens never hover) shows its Edit and Delete.
                                    class:selected=move || selected.get() == Some(id)
                                    on:click=move |_| if mine && !deleted { selected.set(Some(id)) }
                                    data-id=id
                                >
                                    <div class="bubble">
                                        {move || if editing.get() == Some(id) {
                                            view! { <MessageEditor id body=body.clone() other editing /> }.into_any()
                                        } else if deleted {
                                            view! { <p class="message-body tombstone">"Message deleted"</p> }.into_any()
                                        } else {
                                            view! { <p class="message-body" dir="auto"><MessageText body=body.clone() /></p> }.into_any()
                                        }}
                                        <span class="message-meta">
                                            <time class="message-time" datetime=timestamp.to_rfc3339()>
                                                {live_time(timestamp, clock_time)}
                                            </time>
                                            {edited.then(|| view! { <span class="edited">"edited"</span> })}
                                            {move || (seen_id.get() == Some(id)).then(|| view! { <span class="seen">"Seen"</span> })}
                                        </span>
                                    </div>
                                    {(mine && !deleted).then(|| view! {
                                        <MessageActions id other editing action_error />
                                    })}
                                </li>
                            }.into_any()
                        }
                    }}
                </For>
                <For each=move || pending.get() key=|message| (message.client_id.clone(), message.retrying) let(message)>
                    <li
                        class="message mine pending"
                        data-client-id=message.client_id.clone()
                        data-state=if message.retrying { "retrying" } else { "sending" }
                    >
                        <div class="bubble">
                            <p class="message-body" dir="auto">{message.body}</p>
                            <span class="message-time">
                                {if message.retrying { "Not sent yet · retrying…" } else { "Sending…" }}
                            </span>
                        </div>
                    </li>
                </For>
            </ol>
            {move || action_error.get().map(|error| view! { <p class="composer-error" role="alert">{error}</p> })}
            <Show when=move || unseen_below.get()>
                <button class="btn btn-primary jump-to-latest" type="button" on:click=move |_| to_bottom()>
                    "New messages ↓"
                </button>
            </Show>
        </div>
    }
}

/// Edit and Delete, for the viewer's own messages.
#[component]
fn MessageActions(
    id: i64,
    other: Memo<String>,
    editing: RwSignal<Option<i64>>,
    action_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let chat = ChatContext::use_context();
    let delete = move |_| {
        action_error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::client::delete_message(id).await {
                Ok(()) => {
                    if let Ok(message) = crate::client::fetch_message(id).await
                        && let Some(other) = other.try_get_untracked()
                    {
                        chat.replace_live_message(message, Some(&other));
                    }
                }
                Err(error) => {
                    action_error.try_set(Some(format!("Not deleted: {error}")));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (chat, other);
    };
    // A deletion cannot be undone, and a stray tap must not make one.
    let confirming = RwSignal::new(false);
    let confirm_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = confirm_button.get() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="message-actions" class:confirming=move || confirming.get()>
            {move || if confirming.get() {
                view! {
                    <span>"Delete for everyone?"</span>
                    <button class="btn-link danger" type="button" node_ref=confirm_button on:click=delete>"Delete"</button>
                    <button class="btn-link" type="button" on:click=move |_| confirming.set(false)>"Keep"</button>
                }.into_any()
            } else {
                view! {
                    <button class="btn-link" type="button" on:click=move |_| editing.set(Some(id))>"Edit"</button>
                    <button class="btn-link" type="button" on:click=move |_| confirming.set(true)>"Delete"</button>
                }.into_any()
            }}
        </div>
    }
}

/// The inline editor that replaces a message's body while editing it.
#[component]
fn MessageEditor(
    id: i64,
    body: String,
    other: Memo<String>,
    editing: RwSignal<Option<i64>>,
) -> impl IntoView {
    let chat = ChatContext::use_context();
    let input = NodeRef::<leptos::html::Textarea>::new();
    let error = RwSignal::new(None::<String>);
    // The cursor goes to the end of the text, ready to type.
    Effect::new(move |_| {
        if let Some(element) = input.get() {
            let _ = element.focus();
            let end = u32::try_from(element.value().encode_utf16().count()).unwrap_or(u32::MAX);
            let _ = element.set_selection_range(end, end);
        }
    });
    let save = move || {
        let Some(element) = input.get_untracked() else {
            return;
        };
        let text = element.value();
        if text.trim().is_empty() {
            error.set(Some(
                "A message cannot be empty: delete it instead.".to_owned(),
            ));
            return;
        }
        error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use wasm_bindgen::JsCast;
            match crate::client::edit_message(id, &text).await {
                Ok(message) => {
                    if let Some(other) = other.try_get_untracked() {
                        chat.replace_live_message(message, Some(&other));
                    }
                    editing.try_set(None);
                    // Back to where the next message is written.
                    if let Some(composer) = document().get_element_by_id("composer-input")
                        && let Ok(composer) = composer.dyn_into::<web_sys::HtmlElement>()
                    {
                        let _ = composer.focus();
                    }
                }
                Err(failure) => {
                    error.try_set(Some(format!("Not saved: {failure}")));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (text, chat, other);
    };
    view! {
        <form class="message-editor" on:submit=move |event| { event.prevent_default(); save(); }>
            <label class="visually-hidden" for=format!("edit-{id}")>"Edit message"</label>
            <textarea
                id=format!("edit-{id}")
                node_ref=input
                prop:value=body
                on:keydown=move |event| {
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        save();
                    } else if event.key() == "Escape" {
                        editing.set(None);
                    }
                }
            ></textarea>
            {move || error.get().map(|error| view! { <p class="editor-error" role="alert">{error}</p> })}
            <span class="message-editor-buttons">
                <button class="btn-link" type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                <button class="btn btn-primary" type="submit">"Save"</button>
            </span>
        </form>
    }
}

/// Marks the conversation read up to the newest message from the other
/// person, whenever one is on screen in a visible tab and the server's
/// pointer is behind it. The `read` event then clears the badge everywhere.
fn mark_read_while_visible(chat: ChatContext, other: Memo<String>, messages: Memo<Vec<Message>>) {
    #[cfg(feature = "hydrate")]
    {
        // Re-checked when the window regains focus (a tab coming back).
        let focus = RwSignal::new(0_u32);
        let listener = window_event_listener(leptos::ev::focus, move |_| {
            focus.update(|count| *count += 1);
        });
        on_cleanup(move || listener.remove());
        let requested = StoredValue::new(0_i64);
        Effect::new(move |_| {
            focus.track();
            let other = other.get();
            let newest_theirs = messages.with(|messages| {
                messages
                    .iter()
                    .rev()
                    .find(|m| m.user.eq_ignore_ascii_case(&other))
                    .map(|m| m.id)
            });
            let Some(newest) = newest_theirs else { return };
            let visible = document().visibility_state() == web_sys::VisibilityState::Visible;
            let pointer = chat
                .inbox
                .with(|inbox| inbox.get(&other).map_or(0, |c| c.last_read_id));
            if !visible || newest <= pointer.max(requested.get_value()) {
                return;
            }
            requested.set_value(newest);
            leptos::task::spawn_local(async move {
                if crate::client::mark_read(&other, newest).await.is_err() {
                    // Try again on the next change.
                    requested.try_set_value(0);
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, other, messages);
}

/// "bob is typing…", while their signals keep coming.
#[component]
fn TypingNote(other: Memo<String>) -> impl IntoView {
    let chat = ChatContext::use_context();
    move || {
        let other = other.get();
        chat.is_typing(&other).then(|| {
            view! { <span class="typing-note" role="status">{format!("{other} is typing…")}</span> }
        })
    }
}
