//! The conversation list: who you talk to, most recent first, with the
//! newest message and an unread badge. Server-rendered from a snapshot, then
//! kept current by the event stream (see `crate::inbox`).

use leptos::prelude::*;
use leptos_router::components::A;

use super::time::{list_time, live_time};
use super::{Avatar, ChatContext, PresenceDot};
use crate::server_fns::conversations::list_conversations;
use crate::wire::Conversation;

#[component]
pub fn ConversationList() -> impl IntoView {
    let chat = ChatContext::use_context();
    let snapshot = Resource::new(|| (), |()| list_conversations());
    let loaded = StoredValue::new(false);
    view! {
        <nav class="conversation-list" aria-label="Conversations">
            <h2 class="sidebar-heading">"Chats"</h2>
            <Suspense fallback=|| view! { <p class="list-note">"Loading conversations…"</p> }>
                {move || Suspend::new(async move {
                    match snapshot.await {
                        Ok(page) => {
                            if !loaded.get_value() {
                                loaded.set_value(true);
                                chat.load_inbox(page);
                            }
                            view! { <Conversations /> }.into_any()
                        }
                        Err(error) => view! { <p class="list-note">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </nav>
    }
}

#[component]
fn Conversations() -> impl IntoView {
    let chat = ChatContext::use_context();
    let empty = move || chat.inbox.with(|inbox| inbox.conversations.is_empty());
    view! {
        <Show
            when=move || !empty()
            fallback=|| view! { <p class="list-note">"No conversations yet: pick someone below."</p> }
        >
            <ul>
                <For
                    each=move || chat.inbox.get().conversations
                    key=|conversation| {
                        (
                            conversation.with.clone(),
                            conversation.last_message.id,
                            conversation.last_message.body.clone(),
                            conversation.unread,
                        )
                    }
                    let(conversation)
                >
                    <ConversationItem conversation />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn ConversationItem(conversation: Conversation) -> impl IntoView {
    let me = ChatContext::use_context()
        .viewer
        .with_value(|viewer| viewer.username.clone());
    let href = format!("/chat/{}", conversation.with);
    let preview = conversation.last_message.clone();
    let from_me = preview.user.eq_ignore_ascii_case(&me);
    let ellipsis = if preview.truncated { "…" } else { "" };
    // Someone else's text sits in <bdi>: a right-to-left override in it
    // cannot reorder "You: " or the ellipsis around it.
    let text = if preview.deleted {
        view! { "Message deleted" }.into_any()
    } else {
        let prefix = if from_me { "You: " } else { "" };
        view! { {prefix}<bdi>{preview.body.clone()}</bdi>{ellipsis} }.into_any()
    };
    let timestamp = preview.timestamp;
    let unread = conversation.unread;
    view! {
        <li>
            <A href=href attr:class="conversation-item" attr:data-unread=unread.to_string()>
                <span class="avatar-with-presence">
                    <Avatar name=conversation.with.clone() />
                    <PresenceDot who=conversation.with.clone() />
                </span>
                <span class="conversation-text">
                    <span class="conversation-top">
                        <span class="user-name">{conversation.with.clone()}</span>
                        <time class="conversation-time" datetime=timestamp.to_rfc3339()>
                            {live_time(timestamp, list_time)}
                        </time>
                    </span>
                    <span class="conversation-preview" class:deleted=preview.deleted>{text}</span>
                </span>
                {(unread > 0).then(|| view! {
                    <span class="unread-badge" aria-label=format!("{unread} unread")>{unread}</span>
                })}
            </A>
        </li>
    }
}
