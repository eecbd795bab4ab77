//! Several real `server` processes on 127.0.0.x sharing a real MariaDB and a
//! real Redis, some behind nginx with the config from `docs/nginx`: delivery
//! across nodes, shared sessions, and failures (a node killed, Redis and the
//! database restarted) with every message counted.

#![cfg(unix)]

#[path = "../common/mod.rs"]
mod common;

mod delivery;
mod failures;
mod limits;
mod support;
