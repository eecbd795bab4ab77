//! State shared by the chat page's parts: who is reading, what arrived live,
//! and how the live connection is doing.

use leptos::prelude::*;

use crate::models::Message;
use crate::server_fns::auth::Viewer;

/// How the live notification connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Live,
    Reconnecting,
}

/// Provided by the chat page to everything inside it.
#[derive(Clone, Copy)]
pub struct ChatContext {
    pub viewer: StoredValue<Viewer>,
    /// Messages that arrived over the socket or were just sent, in any conversation.
    pub live_messages: RwSignal<Vec<Message>>,
    pub connection: RwSignal<ConnectionState>,
}

impl ChatContext {
    pub fn use_context() -> Self {
        expect_context::<Self>()
    }

    /// Adds a message that arrived live, once, if it belongs to the open
    /// conversation (`open_with`). Others are not kept: opening a conversation
    /// loads its newest page from the server anyway, so the tab's memory
    /// grows only with what it shows.
    pub fn add_live_message(&self, message: Message, open_with: Option<&str>) {
        if !open_with.is_some_and(|other| message.involves(other)) {
            return;
        }
        self.live_messages.update(|messages| {
            if !messages.iter().any(|known| known.id == message.id) {
                messages.push(message);
            }
        });
    }
}
