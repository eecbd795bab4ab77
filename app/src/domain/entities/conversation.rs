//! A row of `conversations`: one user's view of their conversation with
//! another: the newest message and how far they have read.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub other_id: i64,
    pub last_message_id: i64,
    /// The read pointer: the last message id `user_id` has read here.
    pub last_read_id: i64,
    /// The other person's messages after the pointer, not deleted: kept by
    /// every write that changes it, in the same transaction.
    pub unread: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
