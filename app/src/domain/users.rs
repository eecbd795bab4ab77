//! The user directory: who a user can start a conversation with.

use sea_orm::sea_query::LikeExpr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entities::user;
use super::paging::{Listing, PageRequest};
use crate::error::AppError;
use crate::wire::UserSummary;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 200;

/// Every other active user whose name contains `search` (case-insensitively),
/// by username.
pub async fn list_others(
    db: &DatabaseConnection,
    viewer_id: i64,
    search: &str,
    request: PageRequest,
) -> Result<Listing<UserSummary>, AppError> {
    let mut query = user::Entity::find()
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::Id.ne(viewer_id));
    let search = search.trim().to_ascii_lowercase();
    if !search.is_empty() {
        query = query.filter(
            user::Column::UsernameKey
                .like(LikeExpr::new(format!("%{}%", escape_like(&search))).escape('\\')),
        );
    }
    let total = query.clone().count(db).await?;
    let users = query
        .order_by_asc(user::Column::UsernameKey)
        .offset(request.offset())
        .limit(request.size)
        .all(db)
        .await?
        .into_iter()
        .map(|user| UserSummary {
            username: user.username,
        })
        .collect();
    Ok(Listing {
        items: users,
        total,
        has_more: request.offset().saturating_add(request.size) < total,
    })
}

/// Escapes LIKE's wildcards so a search for `_` finds underscores.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
