//! Changing the e-mail address through the file outbox: the new address
//! takes effect only through the link sent to it, asking never reveals
//! whether another account has an address, and a new password voids a
//! change asked for with the old one.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, TestApp, link_token, mail_to, outbox, query_value};
use crate::on_both_backends;

on_both_backends!(
    a_new_address_counts_once_its_link_is_opened,
    an_accent_makes_another_address_but_case_does_not,
    addresses_stored_half_lower_cased_are_folded_by_the_upgrade,
    the_old_address_can_undo_a_change_and_end_every_session,
    asking_for_a_taken_address_answers_the_same_and_tells_its_owner,
    a_new_password_voids_the_change_and_an_address_taken_meanwhile_is_refused,
);

/// Asks for `email` with the right password; the answer's settings.
async fn ask(client: &mut Client, email: &str) -> serde_json::Value {
    let asked = client
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": email, "current_password": "correct horse"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    asked.body
}

/// The one mail to `to` whose subject starts with `subject`.
fn only_mail<'a>(mails: &'a [String], to: &str, subject: &str) -> &'a str {
    let found: Vec<&String> = mails
        .iter()
        .filter(|mail| mail.contains(&format!("To: {to}\r\n")))
        .filter(|mail| mail.contains(&format!("Subject: {subject}")))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one mail to {to} about {subject:?} in {mails:#?}"
    );
    found[0]
}

fn confirmation_token(mail: &str) -> String {
    link_token(mail, "/confirm-email")
}

async fn confirm(app: &TestApp, token: &str) -> crate::common::TestResponse {
    // From a browser with no session: the link may be opened anywhere.
    app.client()
        .post_json("/api/v1/auth/email/confirm", &json!({"token": token}))
        .await
}

async fn a_new_address_counts_once_its_link_is_opened(app: TestApp) {
    let mut ann = app.user("ann").await;
    let asked = ask(&mut ann, " Ann@Example.org ").await;
    assert_eq!(
        asked,
        json!({"username": "ann", "email": null, "pending_email": "ann@example.org", "send_read_receipts": true})
    );
    let mails = outbox(&app, 1).await;
    let link = only_mail(&mails, "ann@example.org", "Confirm your new ChatApp e-mail");
    assert!(
        link.contains("http://127.0.0.1:3000/confirm-email?token="),
        "{link}"
    );
    let token = confirmation_token(link);
    assert_eq!(token.len(), 64, "256 random bits, hex");
    // Only a hash is stored.
    let stored: String = query_value(
        &app.state.db,
        "SELECT token_hash FROM email_changes",
        "token_hash",
    )
    .await;
    assert_ne!(stored, token);

    let confirmed = confirm(&app, &token).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(
        confirmed.body,
        json!({"email": "ann@example.org", "restored": false})
    );
    let settings = ann.get("/api/v1/auth/settings").await;
    assert_eq!(
        settings.body,
        json!({"username": "ann", "email": "ann@example.org", "pending_email": null, "send_read_receipts": true})
    );
    let again = confirm(&app, &token).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body["errors"]["token"].is_array(), "{}", again.body);
    let forged = confirm(&app, &"0".repeat(64)).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);

    // A second change: the old address hears of it, and an expired link
    // does nothing.
    ask(&mut ann, "ann@example.net").await;
    let mails = outbox(&app, 3).await;
    let notice = only_mail(
        &mails,
        "ann@example.org",
        "Your ChatApp e-mail address is being changed",
    );
    assert!(notice.contains("ann@example.net"), "{notice}");
    let token = confirmation_token(only_mail(&mails, "ann@example.net", "Confirm"));
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE email_changes SET expires_at = created_at",
    )
    .await
    .unwrap();
    let expired = confirm(&app, &token).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST, "{}", expired.body);
    // The sweep deletes expired links, used (the first) or not (the second,
    // and the old address's undo link).
    let swept = app::domain::link_token::delete_expired(&app.state.db)
        .await
        .unwrap();
    assert_eq!(swept, 3);
    assert_eq!(
        app::domain::link_token::delete_expired(&app.state.db)
            .await
            .unwrap(),
        0
    );
    let settings = ann.get("/api/v1/auth/settings").await;
    assert_eq!(settings.body["email"], "ann@example.org");
    assert_eq!(settings.body["pending_email"], json!(null));

    // A change can be taken back before its link is opened: the link stops
    // working and the address stays.
    ask(&mut ann, "ann@typo.example").await;
    let typo =
        confirmation_token(&crate::common::mail_to(&app, "ann@typo.example", "Confirm").await);
    let cancelled = ann
        .send_json(Method::DELETE, "/api/v1/auth/email/pending", &json!(null))
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::NO_CONTENT,
        "{}",
        cancelled.body
    );
    let settings = ann.get("/api/v1/auth/settings").await;
    assert_eq!(
        settings.body["pending_email"],
        json!(null),
        "{}",
        settings.body
    );
    assert_eq!(confirm(&app, &typo).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        ann.get("/api/v1/auth/settings").await.body["email"],
        "ann@example.org"
    );

    // Removing the address needs no link, only the password.
    let removed = ask(&mut ann, "").await;
    assert_eq!(removed["email"], json!(null), "{removed}");
}

