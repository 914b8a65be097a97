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
