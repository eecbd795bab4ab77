//! One component per page.

mod chat;
mod log_in;
mod not_found;
mod register;

pub use chat::ChatPage;
pub use log_in::LoginPage;
pub use not_found::NotFound;
pub use register::RegisterPage;
