//! The one error body: every failed request answers it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Messages per field, as in `{"username": ["Already taken."]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// `{"detail": "...", "errors": {"field": ["..."]}}`; `errors` only for
/// validation failures (400) and conflicts (409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}
