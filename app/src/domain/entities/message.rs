//! A row of `messages`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sender_id: i64,
    pub recipient_id: i64,
    pub pair_low_id: i64,
    pub pair_high_id: i64,
    pub created_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// The sender's idempotency key (a UUID), when the client sent one.
    pub client_id: Option<String>,
    pub edited_at: Option<DateTimeUtc>,
    /// Set when the sender deleted it; the body is then empty.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::SenderId",
        to = "super::user::Column::Id"
    )]
    Sender,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::RecipientId",
        to = "super::user::Column::Id"
    )]
    Recipient,
}

impl ActiveModelBehavior for ActiveModel {}