async fn asking_for_a_taken_address_answers_the_same_and_tells_its_owner(app: TestApp) {
    let mut ann = app.user("ann").await;
    ask(&mut ann, "ann@example.org").await;
    let token = confirmation_token(only_mail(
        &outbox(&app, 1).await,
        "ann@example.org",
        "Confirm",
    ));
    assert_eq!(confirm(&app, &token).await.status, StatusCode::OK);

    // Bob asks for Ann's address: the same answer as for a free one.
    let mut bob = app.user("bob").await;
    let asked = ask(&mut bob, "ann@example.org").await;
    assert_eq!(
        asked,
        json!({"username": "bob", "email": null, "pending_email": "ann@example.org", "send_read_receipts": true})
    );
    let mails = outbox(&app, 2).await;
    let told = only_mail(
        &mails,
        "ann@example.org",
        "Someone tried to add your address",
    );
    assert!(told.contains("\"bob\""), "{told}");
    assert!(
        !told.contains("token="),
        "no link for an address with an owner: {told}"
    );
    // And nothing else went out: once the jobs are done, the outbox holds
    // Ann's own confirmation and this notice.
    tokio::time::timeout(std::time::Duration::from_secs(30), app.state.jobs.flushed())
        .await
        .expect("every mail job done within 30 s");
    assert_eq!(outbox(&app, 2).await.len(), 2);
    let settings = bob.get("/api/v1/auth/settings").await;
    assert_eq!(settings.body["email"], json!(null));
    let anns = ann.get("/api/v1/auth/settings").await;
    assert_eq!(anns.body["email"], "ann@example.org");

    let malformed = bob
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "nope", "current_password": "correct horse"}),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body["errors"]["email"].is_array(),
        "{}",
        malformed.body
    );
}

async fn a_new_password_voids_the_change_and_an_address_taken_meanwhile_is_refused(app: TestApp) {
    // Carol and Dave both ask for the same free address; both get a link.
    let mut carol = app.user("carol").await;
    let mut dave = app.user("dave").await;
    ask(&mut carol, "shared@example.org").await;
    ask(&mut dave, "shared@example.org").await;
    let mails = outbox(&app, 2).await;
    let links: Vec<String> = mails
        .iter()
        .filter(|mail| mail.contains("/confirm-email?token="))
        .map(|mail| confirmation_token(mail))
        .collect();
    assert_eq!(links.len(), 2, "{mails:#?}");
    // Whichever opens first gets it; the other is told the address is taken.
    assert_eq!(confirm(&app, &links[0]).await.status, StatusCode::OK);
    let late = confirm(&app, &links[1]).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(late.body["errors"]["email"].is_array(), "{}", late.body);
    let emails = [
        carol.get("/api/v1/auth/settings").await.body["email"].clone(),
        dave.get("/api/v1/auth/settings").await.body["email"].clone(),
    ];
    assert_eq!(
        emails
            .iter()
            .filter(|email| **email == "shared@example.org")
            .count(),
        1,
        "{emails:?}"
    );

    // A change asked for, then a new password: the link no longer works.
    let mut erin = app.user("erin").await;
    ask(&mut erin, "erin@example.org").await;
    let mails = outbox(&app, 3).await;
    let token = confirmation_token(only_mail(&mails, "erin@example.org", "Confirm"));
    let changed = erin
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": "correct horse", "new_password": "battery staple"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let settings = erin.get("/api/v1/auth/settings").await;
    assert_eq!(
        settings.body["pending_email"],
        json!(null),
        "{}",
        settings.body
    );
    let voided = confirm(&app, &token).await;
    assert_eq!(voided.status, StatusCode::BAD_REQUEST, "{}", voided.body);
    let settings = erin.get("/api/v1/auth/settings").await;
    assert_eq!(settings.body["email"], json!(null));
}

