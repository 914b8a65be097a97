//! The incident state machine:
//!
//! ```text
//! Detected -> Analyzing -> Remediating <-> AwaitingApproval
//!                              |
//!                              v
//!                          Verifying -> Resolved | Escalated | Dismissed
//! ```
//!
//! Any open state may also go straight to Resolved (its signals cleared), Escalated,
//! Dismissed (a person calls it a false alarm) or Merged (absorbed by another incident).
//! An escalated incident stays visible until its signals clear (Resolved) or it is dismissed.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Detected,
    Analyzing,
    Remediating,
    AwaitingApproval,
    Verifying,
    Resolved,
    Escalated,
    Dismissed,
    /// Absorbed by another incident (`merged_into`).
    Merged,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incident cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: IncidentState,
    pub to: IncidentState,
}

impl IncidentState {
    pub const ALL: [IncidentState; 9] = [
        Self::Detected,
        Self::Analyzing,
        Self::Remediating,
        Self::AwaitingApproval,
        Self::Verifying,
        Self::Resolved,
        Self::Escalated,
        Self::Dismissed,
        Self::Merged,
    ];

    /// Terminal states take no further transitions.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Resolved | Self::Dismissed | Self::Merged)
    }

    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::Analyzing => "analyzing",
            Self::Remediating => "remediating",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Verifying => "verifying",
            Self::Resolved => "resolved",
            Self::Escalated => "escalated",
            Self::Dismissed => "dismissed",
            Self::Merged => "merged",
        }
    }

    /// Whether `self -> to` is allowed.
    pub fn can_go_to(self, to: IncidentState) -> bool {
        use IncidentState::*;
        if self.is_terminal() || self == to {
            return false;
        }
        if matches!(to, Resolved | Escalated | Dismissed | Merged) {
            return true;
        }
        matches!(
            (self, to),
            (Detected, Analyzing)
                | (Detected, Remediating)
                | (Analyzing, Remediating)
                | (Analyzing, Detected)
                | (Remediating, AwaitingApproval)
                | (AwaitingApproval, Remediating)
                | (Remediating, Verifying)
                | (AwaitingApproval, Verifying)
                | (Verifying, Remediating)
                | (Escalated, Remediating)
                | (Escalated, Analyzing)
        )
    }

    /// The transition, or why not.
    pub fn go_to(self, to: IncidentState) -> Result<IncidentState, TransitionError> {
        if self.can_go_to(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentState::*;
    use super::*;

    #[test]
    fn the_happy_path_is_allowed() {
        let path = [
            Detected,
            Analyzing,
            Remediating,
            AwaitingApproval,
            Remediating,
            Verifying,
            Resolved,
        ];
        for w in path.windows(2) {
            assert_eq!(w[0].go_to(w[1]), Ok(w[1]), "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn terminal_states_are_final() {
        for from in [Resolved, Dismissed, Merged] {
            for to in IncidentState::ALL {
                assert!(from.go_to(to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn every_open_state_can_end() {
        for from in IncidentState::ALL.into_iter().filter(|s| s.is_open()) {
            for to in [Resolved, Escalated, Dismissed, Merged] {
                assert_eq!(from.can_go_to(to), from != to, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn skipping_approval_or_verification_backwards_is_refused() {
        assert!(Detected.go_to(Verifying).is_err());
        assert!(Verifying.go_to(AwaitingApproval).is_err());
        assert!(Detected.go_to(AwaitingApproval).is_err());
        assert_eq!(
            Detected.go_to(Detected),
            Err(TransitionError {
                from: Detected,
                to: Detected
            })
        );
    }
}
