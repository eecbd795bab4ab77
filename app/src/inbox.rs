//! The conversation list a client holds, kept current by stream events.
//!
//! Loaded as a snapshot at some event `seq` (`GET /api/v1/conversation/`),
//! then every later event is applied in order. Unread counts are never
//! counted up or down here: each event that changes one carries the count the
//! server computed from the read pointer, so the client cannot drift.

use crate::wire::{Conversation, Event, EventBody, Message, MessagePreview, Page};

/// One user's conversations, most recent first, as of event `seq`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbox {
    pub me: String,
    pub seq: i64,
    pub conversations: Vec<Conversation>,
    /// More conversations exist beyond those loaded.
    pub has_more: bool,
}

impl Inbox {
    /// The snapshot `page` of `me`'s conversations.
    pub fn from_page(me: &str, page: Page<Conversation>) -> Self {
        Self {
            me: me.to_owned(),
            seq: page.seq.unwrap_or(0),
            has_more: page.has_more(),
            conversations: page.results,
        }
    }

    /// Unread messages over all loaded conversations.
    pub fn total_unread(&self) -> u64 {
        self.conversations.iter().map(|c| c.unread).sum()
    }

    pub fn get(&self, with: &str) -> Option<&Conversation> {
        self.conversations
            .iter()
            .find(|c| c.with.eq_ignore_ascii_case(with))
    }

    /// Applies one event, once: anything at or before `seq` is already in.
    /// Events must come in `seq` order; the messages they name arrive later,
    /// through [`Inbox::show_message`].
    pub fn apply(&mut self, event: &Event) {
        if event.seq <= self.seq {
            return;
        }
        self.seq = event.seq;
        match &event.body {
            EventBody::Message { with, unread, .. } => {
                let conversation = self.bring_to_front(with);
                if let Some(unread) = unread {
                    conversation.unread = *unread;
                }
            }
            EventBody::Read {
                with,
                last_read_id,
                unread,
            } => {
                if let Some(conversation) = self.find_mut(with) {
                    conversation.last_read_id = conversation.last_read_id.max(*last_read_id);
                    conversation.unread = *unread;
                }
            }
            EventBody::Receipt { by, last_read_id } => {
                if let Some(conversation) = self.find_mut(by) {
                    conversation.seen_up_to =
                        Some(conversation.seen_up_to.unwrap_or(0).max(*last_read_id));
                }
            }
            EventBody::Deleted {
                message,
                with,
                unread,
            } => {
                if let Some(conversation) = self.find_mut(with) {
                    conversation.unread = *unread;
                    if conversation.last_message.id == *message {
                        tombstone(&mut conversation.last_message);
                    }
                }
            }
            EventBody::AccountDeleted { with } => {
                if let Some(conversation) = self.find_mut(with) {
                    conversation.unread = 0;
                    if conversation.last_message.user.eq_ignore_ascii_case(with) {
                        tombstone(&mut conversation.last_message);
                    }
                }
            }
            // Edits show through `show_message`.
            EventBody::Edited { .. } => {}
        }
    }

    /// Shows `message` (fetched after its event) as its conversation's
    /// newest, if it is that or newer.
    pub fn show_message(&mut self, message: &Message) {
        let with = if message.user.eq_ignore_ascii_case(&self.me) {
            &message.recipient
        } else {
            &message.user
        };
        let with = with.clone();
        if let Some(conversation) = self.find_mut(&with)
            && message.id >= conversation.last_message.id
        {
            conversation.last_message = preview_of(message);
        }
    }

    fn find_mut(&mut self, with: &str) -> Option<&mut Conversation> {
        self.conversations
            .iter_mut()
            .find(|c| c.with.eq_ignore_ascii_case(with))
    }

