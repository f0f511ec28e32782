//! The ticket status machine: `new → open → pending | on_hold → resolved → closed`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    /// Waiting on the citizen.
    Pending,
    /// Waiting on a third party.
    OnHold,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::OnHold,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::OnHold => "on_hold",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Statuses an agent may move a ticket to from this one.
    pub fn allowed_next(self) -> &'static [Status] {
        use Status::*;
        match self {
            New => &[Open, Pending, OnHold, Resolved],
            Open => &[Pending, OnHold, Resolved],
            Pending => &[Open, OnHold, Resolved],
            OnHold => &[Open, Pending, Resolved],
            // Reopening is allowed; closing is final.
            Resolved => &[Open, Closed],
            Closed => &[],
        }
    }

    pub fn can_move_to(self, to: Status) -> bool {
        self.allowed_next().contains(&to)
    }

    /// Still being worked on (not resolved or closed).
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine() {
        assert!(Status::New.can_move_to(Status::Open));
        assert!(Status::Open.can_move_to(Status::Pending));
        assert!(Status::Pending.can_move_to(Status::Resolved));
        assert!(Status::Resolved.can_move_to(Status::Closed));
        assert!(Status::Resolved.can_move_to(Status::Open));
        assert!(!Status::Closed.can_move_to(Status::Open));
        assert!(!Status::New.can_move_to(Status::Closed));
        assert!(!Status::Open.can_move_to(Status::New));
        for s in Status::ALL {
            assert!(!s.can_move_to(s), "{s} to itself");
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
