//! The sim's error type. Most failures inside the running loops are logged and retried (a
//! kubelet keeps going when the API server hiccups); only starting the sim can fail outright.

/// Why the sim could not start or do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid sim configuration: {0}")]
    Config(String),
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("kubelet log endpoint: {0}")]
    LogServer(#[source] std::io::Error),
    #[error("kubelet log endpoint TLS: {0}")]
    Tls(String),
    #[error("{0} is not a node of this sim")]
    UnknownNode(String),
}

pub type Result<T, E = SimError> = std::result::Result<T, E>;

/// The longest one API round (a pod's sync, a binding, an event) may take before the loop moves
/// on: a hung request must not freeze every other pod. The work is retried on the next pass.
pub(crate) const API_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `fut` within [`API_DEADLINE`]; `None` (logged) when it took longer.
pub(crate) async fn within<F: std::future::Future>(what: &str, fut: F) -> Option<F::Output> {
    match tokio::time::timeout(API_DEADLINE, fut).await {
        Ok(out) => Some(out),
        Err(_) => {
            tracing::warn!(what, "API call timed out; retrying later");
            None
        }
    }
}
