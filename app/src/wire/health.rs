//! `GET /healthz` and `GET /readyz`.

use serde::{Deserialize, Serialize};

/// How a part the node depends on is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartStatus {
    Ok,
    Unreachable,
    /// Not part of this deployment (Redis on a single node).
    NotConfigured,
}

/// The node's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    Ok,
    /// Serving its own users, but cut off from the other nodes.
    Degraded,
    Unavailable,
}

/// `GET /healthz`: `{"status": "ok"}`, or `unavailable` with the database's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: Overall,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<PartStatus>,
}

/// `GET /readyz`: whether a load balancer should send users here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub status: Overall,
    pub database: PartStatus,
    pub redis: PartStatus,
}
