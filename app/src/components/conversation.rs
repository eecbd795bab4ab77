//! One conversation: its history (older pages load on scroll), live messages,
//! day separators, and the composer.

use std::collections::BTreeMap;

use leptos::html::Div;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::time::{clock_time, day_key, day_label};
use super::{Avatar, ChatContext, Composer, ConnectionState};
use crate::error::AppError;
use crate::models::Message;
use crate::server_fns::messages::list_messages;

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

    view! {
        <Title text=move || format!("{} · ChatApp", other.get()) />
        <section class="conversation" aria-label=move || format!("Conversation with {}", other.get())>
            <header class="conversation-header">
                <a class="back-link" href="/" aria-label="Back to people">"‹"</a>
                {move || view! { <Avatar name=other.get() /> }}
                <h2>{move || other.get()}</h2>
                <ConnectionBadge />
            </header>
            <Transition fallback=|| view! { <div class="message-scroller"><p class="history-note">"Loading messages…"</p></div> }>
                {move || Suspend::new(async move {
                    match latest.await {
                        Ok(chunk) => view! {
                            <MessageList other latest_has_older=chunk.has_more latest=chunk.items />
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
            Self::Day(key, _) => format!("day-{key}"),
            Self::Message(message) => format!("msg-{}", message.id),
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
    let pending = move || {
        let other = other.get();
        chat.pending.with(|pending| {
            pending
                .iter()
                .filter(|message| message.recipient.eq_ignore_ascii_case(&other))
                .cloned()
                .collect::<Vec<_>>()
        })
    };

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
            if let Ok(chunk) = list_messages(other, Some(oldest)).await {
                older.update(|older| older.extend(chunk.items));
                older_has_more.set(chunk.has_more);
            }
            loading_older.set(false);
        });
    };

    // Keep the view where the reader expects it: at the bottom on open and when
    // a message arrives while they are there; still when older ones appear above.
    Effect::new(move |previous: Option<(Option<i64>, Option<i64>, usize)>| {
        let ends = messages.with(|messages| {
            (
                messages.first().map(|m| m.id),
                messages.last().map(|m| m.id),
                chat.pending.with(Vec::len),
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
                    if (ends.1 != newest || ends.2 > pending) && stick_to_bottom.get_value() {
                        element.set_scroll_top(element.scroll_height());
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
            <Show when=move || messages.with(Vec::is_empty) && pending().is_empty()>
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
                            view! {
                                <li class="message" class:mine=mine class:theirs=!mine data-id=message.id>
                                    <div class="bubble">
                                        <p class="message-body">{message.body}</p>
                                        <time class="message-time" datetime=timestamp.to_rfc3339()>
                                            {move || clock_time(&timestamp)}
                                        </time>
                                    </div>
                                </li>
                            }.into_any()
                        }
                    }}
                </For>
                <For each=pending key=|message| (message.client_id.clone(), message.retrying) let(message)>
                    <li
                        class="message mine pending"
                        data-client-id=message.client_id.clone()
                        data-state=if message.retrying { "retrying" } else { "sending" }
                    >
                        <div class="bubble">
                            <p class="message-body">{message.body}</p>
                            <span class="message-time">
                                {if message.retrying { "Not sent yet · retrying…" } else { "Sending…" }}
                            </span>
                        </div>
                    </li>
                </For>
            </ol>
        </div>
    }
}
