//! The load generator keeps working: a few seconds of each of its modes
//! against the real `server` binary on a fresh SQLite file. It checks that
//! every message is delivered and nothing fails, and nothing about speed
//! (`make bench` measures that).

use std::path::PathBuf;
use std::time::Duration;

use load::server::{Database, Server, free_port};

#[path = "common/site.rs"]
mod site;

#[tokio::test]
async fn the_load_generator_drives_the_real_server() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("load-smoke-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let address = format!("127.0.0.1:{}", free_port("127.0.0.1").unwrap());
    let database_url = Database::Sqlite.fresh_url(&dir, "chat").await.unwrap();
    let server = Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_server")),
        &address,
        &database_url,
        &site::stub(&dir),
        dir.join("server.log"),
    )
    .await
    .unwrap();

    let report = tokio::time::timeout(
        Duration::from_mins(3),
        load::smoke(&server.base, Some(server.pid)),
    )
    .await;
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    server.stop().await;
    match report {
        Ok(Ok(lines)) => {
            for line in lines {
                println!("{line}");
            }
        }
        Ok(Err(error)) => panic!("the smoke run failed: {error}\nserver log:\n{log}"),
        Err(elapsed) => panic!("the smoke run took over 3 minutes ({elapsed})\nserver log:\n{log}"),
    }
}
