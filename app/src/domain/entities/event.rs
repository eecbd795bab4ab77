//! A row of `events`: one entry of a user's durable event stream.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// This user's sequence number: 1, 2, 3… with no gaps.
    pub seq: i64,
    /// What happened: `message`, `read`, `receipt`, `edited`, `deleted`.
    pub kind: String,
    pub message_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// The event as JSON (`Notification`), `seq` included.
    #[sea_orm(column_type = "Text", nullable)]
    pub data: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
