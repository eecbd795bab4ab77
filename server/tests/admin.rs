//! `server user …`: the real binary administering accounts on a real
//! database, checked through the API the way users would notice.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{Backend, TestApp};
use serde_json::json;

/// Runs `server user <args>` with `stdin` as its input; returns (success,
/// output). A command that has not finished within a minute is killed and
/// the test fails with what it printed.
fn admin(database_url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("user")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        Instant::now() <= deadline,
        "`server user {}` ran over a minute; it printed: {text}",
        args.join(" ")
    );
    (output.status.success(), text)
}

/// The first three columns of each line of `server user list`.
fn columns(out: &str) -> Vec<Vec<&str>> {
    out.lines()
        .map(|line| line.split_whitespace().take(3).collect())
        .collect()
}

#[tokio::test]
async fn accounts_are_administered_from_the_command_line() {
    for backend in [Backend::Sqlite, Backend::MariaDb] {
        let Some(app) = TestApp::on(backend).await else {
            continue;
        };
        let url = app.database_url.clone();

        let (ok, out) = admin(
            &url,
            &["add", "root", "--admin", "--email", "Root@Example.org"],
            "a long enough password\n",
        );
        assert!(ok, "{out}");
        assert!(out.contains("Created root (administrator)."), "{out}");
        let (ok, out) = admin(&url, &["add", "weak"], "short\n");
        assert!(!ok, "{out}");
        assert!(out.contains("password:"), "{out}");
        let (ok, out) = admin(&url, &["add", "Root"], "a long enough password\n");
        assert!(!ok, "usernames are unique case-insensitively: {out}");
        assert!(out.contains("username: This username is taken."), "{out}");

        // The account works through the API.
        let mut root = app.client();
        let logged_in = root
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "root", "password": "a long enough password"}),
            )
            .await;
        assert_eq!(logged_in.status, StatusCode::OK, "{backend:?}");
        // The administrator's word is enough: the address counts at once
        // (read from the database: the server's cache must not hold root yet).
        let row = app::domain::accounts::find_by_username(&app.state.db, "root")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.email.as_deref(), Some("root@example.org"));
        let (ok, out) = admin(
            &url,
            &["add", "rooty", "--email", "root@example.org"],
            "a long enough password\n",
        );
        assert!(!ok, "{out}");
        assert!(out.contains("already exists"), "{out}");

        // A new password ends the old sessions (this server had not yet
        // read root into its memory, so at once).
        let (ok, out) = admin(&url, &["set-password", "ROOT"], "another long password\n");
        assert!(ok, "{out}");
        assert_eq!(
            root.get("/api/v1/auth/me").await.status,
            StatusCode::UNAUTHORIZED
        );
        let mut root = app.client();
        let again = root
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "root", "password": "another long password"}),
            )
            .await;
        assert_eq!(again.status, StatusCode::OK);

        // Deactivated: sessions end, no log-in, hidden from search; the
        // people they wrote to still read their messages.
        let mut bob = app.user("bob").await;
        let id = root.send_message("bob", "before I go").await;
        let search = bob.get("/api/v1/user/?search=root").await;
        assert_eq!(search.body, json!([{"username": "root"}]));
        let (ok, out) = admin(&url, &["deactivate", "root"], "");
        assert!(ok, "{out}");
        // Another process changed the account: without Redis to tell it,
        // the server notices when its memory of root expires (seconds).
        let started = Instant::now();
        loop {
            let me = root.get("/api/v1/auth/me").await.status;
            if me == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                started.elapsed() < app::domain::directory::TTL + Duration::from_secs(30),
                "root's session still works {:?} after deactivation",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let login = app
            .client()
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "root", "password": "another long password"}),
            )
            .await;
        assert_eq!(login.status, StatusCode::UNAUTHORIZED);
        let search = bob.get("/api/v1/user/?search=root").await;
        assert_eq!(search.body, json!([]));
        let message = bob.get(&format!("/api/v1/message/{id}/")).await;
        assert_eq!(message.body["body"], "before I go");

        let (ok, out) = admin(&url, &["make-admin", "bob"], "");
        assert!(ok, "{out}");
        let (ok, out) = admin(&url, &["list"], "");
        assert!(ok, "{out}");
        let table = columns(&out);
        assert_eq!(table[0], ["USERNAME", "ACTIVE", "ADMIN"], "{out}");
        assert!(table.contains(&vec!["bob", "yes", "yes"]), "{out}");
        assert!(table.contains(&vec!["root", "no", "yes"]), "{out}");
        let (ok, out) = admin(&url, &["deactivate", "nobody"], "");
        assert!(!ok, "{out}");
        assert!(out.contains("No user is called nobody."), "{out}");
    }
}
