//! State shared by the chat page's parts: who is reading, what arrived live,
//! what is being sent, and how the live connection is doing.

use leptos::prelude::*;

use crate::client::ConnectionState;
use crate::inbox::Inbox;
use crate::server_fns::auth::Viewer;
use crate::wire::{Conversation, Event, Message, Page, PresenceStatus};

/// A message on its way: shown at once, sent (and retried) in order until
/// the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMessage {
    /// The idempotency key: every retry of this message carries it.
    pub client_id: String,
    pub recipient: String,
    pub body: String,
    /// The last attempt failed (offline, server away): retrying.
    pub retrying: bool,
}

/// Provided by the chat page to everything inside it.
#[derive(Clone, Copy)]
pub struct ChatContext {
    pub viewer: StoredValue<Viewer>,
    /// Messages that arrived over the socket or were just sent, in any conversation.
    pub live_messages: RwSignal<Vec<Message>>,
    pub connection: RwSignal<ConnectionState>,
    /// Messages sent from this tab that the server has not confirmed yet.
    pub pending: RwSignal<Vec<PendingMessage>>,
    /// Why the last message could not be sent, if it was refused.
    pub send_error: RwSignal<Option<String>>,
    /// Whether the outbox is being worked through.
    pub flushing: StoredValue<bool>,
    /// The conversation list with unread counts, kept current by the stream.
    pub inbox: RwSignal<Inbox>,
    /// The latest events and the messages they named, replayed onto a fresh
    /// snapshot: one may land while the snapshot is on its way.
    recent: StoredValue<(Vec<Event>, Vec<Message>)>,
    /// Who is typing to the viewer now (lower-case username → signal token).
    pub typing: RwSignal<std::collections::HashMap<String, u32>>,
    /// A typing signal to send: (to, counter), watched by the live connection.
    pub typing_out: RwSignal<Option<(String, u32)>>,
    /// When the last typing signal went out (browser milliseconds).
    typing_sent_at: StoredValue<f64>,
    /// The people the People list shows (their presence is polled too).
    pub directory: RwSignal<Vec<String>>,
    /// Who is online or away (lower-case username), refreshed while shown.
    pub presence: RwSignal<std::collections::HashMap<String, PresenceStatus>>,
    /// Unsent text per conversation (lower-case username): a draft stays
    /// with the conversation it was written in.
    pub drafts: StoredValue<std::collections::HashMap<String, String>>,
    /// Whether a composer has shown a draft yet in this page.
    pub drafts_begun: StoredValue<bool>,
}

/// How long "… is typing" stays without a new signal.
pub const TYPING_SHOWN_MS: u64 = 5_000;
/// The least time between two typing signals this tab sends.
const TYPING_SEND_EVERY_MS: f64 = 3_000.0;

/// How many recent events are kept for replay onto a fresh snapshot.
const RECENT_EVENTS: usize = 100;

impl ChatContext {
    pub fn new(viewer: Viewer) -> Self {
        let me = viewer.username.clone();
        Self {
            inbox: RwSignal::new(Inbox {
                me,
                ..Inbox::default()
            }),
            viewer: StoredValue::new(viewer),
            live_messages: RwSignal::new(Vec::new()),
            connection: RwSignal::new(ConnectionState::Connecting),
            pending: RwSignal::new(Vec::new()),
            send_error: RwSignal::new(None),
            flushing: StoredValue::new(false),
            recent: StoredValue::new((Vec::new(), Vec::new())),
            typing: RwSignal::new(std::collections::HashMap::new()),
            typing_out: RwSignal::new(None),
            typing_sent_at: StoredValue::new(f64::NEG_INFINITY),
            presence: RwSignal::new(std::collections::HashMap::new()),
            directory: RwSignal::new(Vec::new()),
            drafts: StoredValue::new(std::collections::HashMap::new()),
            drafts_begun: StoredValue::new(false),
        }
    }

    pub fn use_context() -> Self {
        expect_context::<Self>()
    }

    /// Adds a message that arrived live, once, if it belongs to the open
    /// conversation (`open_with`). Others are not kept: opening a conversation
    /// loads its newest page from the server anyway, so the tab's memory
    /// grows only with what it shows. A pending message it confirms is
    /// replaced by it.
    ///
    /// Fetches finish asynchronously, possibly after the chat page is gone:
    /// then this does nothing (the `try_` accessors see disposed signals).
    pub fn add_live_message(&self, message: Message, open_with: Option<&str>) {
        if let Some(client_id) = &message.client_id
            && self
                .pending
                .try_with_untracked(|pending| pending.iter().any(|p| &p.client_id == client_id))
                .unwrap_or(false)
        {
            self.pending
                .try_update(|pending| pending.retain(|p| &p.client_id != client_id));
        }
        if !open_with.is_some_and(|other| message.involves(other)) {
            return;
        }
        self.live_messages.try_update(|messages| {
            if !messages.iter().any(|known| known.id == message.id) {
                messages.push(message);
            }
        });
    }

    /// Takes `page` as the conversation list, then re-applies what arrived
    /// meanwhile (events at or before the snapshot's `seq` are skipped).
    pub fn load_inbox(&self, page: Page<Conversation>) {
        // Loaded asynchronously: the page may be gone.
        let Some(me) = self.viewer.try_with_value(|viewer| viewer.username.clone()) else {
            return;
        };
        let mut inbox = Inbox::from_page(&me, page);
        self.recent.try_with_value(|(events, messages)| {
            for event in events {
                inbox.apply(event);
            }
            for message in messages {
                inbox.show_message(message);
            }
        });
        self.inbox.try_set(inbox);
    }

