//! Logging in and out, signing up, and who is logged in.

mod account;
mod current_user;
mod log_in;
mod log_out;
mod password_reset;
mod register;

pub use account::{
    CancelEmailChange, ChangePassword, ConfirmEmail, DeleteAccount, EndOtherSessions,
    SaveAccountSettings, cancel_email_change, change_password, confirm_email, delete_account,
    end_other_sessions, load_account_settings, save_account_settings,
};
pub use current_user::{CurrentViewer, Viewer, current_viewer};
pub use log_in::{LogIn, log_in};
pub use log_out::{LogOut, log_out};
pub use password_reset::{
    RequestPasswordReset, ResetPassword, request_password_reset, reset_password,
};
pub use register::{Register, register};
