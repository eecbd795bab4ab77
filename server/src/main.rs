//! The `server` binary: reads the configuration, connects to the database,
//! serves until SIGTERM or Ctrl-C, then shuts down gracefully.

use std::process::ExitCode;

use clap::Parser;
use server::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    server::telemetry::init(&config.log);
    match server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}
