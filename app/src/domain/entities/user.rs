//! A row of `users`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    #[sea_orm(unique)]
    pub username_key: String,
    /// The username with '.', '_', '-' and case folded away: unique with
    /// `username_fold_rank`, so look-alikes cannot both be registered.
    pub username_fold: Option<String>,
    /// 0 for every account made since folding; accounts that already
    /// collided when it came in keep theirs apart with their id.
    pub username_fold_rank: i64,
    pub email: Option<String>,
    pub password_hash: String,
    pub is_admin: bool,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
    /// The sequence number of this user's latest event (0: none yet).
    pub last_event_seq: i64,
    /// Whether others see "seen" when this user reads their messages.
    pub send_read_receipts: bool,
    /// Part of every session's check: bumping it ends all the user's sessions.
    pub session_epoch: i64,
    /// How many conversations the user has (kept by the writer).
    pub conversation_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
