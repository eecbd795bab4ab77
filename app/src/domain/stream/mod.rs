//! The durable per-user event stream.
//!
//! Every event a user must see is stored with its cause, in the same
//! transaction, numbered by that user's gapless `seq` ([`log`]). Every write
//! that emits events goes through one function ([`commit_with_events`]) and
//! the node's one [`Writer`], which batches them (one transaction per batch),
//! takes the locks in one order and publishes only after the commit.
//! A connection follows its user's stream through [`EventStream`]: the
//! replay from the database, then live events from the channel layer, with
//! gaps filled and duplicates dropped.

pub mod live;
pub mod log;
pub mod retention;
mod shapes;
mod write;
pub mod writer;

pub use live::{EventStream, StreamItem, StreamProtocol, StreamSession};
pub(crate) use log::NewEvent;
pub use log::{DEFAULT_REPLAY_LIMIT, latest_seq};
pub(crate) use write::{Batch, Written, commit_with_events};
pub use writer::Writer;
