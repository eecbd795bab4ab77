//! State shared by the chat page's parts: who is reading, what arrived live,
//! what is being sent, and how the live connection is doing.

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
}

impl ChatContext {
    pub fn new(viewer: Viewer) -> Self {
        Self {
            viewer: StoredValue::new(viewer),
            live_messages: RwSignal::new(Vec::new()),
            connection: RwSignal::new(ConnectionState::Connecting),
            pending: RwSignal::new(Vec::new()),
            send_error: RwSignal::new(None),
            flushing: StoredValue::new(false),
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
                let new_message = crate::models::NewMessage {
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
