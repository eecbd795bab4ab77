//! `server user …`: account administration from the command line.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};

use app::domain::accounts;
use app::domain::db;
use app::error::AppError;
use app::wire::Registration;

use crate::config::{Config, UserCommand};

/// Runs one command against the configured database; returns what to print.
pub async fn run(config: &Config, command: UserCommand) -> Result<String, String> {
    let db = db::connect_and_migrate(&config.database_url, 2, config.database_timeouts())
        .await
        .map_err(|error| format!("cannot open the database: {error}"))?;
    let outcome = match command {
        UserCommand::Add {
            username,
            email,
            admin,
        } => {
            let password = read_password(&format!("Password for {username}: "))?;
            let registration = Registration {
                username,
                password,
                email,
            };
            let created = accounts::create(&db, registration, admin)
                .await
                .map_err(explain)?;
            Ok(format!(
                "Created {}{}.",
                created.username,
                if created.is_admin {
                    " (administrator)"
                } else {
                    ""
                }
            ))
        }
        UserCommand::List => {
            let users = accounts::list_all(&db)
                .await
                .map_err(|error| error.to_string())?;
            let mut table = format!(
                "{:<32} {:<8} {:<6} {}\n",
                "USERNAME", "ACTIVE", "ADMIN", "LAST LOG-IN"
            );
            for user in users {
                let _ = writeln!(
                    table,
                    "{:<32} {:<8} {:<6} {}",
                    user.username,
                    if user.is_active { "yes" } else { "no" },
                    if user.is_admin { "yes" } else { "no" },
                    user.last_login_at
                        .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339())
                );
            }
            Ok(table.trim_end().to_owned())
        }
        UserCommand::SetPassword { username } => {
            let user = accounts::named(&db, &username)
                .await
                .map_err(|error| not_found(error, &username))?;
            let password = read_password(&format!("New password for {}: ", user.username))?;
            accounts::set_password(&db, user.id, password)
                .await
                .map_err(explain)?;
            close_sockets(config, user.id).await;
            Ok(format!(
                "Password changed for {}; their sessions have ended.",
                user.username
            ))
        }
        UserCommand::Deactivate { username } => {
            let user = accounts::deactivate(&db, &username)
                .await
                .map_err(|error| not_found(error, &username))?;
            close_sockets(config, user.id).await;
            Ok(format!(
                "Deactivated {}: they cannot log in and their sessions have ended.",
                user.username
            ))
        }
        UserCommand::MakeAdmin { username } => {
            let user = accounts::make_admin(&db, &username)
                .await
                .map_err(|error| not_found(error, &username))?;
            Ok(format!("{} is now an administrator.", user.username))
        }
    };
    db.close().await.ok();
    outcome
}

/// With Redis, tells the running nodes to close the user's open sockets
/// (their requests already fail: each one re-reads the account).
async fn close_sockets(config: &Config, user_id: i64) {
    let Some(url) = &config.redis_url else { return };
    let announced = match app::domain::redis_link::RedisLink::new(url) {
        Ok(link) => {
            app::domain::channel_layer::redis::announce_user_sessions_ended(&link, user_id).await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = announced {
        eprintln!("Could not tell the running nodes through Redis: {error}");
    }
}

/// An unknown username, said in words; anything else explained.
fn not_found(error: AppError, username: &str) -> String {
    match error {
        AppError::NotFound => format!("No user is called {username}."),
        other => explain(other),
    }
}

/// A password from the terminal (not echoed) or one line of standard input.
fn read_password(prompt: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|error| error.to_string())
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| error.to_string())?;
        let _ = std::io::stderr().flush();
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}

/// A validation error as lines a person can act on.
fn explain(error: AppError) -> String {
    match error {
        AppError::Validation(fields) | AppError::Conflict(fields) => fields
            .into_iter()
            .flat_map(|(field, problems)| {
                problems
                    .into_iter()
                    .map(move |problem| format!("{field}: {problem}"))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
