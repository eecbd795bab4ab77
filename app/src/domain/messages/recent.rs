//! Messages just sent, kept in memory for the fetches that follow their
//! notifications (every recipient's browser GETs the message the moment its
//! socket names it): those are served without the database.
//!
//! Only what a send stored is kept, for a minute at most. An edit or a
//! deletion forgets the message before its `edited`/`deleted` event goes out,
//! so no client can learn of a change and then be served the old text.
//!
//! That promise holds only within one process: with several nodes an edit on
//! another node reaches this one through Redis, and a client told by a faster
//! node could ask this one first. So nodes joined by Redis run with the cache
//! off ([`RecentMessages::off`]) and fetch by primary key.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::channel_layer::Delivery;
use crate::wire::{EventBody, Message, ServerFrame};

/// How long a sent message is kept.
const TTL: Duration = Duration::from_mins(1);
/// Messages kept at most: the fetch follows its notification within
/// milliseconds, so a second of sends at several thousand a second is plenty.
const CAPACITY: u64 = 5_000;

/// A sent message and who may see it.
struct Sent {
    message: Message,
    sender_id: i64,
    recipient_id: i64,
}

/// See the module docs.
pub struct RecentMessages {
    /// `None`: off, every fetch reads the database.
    cache: Option<moka::sync::Cache<i64, Arc<Sent>>>,
}

impl Default for RecentMessages {
    fn default() -> Self {
        Self {
            cache: Some(
                moka::sync::Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(TTL)
                    // Least recently used goes first. moka's default
                    // (TinyLFU) admits a new entry only if it looks more
                    // popular than the one it would evict, and a message
                    // just sent never does: a full cache turned away a
                    // quarter of them, and their fetches went to the
                    // database.
                    .eviction_policy(moka::policy::EvictionPolicy::lru())
                    .build(),
            ),
        }
    }
}

impl RecentMessages {
    /// A cache that keeps nothing: for nodes joined by Redis (see the module
    /// docs).
    pub fn off() -> Self {
        Self { cache: None }
    }

    /// Keeps a message just stored.
    pub fn remember(&self, message: Message, sender_id: i64, recipient_id: i64) {
        let Some(cache) = &self.cache else { return };
        cache.insert(
            message.id,
            Arc::new(Sent {
                message,
                sender_id,
                recipient_id,
            }),
        );
    }

    /// The message `id` if it is kept and `viewer_id` sent or received it;
    /// `None` means "ask the database", never "not found".
    pub fn visible_to(&self, viewer_id: i64, id: i64) -> Option<Message> {
        self.cache
            .as_ref()?
            .get(&id)
            .filter(|sent| sent.sender_id == viewer_id || sent.recipient_id == viewer_id)
            .map(|sent| sent.message.clone())
    }

    /// Forgets what the events in `deliveries` changed (edits, deletions).
    pub fn observe(&self, deliveries: &[Delivery]) {
        let Some(cache) = &self.cache else { return };
        for delivery in deliveries {
            if let ServerFrame::Event(event) = &delivery.frame
                && let EventBody::Edited { message, .. } | EventBody::Deleted { message, .. } =
                    &event.body
            {
                cache.invalidate(message);
            }
        }
    }

    /// Forgets message `id`.
    pub fn forget(&self, id: i64) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&id);
        }
    }

    /// Forgets every message `sender_id` sent (their account was deleted).
    pub fn forget_sent_by(&self, sender_id: i64) {
        let Some(cache) = &self.cache else { return };
        for (id, sent) in cache {
            if sent.sender_id == sender_id {
                cache.invalidate(&*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Event;

    fn message(id: i64) -> Message {
        Message {
            id,
            user: "ann".into(),
            recipient: "bob".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            body: "hi".into(),
            client_id: None,
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn a_full_cache_still_keeps_the_newest_messages() {
        // As under load: every message is fetched once, just after it is
        // sent, long after the cache filled up. The newest are what the next
        // fetches ask for, so they must be the ones kept.
        let recent = RecentMessages::default();
        let sends = i64::try_from(CAPACITY * 4).unwrap();
        let mut missed = Vec::new();
        for id in 0..sends {
            recent.remember(message(id), 1, 2);
            let fetched = id - 20;
            if fetched >= 0 && recent.visible_to(2, fetched).is_none() {
                missed.push(fetched);
            }
        }
        assert!(
            missed.is_empty(),
            "{} of {sends} fetches missed",
            missed.len()
        );
    }

    #[test]
    fn only_its_two_people_see_a_kept_message_and_an_edit_forgets_it() {
        let recent = RecentMessages::default();
        recent.remember(message(7), 1, 2);
        assert_eq!(recent.visible_to(1, 7), Some(message(7)));
        assert_eq!(recent.visible_to(2, 7), Some(message(7)));
        assert_eq!(recent.visible_to(3, 7), None);
        let edited = Delivery {
            user_id: 2,
            frame: Event {
                body: EventBody::Edited {
                    message: 7,
                    with: "ann".into(),
                },
                seq: 4,
            }
            .into(),
        };
        recent.observe(&[edited]);
        assert_eq!(recent.visible_to(1, 7), None);
    }
}
