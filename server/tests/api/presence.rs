//! `GET /api/v1/presence/`: who is online, on one node (the cluster tests
//! cover several).

use axum::http::StatusCode;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(presence_is_online_away_or_offline);

async fn presence_is_online_away_or_offline(app: TestApp) {
    let mut ann = app.user("ann").await;
    app.user("bob").await;
    let bob_id = app::domain::accounts::find_by_username(&app.state.db, "bob")
        .await
        .unwrap()
        .unwrap()
        .id;
    let url = "/api/v1/presence/?users=bob,Nobody,ann";
    let offline = ann.get(url).await;
    assert_eq!(offline.status, StatusCode::OK);
    assert_eq!(
        offline.body,
        serde_json::json!({"bob": "offline", "Nobody": "offline", "ann": "offline"})
    );

    // A socket of Bob's makes him online; a hidden tab, away.
    let mut socket = app.state.presence.connect(bob_id);
    assert_eq!(ann.get(url).await.body["bob"], "online");
    socket.set_away(true);
    assert_eq!(ann.get(url).await.body["bob"], "away");
    drop(socket);
    assert_eq!(ann.get(url).await.body["bob"], "offline");

    let too_many = (0..201)
        .map(|n| format!("user{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let refused = ann
        .get(&format!("/api/v1/presence/?users={too_many}"))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let anonymous = app.client().get(url).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
