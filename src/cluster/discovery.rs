//! Which versions of the APIs Lookout reads the server serves. Clusters differ: a 1.20 server
//! has CronJob only in batch/v1beta1, PodDisruptionBudget in policy/v1beta1 and the HPA with
//! conditions in autoscaling/v2beta2; a current one has batch/v1, policy/v1, autoscaling/v2.
//! Lookout prefers the current version, falls back to the older one with the same shape, and
//! when neither is served it warns once and goes without.

use kube::core::ApiResource;
use tracing::{info, warn};

/// The resolved resources; `None` means not served.
#[derive(Debug, Clone, Default)]
pub struct ServedApis {
    pub cronjobs: Option<ApiResource>,
    pub horizontal_pod_autoscalers: Option<ApiResource>,
    pub pod_disruption_budgets: Option<ApiResource>,
}

struct Want {
    kind: &'static str,
    plural: &'static str,
    group: &'static str,
    versions: &'static [&'static str],
}

const CRONJOBS: Want = Want {
    kind: "CronJob",
    plural: "cronjobs",
    group: "batch",
    versions: &["v1", "v1beta1"],
};
const HPAS: Want = Want {
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    group: "autoscaling",
    versions: &["v2", "v2beta2"],
};
const PDBS: Want = Want {
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    group: "policy",
    versions: &["v1", "v1beta1"],
};

/// Asks the server. Fails only when the server cannot be reached at all.
pub async fn discover(client: &kube::Client) -> Result<ServedApis, kube::Error> {
    Ok(ServedApis {
        cronjobs: find(client, &CRONJOBS).await?,
        horizontal_pod_autoscalers: find(client, &HPAS).await?,
        pod_disruption_budgets: find(client, &PDBS).await?,
    })
}

async fn find(client: &kube::Client, want: &Want) -> Result<Option<ApiResource>, kube::Error> {
    for version in want.versions {
        let group_version = format!("{}/{version}", want.group);
        match client.list_api_group_resources(&group_version).await {
            Ok(list) if list.resources.iter().any(|r| r.name == want.plural) => {
                info!(kind = want.kind, api = %group_version, "using");
                return Ok(Some(ApiResource {
                    group: want.group.into(),
                    version: (*version).into(),
                    api_version: group_version,
                    kind: want.kind.into(),
                    plural: want.plural.into(),
                }));
            }
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    warn!(
        kind = want.kind,
        tried = ?want.versions.iter().map(|v| format!("{}/{v}", want.group)).collect::<Vec<_>>(),
        "not served by this cluster; its signals are skipped"
    );
    Ok(None)
}