    /// Applies a stream event to the conversation list.
    pub fn apply_event(&self, event: Event) {
        self.inbox.try_update(|inbox| inbox.apply(&event));
        self.recent
            .try_update_value(|(events, _)| push_recent(events, event));
    }

    /// Shows a fetched message in the conversation list.
    pub fn apply_message(&self, message: &Message) {
        self.inbox.try_update(|inbox| inbox.show_message(message));
        self.recent
            .try_update_value(|(_, messages)| push_recent(messages, message.clone()));
    }

    /// Shows "`from` is typing…" for a few seconds (again from now).
    pub fn someone_typing(&self, from: &str) {
        let key = from.to_ascii_lowercase();
        let token = self
            .typing
            .try_with_untracked(|typing| typing.get(&key).copied().unwrap_or(0))
            .unwrap_or(0)
            .wrapping_add(1);
        self.typing.try_update(|typing| {
            typing.insert(key.clone(), token);
        });
        let typing = self.typing;
        set_timeout(
            move || {
                typing.try_update(|typing| {
                    if typing.get(&key) == Some(&token) {
                        typing.remove(&key);
                    }
                });
            },
            std::time::Duration::from_millis(TYPING_SHOWN_MS),
        );
    }

    /// `who` stopped typing (their message arrived).
    pub fn stopped_typing(&self, who: &str) {
        let key = who.to_ascii_lowercase();
        self.typing.try_update(|typing| {
            typing.remove(&key);
        });
    }

    /// `who`'s presence, as last heard (offline when unknown).
    pub fn presence_of(&self, who: &str) -> PresenceStatus {
        self.presence.with(|presence| {
            presence
                .get(&who.to_ascii_lowercase())
                .copied()
                .unwrap_or(PresenceStatus::Offline)
        })
    }

    /// Whether `who` is typing to the viewer.
    pub fn is_typing(&self, who: &str) -> bool {
        self.typing
            .with(|typing| typing.contains_key(&who.to_ascii_lowercase()))
    }

    /// Tells `to` that the viewer is typing, at most every 3 seconds.
    pub fn announce_typing(&self, to: String, now_ms: f64) {
        if now_ms - self.typing_sent_at.get_value() < TYPING_SEND_EVERY_MS {
            return;
        }
        self.typing_sent_at.set_value(now_ms);
        let counter = self
            .typing_out
            .with_untracked(|out| out.as_ref().map_or(0, |(_, n)| n.wrapping_add(1)));
        self.typing_out.set(Some((to, counter)));
    }

    /// Replaces a message already shown (edited, or deleted to a tombstone),
    /// if it belongs to the open conversation.
    pub fn replace_live_message(&self, message: Message, open_with: Option<&str>) {
        if !open_with.is_some_and(|other| message.involves(other)) {
            return;
        }
        self.live_messages.try_update(|messages| {
            messages.retain(|known| known.id != message.id);
            messages.push(message);
        });
    }

    /// Queues a message to `recipient` and starts sending it.
    pub fn send(&self, recipient: String, body: String) {
        self.send_error.set(None);
        self.pending.update(|pending| {
            pending.push(PendingMessage {
                client_id: new_client_id(),
                recipient,
                body,
                retrying: false,
            });
        });
        #[cfg(feature = "hydrate")]
        self.flush();
    }

    /// Sends queued messages one at a time, oldest first, so they arrive in
    /// the order written. Network trouble and 5xx are retried with backoff
    /// (the same `client_id` makes a retry harmless); a refusal drops the
    /// message and says why.
    #[cfg(feature = "hydrate")]
    fn flush(self) {
        if self.flushing.try_get_value().unwrap_or(true) {
            return;
        }
        self.flushing.set_value(true);
        leptos::task::spawn_local(async move {
            let mut failures = 0_u32;
            // Stops when the queue is empty, or the page that owns it is gone.
            while let Some(next) = self
                .pending
                .try_with_untracked(|pending| pending.first().cloned())
                .flatten()
            {
                let new_message = crate::wire::NewMessage {
                    recipient: next.recipient.clone(),
                    body: next.body.clone(),
                    client_id: Some(next.client_id.clone()),
                };
                match crate::client::post_message(&new_message).await {
                    Ok(message) => {
                        failures = 0;
                        self.add_live_message(message, Some(&next.recipient));
                        self.forget(&next.client_id);
                    }
                    Err(crate::client::SendFailure::Refused(error)) => {
                        self.forget(&next.client_id);
                        self.send_error.try_set(Some(format!("Not sent: {error}")));
                    }
                    Err(crate::client::SendFailure::Retry) => {
                        failures += 1;
                        self.pending.try_update(|pending| {
                            if let Some(first) =
                                pending.iter_mut().find(|p| p.client_id == next.client_id)
                            {
                                first.retrying = true;
                            }
                        });
                        crate::client::sleep(crate::client::backoff(failures)).await;
                    }
                }
            }
            self.flushing.try_set_value(false);
        });
    }

    #[cfg(feature = "hydrate")]
    fn forget(&self, client_id: &str) {
        self.pending
            .try_update(|pending| pending.retain(|p| p.client_id != client_id));
    }
}

/// Appends to a list of the [`RECENT_EVENTS`] latest items.
fn push_recent<T>(items: &mut Vec<T>, item: T) {
    items.push(item);
    if items.len() > RECENT_EVENTS {
        items.remove(0);
    }
}

/// A fresh random UUID (the browser's own generator).
fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        window()
            .crypto()
            .map(|crypto| crypto.random_uuid())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}