/// Someone with Ann's password moves her address to theirs and confirms it
/// at once; a reset by her old address would now find no account. The
/// notice to the old address carries the way back.
async fn the_old_address_can_undo_a_change_and_end_every_session(app: TestApp) {
    let mut ann = app.user("ann").await;
    ask(&mut ann, "ann@example.org").await;
    app.confirm_email("ann@example.org").await;

    let mut intruder = app.second_session("ann").await;
    ask(&mut intruder, "ann@intruder.example").await;
    app.confirm_email("ann@intruder.example").await;
    let reset = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "ann@intruder.example"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::ACCEPTED);
    let reset_mail = mail_to(&app, "ann@intruder.example", "Reset your ChatApp password").await;
    let reset_token = link_token(&reset_mail, "/reset-password");

    let notice = mail_to(
        &app,
        "ann@example.org",
        "Your ChatApp e-mail address is being changed",
    )
    .await;
    assert!(notice.contains("ann@intruder.example"), "{notice}");
    let undo = link_token(&notice, "/confirm-email");
    let undone = confirm(&app, &undo).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    assert_eq!(
        undone.body,
        json!({"email": "ann@example.org", "restored": true})
    );
    // Everyone is out, and the intruder's reset link is dead.
    for session in [&mut ann, &mut intruder] {
        assert_eq!(
            session.get("/api/v1/auth/me").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let dead = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": reset_token, "new_password": "the intruder's own"}),
        )
        .await;
    assert_eq!(dead.status, StatusCode::BAD_REQUEST, "{}", dead.body);
    let mut back = app.client();
    let logged_in = back
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "ann", "password": "correct horse"}),
        )
        .await;
    assert_eq!(logged_in.status, StatusCode::OK);
    let settings = back.get("/api/v1/auth/settings").await;
    assert_eq!(
        settings.body["email"], "ann@example.org",
        "{}",
        settings.body
    );
    // Once.
    assert_eq!(confirm(&app, &undo).await.status, StatusCode::BAD_REQUEST);
}

/// Addresses compare byte for byte on every backend (MariaDB's default
/// collation once made `jose@` and `josé@` one address), once every letter
/// is lower-cased: `JOSÉ@` is `josé@`.
async fn an_accent_makes_another_address_but_case_does_not(app: TestApp) {
    let mut plain = app.user("jose").await;
    ask(&mut plain, "jose@example.org").await;
    app.confirm_email("jose@example.org").await;
    let mut accented = app.user("josefina").await;
    ask(&mut accented, "JOSÉ@Example.org").await;
    app.confirm_email("josé@example.org").await;
    assert_eq!(
        accented.get("/api/v1/auth/settings").await.body["email"],
        "josé@example.org"
    );
    assert_eq!(
        plain.get("/api/v1/auth/settings").await.body["email"],
        "jose@example.org"
    );
    // A reset asked for in yet another case reaches the same owner.
    let asked = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "José@EXAMPLE.org"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    mail_to(&app, "josé@example.org", "Reset your ChatApp password").await;
}

/// Before whole-address lower-casing, `JOSÉ@…` was stored as `josÉ@…`.
/// The upgrade folds such addresses, and pending changes, unless another
/// account holds the folded form already: then it keeps its own.
async fn addresses_stored_half_lower_cased_are_folded_by_the_upgrade(app: TestApp) {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    let db = &app.state.db;
    for name in ["elise", "elisabeth", "jose"] {
        app.user(name).await;
    }
    // As the older code stored them (ASCII letters lower-cased).
    for (name, email) in [
        ("elise", "élise@example.org"),
        ("elisabeth", "Élise@example.org"),
        ("jose", "josÉ@example.org"),
    ] {
        db.execute_unprepared(&format!(
            "UPDATE users SET email = '{email}' WHERE username = '{name}'"
        ))
        .await
        .unwrap();
    }
    let mut pending = app.user("zoe").await;
    ask(&mut pending, "zoe@example.org").await;
    db.execute_unprepared("UPDATE email_changes SET new_email = 'zoË@example.org'")
        .await
        .unwrap();

    // Undo the folding migration (and every later one), then migrate again.
    let since_folding = u32::try_from(Migrator::migrations().len() - 13).unwrap();
    Migrator::down(db, Some(since_folding)).await.unwrap();
    Migrator::up(db, None).await.unwrap();

    for (name, email) in [
        ("elise", "élise@example.org"),
        // The folded form is taken: as it was, still its owner's.
        ("elisabeth", "Élise@example.org"),
        ("jose", "josé@example.org"),
    ] {
        let stored: String = query_value(
            db,
            &format!("SELECT email FROM users WHERE username = '{name}'"),
            "email",
        )
        .await;
        assert_eq!(stored, email, "{name}");
    }
    let change: String = query_value(db, "SELECT new_email FROM email_changes", "new_email").await;
    assert_eq!(change, "zoë@example.org");

    // The address kept as it was is still its owner's own: saving the
    // settings with it changes nothing and mails nobody, and a reset typed
    // as it is stored reaches it.
    let mut elisabeth = app.second_session("elisabeth").await;
    let mails_before = outbox(&app, 0).await.len();
    let saved = elisabeth
        .send_json(
            Method::PATCH,
            "/api/v1/auth/settings",
            &json!({"email": "Élise@example.org", "send_read_receipts": false}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["pending_email"], serde_json::Value::Null);
    let asked = app
        .client()
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "Élise@example.org"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let reset = mail_to(&app, "Élise@example.org", "Reset your ChatApp password").await;
    assert!(reset.contains("Hello elisabeth,"), "{reset}");
    assert_eq!(outbox(&app, 0).await.len(), mails_before + 1);
}
