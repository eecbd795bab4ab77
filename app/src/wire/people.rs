//! People: the directory and presence.

use serde::{Deserialize, Serialize};

/// Another user, as listed in the people picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub username: String,
}

/// Whether someone is around. Ordered: offline < away < online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Offline,
    Away,
    Online,
}

impl PresenceStatus {
    /// The name on the wire (`"online"`, …), for attributes and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Away => "away",
            Self::Online => "online",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PresenceStatus;

    #[test]
    fn the_label_is_the_wire_name() {
        for status in [
            PresenceStatus::Offline,
            PresenceStatus::Away,
            PresenceStatus::Online,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
    }
}
