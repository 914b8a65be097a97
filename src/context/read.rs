//! IO helpers: every read bounded by a timeout, and its failure turned into what the context
//! says instead ("forbidden: ...", "not found (deleted meanwhile?)") so one unreadable part
//! never fails the whole build.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::model::Unavailable;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    NotFound,
    /// The identity may not read this (RBAC); the API server's message.
    Forbidden(String),
    /// Another API answer (400 for a log of a container that never ran, 500s...).
    Status(u16, String),
    Timeout(Duration),
    /// The server could not be reached or answered garbage.
    Transport(String),
}

impl ReadError {
    pub fn why(&self) -> String {
        match self {
            Self::NotFound => "not found (deleted meanwhile?)".into(),
            Self::Forbidden(m) => format!("forbidden: {m}"),
            Self::Status(code, m) => format!("API error {code}: {m}"),
            Self::Timeout(d) => format!("timed out after {}", crate::config::duration::format(*d)),
            Self::Transport(m) => format!("request failed: {m}"),
        }
    }

    /// The server is not answering at all (as opposed to refusing one request).
    pub fn unreachable(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Transport(_))
    }

    pub fn gap(&self, what: impl Into<String>) -> Unavailable {
        Unavailable {
            what: what.into(),
            why: self.why(),
        }
    }
}

impl From<kube::Error> for ReadError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) if s.is_not_found() => Self::NotFound,
            kube::Error::Api(s) if s.is_forbidden() => Self::Forbidden(s.message.clone()),
            kube::Error::Api(s) => Self::Status(s.code, s.message.clone()),
            other => Self::Transport(other.to_string()),
        }
    }
}

/// Runs one API request with a deadline.
pub async fn read<T>(
    timeout: Duration,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, ReadError> {
    match tokio::time::timeout(timeout, request).await {
        Ok(result) => result.map_err(ReadError::from),
        Err(_) => Err(ReadError::Timeout(timeout)),
    }
}

/// A label selector as the API's query string (`app=web,tier in (a,b),!canary`); None for
/// an empty selector, which would match every pod of the namespace.
pub fn selector_string(s: &LabelSelector) -> Option<String> {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => continue,
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_render_as_query_strings_and_empty_ones_match_nothing() {
        let s: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"}]
        }))
        .unwrap();
        assert_eq!(
            selector_string(&s).as_deref(),
            Some("app=web,tier in (a,b),!canary")
        );
        assert_eq!(selector_string(&LabelSelector::default()), None);
    }

    #[test]
    fn errors_say_what_happened() {
        assert_eq!(
            ReadError::Timeout(Duration::from_secs(10)).why(),
            "timed out after 10s"
        );
        assert!(ReadError::Transport("connection refused".into()).unreachable());
        assert!(!ReadError::Forbidden("no".into()).unreachable());
    }
}
