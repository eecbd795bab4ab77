//! ChatApp's load generator: it drives the public protocol exactly as a
//! browser does (sign up or log in, open `/ws` with the `chatapp.v1`
//! subprotocol, POST a message with a `client_id`, wait for the recipient's
//! socket to name it, GET it by id) and measures what users feel (latencies)
//! and what the server pays (CPU and memory of its process).
//!
//! Loopback only, and bounded in count and time: every wait has a deadline.
//! The modes are in [`scenarios`]; `make bench` runs [`suite`], and the
//! test suite runs [`smoke`].

pub mod client;
pub mod measure;
pub mod scenarios;
pub mod server;
pub mod suite;

pub use scenarios::smoke;

/// Errors of a run, as text: a benchmark reports them and stops.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;
