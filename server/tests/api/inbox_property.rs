//! The property behind unread badges: whatever happens (sends, reads,
//! edits, deletes, reconnects in any order), a client that applies its event
//! stream holds exactly what a fresh recompute from the database says.
//! Random operations through the real API; the client is `app::inbox::Inbox`,
//! the same code the browser runs.

use std::collections::BTreeMap;

use app::domain::paging::PageRequest;
use app::domain::stream::log;
use app::domain::{accounts, conversations, messages};
use app::inbox::Inbox;
use axum::http::{HeaderMap, Method, StatusCode};
use proptest::prelude::*;
use serde_json::json;

use crate::common::{Backend, Client, TestApp};

const NAMES: [&str; 3] = ["ann", "bob", "cyd"];

#[derive(Debug, Clone)]
enum Op {
    Send {
        from: usize,
        to: usize,
    },
    Read {
        user: usize,
        with: usize,
        pick: usize,
    },
    Delete {
        user: usize,
        pick: usize,
    },
    Edit {
        user: usize,
        pick: usize,
    },
    /// Catch up from the last applied seq, as a reconnect with `since` does.
    Sync {
        user: usize,
    },
    /// Drop the client's state and load a fresh snapshot, as a resync does.
    Reload {
        user: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..3_usize;
    prop_oneof![
        4 => (user.clone(), 1..3_usize).prop_map(|(from, step)| Op::Send { from, to: (from + step) % 3 }),
        2 => (user.clone(), 1..3_usize, 0..8_usize)
            .prop_map(|(user, step, pick)| Op::Read { user, with: (user + step) % 3, pick }),
        1 => (user.clone(), 0..8_usize).prop_map(|(user, pick)| Op::Delete { user, pick }),
        1 => (user.clone(), 0..8_usize).prop_map(|(user, pick)| Op::Edit { user, pick }),
        2 => user.clone().prop_map(|user| Op::Sync { user }),
        1 => user.prop_map(|user| Op::Reload { user }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn a_client_inbox_equals_a_recompute_on_sqlite(ops in prop::collection::vec(op(), 1..40)) {
        run(Backend::Sqlite, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn a_client_inbox_equals_a_recompute_on_mariadb(ops in prop::collection::vec(op(), 1..40)) {
        run(Backend::MariaDb, &ops);
    }
}

fn run(backend: Backend, ops: &[Op]) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let Some(app) = TestApp::on(backend).await else {
                return;
            };
            World::new(app).await.play(ops).await;
        });
}

struct World {
    app: TestApp,
    clients: Vec<Client>,
    ids: Vec<i64>,
    inboxes: Vec<Inbox>,
    /// Message ids by (sender, recipient), oldest first.
    sent: BTreeMap<(usize, usize), Vec<i64>>,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let mut clients = Vec::new();
        let mut ids = Vec::new();
        for name in NAMES {
            clients.push(app.user(name).await);
            ids.push(
                accounts::find_by_username(&app.state.db, name)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            );
        }
        let mut world = Self {
            app,
            clients,
            ids,
            inboxes: Vec::new(),
            sent: BTreeMap::new(),
        };
        for user in 0..NAMES.len() {
            let inbox = world.snapshot(user).await;
            world.inboxes.push(inbox);
        }
        world
    }

    async fn play(mut self, ops: &[Op]) {
        for (step, op) in ops.iter().enumerate() {
            match *op {
                Op::Send { from, to } => {
                    let id = self.clients[from]
                        .send_message(NAMES[to], &format!("message {step}"))
                        .await;
                    self.sent.entry((from, to)).or_default().push(id);
                }
                Op::Read { user, with, pick } => {
                    let mut ids: Vec<i64> = [(user, with), (with, user)]
                        .iter()
                        .flat_map(|pair| self.sent.get(pair).cloned().unwrap_or_default())
                        .collect();
                    ids.sort_unstable();
                    if let Some(&id) = ids.get(pick % (ids.len() + 1)).or(ids.last()) {
                        let response = self.clients[user]
                            .post_json(
                                &format!("/api/v1/conversation/{}/read", NAMES[with]),
                                &json!({"last_read_id": id}),
                            )
                            .await;
                        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
                    }
                }
                Op::Delete { user, pick } => {
                    if let Some(id) = self.own_message(user, pick) {
                        let response = self.clients[user]
                            .send(
                                Method::DELETE,
                                &format!("/api/v1/message/{id}/"),
                                HeaderMap::new(),
                                axum::body::Body::empty(),
                            )
                            .await;
                        assert_eq!(response.status, StatusCode::NO_CONTENT);
                    }
                }
                Op::Edit { user, pick } => {
                    if let Some(id) = self.own_message(user, pick) {
                        let response = self.clients[user]
                            .send_json(
                                Method::PATCH,
                                &format!("/api/v1/message/{id}/"),
                                &json!({"body": format!("edited at step {step}")}),
                            )
                            .await;
                        // A deleted message cannot be edited: 409, and nothing changes.
                        assert!(
                            matches!(response.status, StatusCode::OK | StatusCode::CONFLICT),
                            "{}",
                            response.body
                        );
                    }
                }
                Op::Sync { user } => self.sync(user).await,
                Op::Reload { user } => self.inboxes[user] = self.snapshot(user).await,
            }
        }
        for (user, name) in NAMES.iter().enumerate() {
            self.sync(user).await;
            let fresh = self.snapshot(user).await;
            assert_eq!(
                summary(&self.inboxes[user]),
                summary(&fresh),
                "{name}'s inbox after {ops:?}"
            );
        }
        // The kept counts are the definition: the other person's messages
        // after the read pointer that are not deleted.
        let counted = sea_orm::ConnectionTrait::query_all_raw(
            &self.app.state.db,
            sea_orm::Statement::from_string(
                sea_orm::ConnectionTrait::get_database_backend(&self.app.state.db),
                "SELECT c.user_id, c.other_id, c.unread, \
                   (SELECT COUNT(*) FROM messages m \
                     WHERE ((m.sender_id = c.other_id AND m.recipient_id = c.user_id)) \
                       AND m.id > c.last_read_id AND m.deleted_at IS NULL) AS defined \
                 FROM conversations c"
                    .to_owned(),
            ),
        )
        .await
        .unwrap();
        for row in counted {
            let kept: i64 = row.try_get("", "unread").unwrap();
            let defined: i64 = row.try_get("", "defined").unwrap();
            let (user, other): (i64, i64) = (
                row.try_get("", "user_id").unwrap(),
                row.try_get("", "other_id").unwrap(),
            );
            assert_eq!(kept, defined, "unread of {user} with {other} after {ops:?}");
        }
        let miscounted = conversation_counts_off(&self.app).await;
        assert!(miscounted.is_empty(), "{miscounted:?} after {ops:?}");
    }

    fn own_message(&self, user: usize, pick: usize) -> Option<i64> {
        let mut mine: Vec<i64> = self
            .sent
            .iter()
            .filter(|((from, _), _)| *from == user)
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        mine.sort_unstable();
        (!mine.is_empty()).then(|| mine[pick % mine.len()])
    }

    /// `GET /api/v1/conversation/` as the client loads it.
    async fn snapshot(&self, user: usize) -> Inbox {
        let request = PageRequest::new(None, Some(100), 30, 100).unwrap();
        let snapshot = conversations::list(&self.app.state.db, self.ids[user], request)
            .await
            .unwrap();
        let page = conversations::into_page(snapshot, request, None).unwrap();
        Inbox::from_page(NAMES[user], page)
    }

    /// Replays the stream after the client's seq, as `/ws?since=` does, and
    /// fetches each message an event names, as the browser does.
    async fn sync(&mut self, user: usize) {
        let db = &self.app.state.db;
        loop {
            let batch = log::batch_after(db, self.ids[user], self.inboxes[user].seq)
                .await
                .unwrap();
            let Some(through) = batch.through else { break };
            for event in &batch.events {
                self.inboxes[user].apply(event);
                if let Some(id) = event.body.message_id() {
                    let fetched = messages::find_visible(db, self.ids[user], id)
                        .await
                        .unwrap();
                    self.inboxes[user].show_message(&fetched);
                }
            }
            self.inboxes[user].seq = self.inboxes[user].seq.max(through);
        }
    }
}

/// What the user sees of each conversation, in order. A conversation whose
/// other side never read has no receipt yet, whichever way it is spelled.
fn summary(inbox: &Inbox) -> Vec<(String, u64, i64, i64, bool, String, i64)> {
    inbox
        .conversations
        .iter()
        .map(|c| {
            (
                c.with.clone(),
                c.unread,
                c.last_read_id,
                c.last_message.id,
                c.last_message.deleted,
                c.last_message.body.clone(),
                c.seen_up_to.unwrap_or(0),
            )
        })
        .collect()
}

/// Users whose kept `conversation_count` is not the number of their
/// conversations: (user, kept, counted).
pub async fn conversation_counts_off(app: &TestApp) -> Vec<(i64, i64, i64)> {
    let db = &app.state.db;
    sea_orm::ConnectionTrait::query_all_raw(
        db,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(db),
            "SELECT id, conversation_count, counted FROM (SELECT u.id, u.conversation_count, \
               (SELECT COUNT(*) FROM conversations c WHERE c.user_id = u.id) AS counted \
             FROM users u) AS kept WHERE conversation_count <> counted"
                .to_owned(),
        ),
    )
    .await
    .unwrap()
    .iter()
    .map(|row| {
        (
            row.try_get("", "id").unwrap(),
            row.try_get("", "conversation_count").unwrap(),
            row.try_get("", "counted").unwrap(),
        )
    })
    .collect()
}
