//! `load`: ChatApp's load generator. Run `load --help`; `make bench` runs
//! `load suite`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use load::measure::ProcessSample;
use load::scenarios::{self, Crowd};

#[derive(Parser)]
#[command(name = "load", about = "ChatApp's load generator (loopback only)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where a running server is.
#[derive(clap::Args)]
struct Target {
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base: String,
    /// The server's process id, to report its CPU and memory.
    #[arg(long)]
    pid: Option<u32>,
}

#[derive(Subcommand)]
enum Command {
    /// Closed loop: each sender sends its next message once the last is delivered.
    Closed {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 100)]
        users: usize,
        #[arg(long, default_value_t = 100)]
        senders: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Open loop: messages due at a fixed rate, timed from when each was due.
    Open {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 100)]
        users: usize,
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Idle authenticated sockets: the server's memory per socket.
    Idle {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 2000)]
        sockets: usize,
        /// Users the sockets belong to (each signs up: an Argon2 hash).
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Source addresses 127.0.0.2… to spread sockets over (64k ports each).
        #[arg(long, default_value_t = 1)]
        source_ips: u8,
    },
    /// The whole suite against the release binary, on SQLite and MariaDB;
    /// writes the results into docs/performance.md.
    Suite(load::suite::SuiteArgs),
    /// A few seconds of each mode against a running server.
    Smoke {
        #[command(flatten)]
        target: Target,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Tens of thousands of sockets need as many file descriptors.
    // Privileged, raise the hard limit too; otherwise use all of it.
    const WANTED: u64 = 1 << 20;
    if rlimit::Resource::NOFILE.set(WANTED, WANTED).is_err()
        && let Ok((_, hard)) = rlimit::Resource::NOFILE.get()
    {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
    match run(Cli::parse().command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn prefix() -> String {
    format!(
        "u{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
    )
}

async fn run(command: Command) -> load::Result<()> {
    match command {
        Command::Closed {
            target,
            users,
            senders,
            seconds,
        } => {
            let crowd = Arc::new(
                Crowd::follow(
                    scenarios::sign_up(&target.base, &prefix(), users).await?,
                    &target.base,
                )
                .await?,
            );
            let before = target.pid.map(ProcessSample::of);
            let outcome =
                scenarios::closed_loop(&crowd, senders, Duration::from_secs(seconds)).await;
            let cpu = before.zip(target.pid.map(ProcessSample::of));
            println!("{}", scenarios::describe("closed loop", &outcome, cpu));
        }
        Command::Open {
            target,
            users,
            rate,
            seconds,
        } => {
            let crowd = Arc::new(
                Crowd::follow(
                    scenarios::sign_up(&target.base, &prefix(), users).await?,
                    &target.base,
                )
                .await?,
            );
            let before = target.pid.map(ProcessSample::of);
            let outcome =
                scenarios::open_loop(&crowd, rate, Duration::from_secs(seconds), 50_000).await;
            let cpu = before.zip(target.pid.map(ProcessSample::of));
            println!("{}", scenarios::describe("open loop", &outcome, cpu));
        }
        Command::Idle {
            target,
            sockets,
            users,
            source_ips,
        } => {
            let pid = target.pid.ok_or("--pid is needed to measure memory")?;
            let people = scenarios::sign_up(&target.base, &prefix(), users).await?;
            let ips: Vec<IpAddr> = (0..source_ips)
                .map(|n| IpAddr::from([127, 0, 0, 2 + n]))
                .collect();
            let idle = scenarios::idle_sockets(&target.base, pid, &people, sockets, &ips).await?;
            println!("{idle:?}");
        }
        Command::Suite(args) => load::suite::run(args).await?,
        Command::Smoke { target } => {
            for line in scenarios::smoke(&target.base, target.pid).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}