    /// Moves the conversation with `with` to the top, creating it if it was
    /// not loaded.
    fn bring_to_front(&mut self, with: &str) -> &mut Conversation {
        let position = self
            .conversations
            .iter()
            .position(|c| c.with.eq_ignore_ascii_case(with));
        let conversation = match position {
            Some(index) => self.conversations.remove(index),
            None => Conversation {
                with: with.to_owned(),
                last_message: MessagePreview {
                    id: 0,
                    user: String::new(),
                    body: String::new(),
                    truncated: false,
                    timestamp: chrono::DateTime::UNIX_EPOCH,
                    deleted: false,
                },
                unread: 0,
                last_read_id: 0,
                seen_up_to: None,
            },
        };
        self.conversations.insert(0, conversation);
        &mut self.conversations[0]
    }
}

/// Shows a preview as its deleted message's: no text.
fn tombstone(preview: &mut MessagePreview) {
    preview.body.clear();
    preview.truncated = false;
    preview.deleted = true;
}

fn preview_of(message: &Message) -> MessagePreview {
    let (body, truncated) = crate::wire::preview(&message.body);
    MessagePreview {
        id: message.id,
        user: message.user.clone(),
        body,
        truncated,
        timestamp: message.timestamp,
        deleted: message.deleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, from: &str, to: &str) -> Message {
        Message {
            id,
            user: from.into(),
            recipient: to.into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            body: format!("message {id}"),
            client_id: None,
            edited_at: None,
            deleted: false,
        }
    }

    fn arrived(id: i64, with: &str, unread: u64, seq: i64) -> Event {
        Event {
            body: EventBody::Message {
                message: id,
                with: with.into(),
                unread: Some(unread),
            },
            seq,
        }
    }

    #[test]
    fn events_move_conversations_to_the_top_and_set_counts_once() {
        let mut inbox = Inbox {
            me: "ann".into(),
            ..Inbox::default()
        };
        inbox.apply(&arrived(1, "bob", 1, 1));
        inbox.show_message(&message(1, "bob", "ann"));
        inbox.apply(&arrived(2, "cyd", 1, 2));
        assert_eq!(inbox.conversations[0].with, "cyd");
        inbox.apply(&arrived(3, "bob", 2, 3));
        assert_eq!(inbox.conversations[0].with, "bob");
        assert_eq!(inbox.total_unread(), 3);
        // A replayed event changes nothing.
        inbox.apply(&arrived(3, "bob", 2, 3));
        assert_eq!(inbox.total_unread(), 3);
        // Fetches may finish out of order: the newest message stays shown.
        inbox.show_message(&message(3, "bob", "ann"));
        inbox.show_message(&message(1, "bob", "ann"));
        assert_eq!(inbox.get("bob").unwrap().last_message.id, 3);

        let read = Event {
            body: EventBody::Read {
                with: "bob".into(),
                last_read_id: 3,
                unread: 0,
            },
            seq: 4,
        };
        inbox.apply(&read);
        assert_eq!(inbox.get("bob").unwrap().unread, 0);
        assert_eq!(inbox.get("bob").unwrap().last_read_id, 3);

        inbox.show_message(&message(2, "cyd", "ann"));
        let deleted = Event {
            body: EventBody::Deleted {
                message: 2,
                with: "cyd".into(),
                unread: 0,
            },
            seq: 5,
        };
        inbox.apply(&deleted);
        assert!(inbox.get("cyd").unwrap().last_message.deleted);
        assert_eq!(inbox.total_unread(), 0);
    }

    #[test]
    fn an_account_deletion_clears_its_unread_and_hides_its_last_words() {
        let mut inbox = Inbox {
            me: "ann".into(),
            ..Inbox::default()
        };
        inbox.apply(&arrived(1, "bob", 1, 1));
        inbox.show_message(&message(1, "bob", "ann"));
        inbox.apply(&arrived(2, "cyd", 1, 2));
        inbox.show_message(&message(2, "ann", "cyd"));
        for (seq, with) in [(3, "bob"), (4, "cyd")] {
            inbox.apply(&Event {
                body: EventBody::AccountDeleted { with: with.into() },
                seq,
            });
        }
        let bob = inbox.get("bob").unwrap();
        assert!(bob.last_message.deleted && bob.last_message.body.is_empty());
        // Ann's own last message to cyd stays hers to read.
        assert!(!inbox.get("cyd").unwrap().last_message.deleted);
        assert_eq!(inbox.total_unread(), 0);
    }
}
