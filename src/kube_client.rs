//! Building the Kubernetes client from the config: an explicit kubeconfig and context, or the
//! usual inference (`KUBECONFIG`, `~/.kube/config`, in-cluster service account).

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::config::KubernetesConfig;

#[derive(Debug, thiserror::Error)]
pub enum KubeClientError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no usable Kubernetes configuration: {0}")]
    Infer(String),
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// Builds a client. Does not contact the API server: an unreachable server is a runtime
/// condition (`/readyz` reports it), not a startup error.
pub async fn client(config: &KubernetesConfig) -> Result<kube::Client, KubeClientError> {
    let options = KubeConfigOptions {
        context: config.context.clone(),
        ..Default::default()
    };
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|source| KubeClientError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|source| KubeClientError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?
        }
        None if config.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| KubeClientError::Infer(e.to_string()))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| KubeClientError::Infer(e.to_string()))?,
    };
    kube::Client::try_from(kube_config).map_err(KubeClientError::Client)
}
