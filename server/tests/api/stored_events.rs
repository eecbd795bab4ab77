//! The stored event stream across upgrades.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(message_events_stored_without_data_read_after_the_upgrade);

/// The first release stored message events without their data. After the
/// backfill migration they replay as full events, naming the other person.
async fn message_events_stored_without_data_read_after_the_upgrade(app: TestApp) {
    let db = &app.state.db;
    app.user("bob").await;
    let id = app.user("alice").await.send_message("bob", "hello").await;
    // As the first release left them.
    db.execute_unprepared("UPDATE events SET data = NULL WHERE kind = 'message'")
        .await
        .unwrap();
    let bob = app::domain::accounts::find_by_username(db, "bob")
        .await
        .unwrap()
        .unwrap();
    let unreadable = app::domain::stream::log::batch_after(db, bob.id, 0)
        .await
        .unwrap();
    assert!(unreadable.events.is_empty(), "{:?}", unreadable.events);

    // Undo the backfill (and every later migration), then migrate again.
    let later = u32::try_from(Migrator::migrations().len() - 6).unwrap();
    Migrator::down(db, Some(later)).await.unwrap();
    Migrator::up(db, None).await.unwrap();

    for (user, with) in [("bob", "alice"), ("alice", "bob")] {
        let user_id = app::domain::accounts::find_by_username(db, user)
            .await
            .unwrap()
            .unwrap()
            .id;
        let replay = app::domain::stream::log::batch_after(db, user_id, 0)
            .await
            .unwrap();
        assert_eq!(
            replay.events,
            vec![app::wire::Event {
                body: app::wire::EventBody::Message {
                    message: id,
                    with: with.to_owned(),
                    unread: None,
                },
                seq: 1,
            }],
            "{user}"
        );
    }
}

on_both_backends!(old_events_are_pruned_but_each_users_latest_are_kept);

/// Events past the retention period are deleted, except each user's latest
/// `replay_limit`; a client that reconnects from before what is kept is told
/// to resync instead of being replayed a stream with a hole in it.
async fn old_events_are_pruned_but_each_users_latest_are_kept(app: TestApp) {
    use app::domain::stream::retention::{Retention, prune};
    use app::domain::stream::{EventStream, StreamItem, StreamProtocol};
    use app::wire::{ServerFrame, Signal};

    let db = &app.state.db;
    app.user("bob").await;
    let mut alice = app.user("alice").await;
    for n in 0..10 {
        alice.send_message("bob", &format!("message {n}")).await;
    }
    // Older than any retention period.
    db.execute_unprepared("UPDATE events SET created_at = '2000-01-01 00:00:00'")
        .await
        .unwrap();
    let retention = Retention {
        period: std::time::Duration::from_hours(24),
        keep_latest: 3,
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let deleted = prune(db, &app.state.writer, retention, &shutdown)
        .await
        .unwrap();
    // Alice and Bob had 10 events each; 3 each are kept.
    assert_eq!(deleted, 14);
    let bob = app::domain::accounts::find_by_username(db, "bob")
        .await
        .unwrap()
        .unwrap();
    let kept = app::domain::stream::log::batch_after(db, bob.id, 0)
        .await
        .unwrap();
    assert_eq!(
        kept.events
            .iter()
            .map(|event| event.seq)
            .collect::<Vec<_>>(),
        [8, 9, 10]
    );
    // Nothing more goes while nothing is older than the latest three.
    assert_eq!(
        prune(db, &app.state.writer, retention, &shutdown)
            .await
            .unwrap(),
        0
    );

    let next = async |stream: &mut EventStream| -> ServerFrame {
        match tokio::time::timeout(std::time::Duration::from_secs(30), stream.next())
            .await
            .expect("a frame within 30 s")
        {
            StreamItem::Frame(frame) => frame,
            StreamItem::Close(reason) => panic!("closed: {reason:?}"),
        }
    };
    // From seq 2: events 3..7 are gone, so: resync.
    let mut behind = EventStream::open(&app.state, bob.id, None, Some(2), StreamProtocol::Full);
    assert_eq!(next(&mut behind).await, Signal::Resync { seq: 10 }.into());
    assert_eq!(next(&mut behind).await, Signal::Ready { seq: 10 }.into());
    // From seq 7, what follows is all kept: replayed.
    let mut recent = EventStream::open(&app.state, bob.id, None, Some(7), StreamProtocol::Full);
    for seq in 8..=10 {
        match next(&mut recent).await {
            ServerFrame::Event(event) => assert_eq!(event.seq, seq),
            other @ ServerFrame::Signal(_) => panic!("expected event {seq}, got {other:?}"),
        }
    }
    assert_eq!(next(&mut recent).await, Signal::Ready { seq: 10 }.into());
}
