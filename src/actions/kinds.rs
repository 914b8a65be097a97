//! The kinds actions and tools reach, and where the API serves them. Most are fixed; CronJob,
//! HorizontalPodAutoscaler and PodDisruptionBudget come from discovery ([`ServedApis`]), because
//! older servers serve them only in older versions. Everything goes through `DynamicObject` with
//! these resources, so an action reads a v1beta1 object the same way as a v1 one.
//!
//! Secrets are deliberately absent: Lookout never reads them.

use kube::core::ApiResource;

use crate::cluster::ServedApis;

/// One kind Lookout can address.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub kind: &'static str,
    pub group: &'static str,
    /// The version used when discovery has nothing to say about it.
    pub version: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Short names people and models use (`deploy`, `po`).
    pub aliases: &'static [&'static str],
}

macro_rules! kind {
    ($kind:literal, $group:literal, $version:literal, $plural:literal, $ns:literal, [$($a:literal),*]) => {
        Kind { kind: $kind, group: $group, version: $version, plural: $plural, namespaced: $ns, aliases: &[$($a),*] }
    };
}

/// Every kind, in the order `list` and the schemas show them.
pub const KINDS: &[Kind] = &[
    kind!("Pod", "", "v1", "pods", true, ["po"]),
    kind!("Deployment", "apps", "v1", "deployments", true, ["deploy"]),
    kind!("ReplicaSet", "apps", "v1", "replicasets", true, ["rs"]),
    kind!("StatefulSet", "apps", "v1", "statefulsets", true, ["sts"]),
    kind!("DaemonSet", "apps", "v1", "daemonsets", true, ["ds"]),
    kind!(
        "ControllerRevision",
        "apps",
        "v1",
        "controllerrevisions",
        true,
        []
    ),
    kind!("Job", "batch", "v1", "jobs", true, []),
    kind!("CronJob", "batch", "v1", "cronjobs", true, ["cj"]),
    kind!(
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        true,
        ["hpa"]
    ),
    kind!(
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
        true,
        ["pdb"]
    ),
    kind!("Service", "", "v1", "services", true, ["svc"]),
    kind!("Endpoints", "", "v1", "endpoints", true, ["ep"]),
    kind!(
        "Ingress",
        "networking.k8s.io",
        "v1",
        "ingresses",
        true,
        ["ing"]
    ),
    kind!("ConfigMap", "", "v1", "configmaps", true, ["cm"]),
    kind!(
        "PersistentVolumeClaim",
        "",
        "v1",
        "persistentvolumeclaims",
        true,
        ["pvc"]
    ),
    kind!(
        "PersistentVolume",
        "",
        "v1",
        "persistentvolumes",
        false,
        ["pv"]
    ),
    kind!(
        "StorageClass",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        false,
        ["sc"]
    ),
    kind!("ResourceQuota", "", "v1", "resourcequotas", true, ["quota"]),
    kind!("LimitRange", "", "v1", "limitranges", true, ["limits"]),
    kind!("Event", "", "v1", "events", true, ["ev"]),
    kind!("Node", "", "v1", "nodes", false, ["no"]),
    kind!("Namespace", "", "v1", "namespaces", false, ["ns"]),
];

/// Finds a kind by its name, plural or short name, ignoring case (`deployments`, `Deploy`).
pub fn lookup(name: &str) -> Option<&'static Kind> {
    let lower = name.to_ascii_lowercase();
    KINDS.iter().find(|k| {
        k.kind.eq_ignore_ascii_case(&lower)
            || k.plural == lower
            || k.aliases.contains(&lower.as_str())
    })
}

/// Whether a kind name means Secrets, in any spelling.
pub fn is_secret(name: &str) -> bool {
    matches!(name.to_ascii_lowercase().as_str(), "secret" | "secrets")
}

impl Kind {
    /// The resource to use on this cluster: the discovered one where discovery decides, else the
    /// fixed version. `None` when the cluster does not serve the kind at all.
    pub fn resource(&self, served: &ServedApis) -> Option<ApiResource> {
        let discovered = match self.kind {
            "CronJob" => Some(&served.cronjobs),
            "HorizontalPodAutoscaler" => Some(&served.horizontal_pod_autoscalers),
            "PodDisruptionBudget" => Some(&served.pod_disruption_budgets),
            _ => None,
        };
        match discovered {
            Some(found) => found.clone(),
            None => Some(ApiResource {
                group: self.group.into(),
                version: self.version.into(),
                api_version: if self.group.is_empty() {
                    self.version.into()
                } else {
                    format!("{}/{}", self.group, self.version)
                },
                kind: self.kind.into(),
                plural: self.plural.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_accepts_names_plurals_and_short_names() {
        for name in [
            "Deployment",
            "deployment",
            "deployments",
            "deploy",
            "DEPLOY",
        ] {
            assert_eq!(lookup(name).map(|k| k.kind), Some("Deployment"), "{name}");
        }
        assert_eq!(
            lookup("hpa").map(|k| k.kind),
            Some("HorizontalPodAutoscaler")
        );
        assert!(lookup("Secret").is_none() && lookup("widgets").is_none());
        assert!(is_secret("Secrets") && !is_secret("ConfigMap"));
    }

    #[test]
    fn discovered_kinds_follow_discovery() {
        let none = ServedApis::default();
        assert!(lookup("cronjob").unwrap().resource(&none).is_none());
        let rs = lookup("rs").unwrap().resource(&none).unwrap();
        assert_eq!(
            (rs.api_version.as_str(), rs.plural.as_str()),
            ("apps/v1", "replicasets")
        );
        let pod = lookup("pod").unwrap().resource(&none).unwrap();
        assert_eq!(pod.api_version, "v1");
    }
}
