//! The `server` binary: without a command, reads the configuration, connects
//! to the database, serves until SIGTERM or Ctrl-C, then shuts down
//! gracefully. `server user …` administers accounts.

use std::process::ExitCode;

use clap::Parser;
use server::config::{Command, Config};

// An allocator made for servers: it hands freed memory back instead of
// keeping every peak (an Argon2 hash alone takes 19 MiB for a moment).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // Every socket is a file descriptor: allow as many as the system does.
    // Privileged, raise the hard limit too; otherwise use all of it.
    const WANTED: u64 = 1 << 20;
    if rlimit::Resource::NOFILE.set(WANTED, WANTED).is_err()
        && let Ok((_, hard)) = rlimit::Resource::NOFILE.get()
    {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
    let mut config = Config::parse();
    server::telemetry::init(&config.log, config.log_format);
    match config.command.take() {
        Some(Command::CheckConfig) => report(server::ops::check_config(&config)),
        Some(Command::Backup { path }) => report(server::ops::backup(&config, &path).await),
        Some(Command::Openapi) => report(Ok(server::api::v1::openapi::render(&config.settings()))),
        Some(Command::User(command)) => report(server::admin::run(&config, command).await),
        None => match server::serve(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("{error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Prints a command's outcome: the report on standard output, a problem on
/// standard error with a failing exit code.
fn report(outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("{problem}");
            ExitCode::FAILURE
        }
    }
}
