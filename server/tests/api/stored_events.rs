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

    Migrator::down(db, Some(1)).await.unwrap();
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
