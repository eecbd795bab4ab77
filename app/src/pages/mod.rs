//! One component per page.

mod chat;
mod confirm_email;
mod log_in;
mod not_found;
mod password_reset;
mod register;
mod settings;

pub use chat::ChatPage;
pub use confirm_email::ConfirmEmailPage;
pub use log_in::LoginPage;
pub use not_found::NotFound;
pub use password_reset::{ForgotPasswordPage, ResetPasswordPage};
pub use register::RegisterPage;
pub use settings::SettingsPage;
