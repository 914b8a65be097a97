//! What can go wrong with an action. A refusal is not a failure: it is a guard saying "not this,
//! and here is why", which the agent shows to people and feeds back to the model. `Stale` voids
//! an approval: the cluster moved on since the plan was shown.

use crate::detect::ObjectRef;

/// Errors of planning, executing, verifying and rolling back actions, and of read-only tools.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No action or tool of that name is registered.
    #[error("unknown action or tool `{0}`")]
    Unknown(String),
    /// The parameters do not match the action's schema (unknown field, wrong type, bad value).
    #[error("invalid parameters for {action}: {reason}")]
    InvalidParams { action: String, reason: String },
    /// A guard refused the action. `guard` is a stable name from [`super::guards`].
    #[error("refused ({guard}): {reason}")]
    Refused { guard: &'static str, reason: String },
    /// The target does not exist.
    #[error("{target} not found")]
    NotFound { target: ObjectRef },
    /// The object or the change differs from what was approved; the approval is void.
    #[error("the plan is stale: {reason}; a new plan and approval are needed")]
    Stale { reason: String },
    /// The API this needs is not served by the cluster (an old or trimmed API server).
    #[error("{what} is not served by this cluster")]
    NotServed { what: String },
    /// The action cannot be undone (a deleted pod is replaced by its controller, not restored).
    #[error("{action} cannot be rolled back: {reason}")]
    NotReversible { action: String, reason: String },
    /// A stored plan that this version cannot carry out (changed action, corrupted record).
    #[error("plan cannot be carried out: {0}")]
    BadPlan(String),
    /// The API server refused or failed a call.
    #[error("{op} {target}: {source}")]
    Kube {
        op: &'static str,
        target: String,
        #[source]
        source: kube::Error,
    },
}

impl ActionError {
    /// A refusal by the named guard.
    pub fn refused(guard: &'static str, reason: impl Into<String>) -> Self {
        Self::Refused {
            guard,
            reason: reason.into(),
        }
    }

    pub fn invalid(action: &str, reason: impl Into<String>) -> Self {
        Self::InvalidParams {
            action: action.to_string(),
            reason: reason.into(),
        }
    }

    pub fn stale(reason: impl Into<String>) -> Self {
        Self::Stale {
            reason: reason.into(),
        }
    }

    /// Wraps an API error with what was being done and to what.
    pub fn kube(op: &'static str, target: impl std::fmt::Display, source: kube::Error) -> Self {
        Self::Kube {
            op,
            target: target.to_string(),
            source,
        }
    }

    /// The guard's name when this is a refusal.
    pub fn guard(&self) -> Option<&'static str> {
        match self {
            Self::Refused { guard, .. } => Some(guard),
            _ => None,
        }
    }

    /// Whether the API server answered 409 Conflict (a resourceVersion precondition failed).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Kube { source: kube::Error::Api(s), .. } if s.code == 409)
    }
}

/// The HTTP status of an API error, if it is one.
pub(crate) fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

pub type Result<T, E = ActionError> = std::result::Result<T, E>;
