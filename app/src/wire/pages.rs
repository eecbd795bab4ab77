//! The one page type of every list.

use serde::{Deserialize, Serialize};

/// A page of results, shaped like the original (Django REST framework) API:
/// `next` and `previous` are relative links, or `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// All results across pages.
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
    /// For lists the event stream keeps current (conversations): the `seq`
    /// this page is a snapshot at; apply only events after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

impl<T> Page<T> {
    /// Whether more results follow this page.
    pub fn has_more(&self) -> bool {
        self.next.is_some()
    }
}
