//! One component per page.

mod chat;
mod log_in;
mod not_found;
mod password_reset;
mod register;
mod settings;

pub use chat::ChatPage;
pub use log_in::LoginPage;
pub use not_found::NotFound;
pub use password_reset::{ForgotPasswordPage, ResetPasswordPage};
pub use register::RegisterPage;
pub use settings::SettingsPage;
