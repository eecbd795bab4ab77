//! Reusable pieces of the UI.

mod auth_card;
mod avatar;
mod chat_context;
mod composer;
mod conversation;
mod conversation_list;
mod message_text;
mod password_field;
mod time;
mod user_list;

pub use auth_card::AuthCard;
pub use avatar::{Avatar, PresenceDot};
pub use chat_context::ChatContext;
pub use composer::Composer;
pub use conversation::{ConversationPane, NoConversation};
pub use conversation_list::ConversationList;
use message_text::MessageText;
pub use password_field::PasswordField;
pub use time::{LocalClock, provide_local_clock};
pub use user_list::UserList;
