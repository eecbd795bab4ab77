//! Logging in and out, signing up, and who is logged in.

mod current_user;
mod log_in;
mod log_out;
mod register;

pub use current_user::{CurrentViewer, Viewer, current_viewer};
pub use log_in::{LogIn, log_in};
pub use log_out::{LogOut, log_out};
pub use register::{Register, register};
