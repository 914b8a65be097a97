//! Detection thresholds and scope, as they appear in the config file under `detection:` and
//! `scope:`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Thresholds and grace periods. A grace period lets a normal transition (a pod starting, a
/// rollout, a claim being provisioned) finish before it counts as a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// A container that restarted at least this many times, and not long ago, raises
    /// `high_restarts` (unless it is crash-looping right now, which is `crash_loop`).
    pub high_restarts_threshold: u32,
    /// How long a past failure still counts once the container runs again: an OOM kill, the
    /// last of many restarts, an eviction, a failed Job of a CronJob.
    #[serde(with = "crate::config::duration")]
    pub recent_failure_window: Duration,
    /// A container that crashed repeatedly still counts as crash-looping this long after its
    /// last crash, even while it runs for a moment between two crashes (the kubelet's
    /// back-off reaches 5 minutes).
    #[serde(with = "crate::config::duration")]
    pub crash_loop_hold: Duration,
    /// A running pod that is not Ready for this long raises `not_ready` (or `probe_failing`
    /// when its probes are reported failing).
    #[serde(with = "crate::config::duration")]
    pub not_ready_grace: Duration,
    /// A pod the scheduler cannot place for this long raises `unschedulable`.
    #[serde(with = "crate::config::duration")]
    pub unschedulable_grace: Duration,
    /// A pod stuck creating with volume mount failures for this long raises `mount_failed`.
    #[serde(with = "crate::config::duration")]
    pub mount_failed_grace: Duration,
    /// A Deployment not Available, or a StatefulSet / DaemonSet with pods not ready, for this
    /// long (outside a rollout) raises `replicas_unavailable` / `statefulset_not_ready` /
    /// `daemonset_not_ready`.
    #[serde(with = "crate::config::duration")]
    pub replicas_unavailable_grace: Duration,
    /// A StatefulSet or DaemonSet rollout may leave pods not ready this long before it counts
    /// (Deployments have their own progress deadline).
    #[serde(with = "crate::config::duration")]
    pub rollout_grace: Duration,
    /// A node whose Ready condition is not True for this long raises `node_not_ready`.
    #[serde(with = "crate::config::duration")]
    pub node_not_ready_grace: Duration,
    /// A claim Pending for this long raises `pvc_pending`.
    #[serde(with = "crate::config::duration")]
    pub pvc_pending_grace: Duration,
    /// An HPA at its maximum while wanting more, or unable to scale, for this long raises
    /// `hpa_maxed` / `hpa_unable`.
    #[serde(with = "crate::config::duration")]
    pub hpa_grace: Duration,
    /// Events last seen longer ago than this are ignored.
    #[serde(with = "crate::config::duration")]
    pub event_window: Duration,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            high_restarts_threshold: 5,
            recent_failure_window: Duration::from_secs(30 * 60),
            crash_loop_hold: Duration::from_secs(5 * 60),
            not_ready_grace: Duration::from_secs(5 * 60),
            unschedulable_grace: Duration::from_secs(2 * 60),
            mount_failed_grace: Duration::from_secs(60),
            replicas_unavailable_grace: Duration::from_secs(5 * 60),
            rollout_grace: Duration::from_secs(10 * 60),
            node_not_ready_grace: Duration::ZERO,
            pvc_pending_grace: Duration::from_secs(5 * 60),
            hpa_grace: Duration::from_secs(5 * 60),
            event_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Which namespaces Lookout looks at. The opt-out annotation `lookout.dev/ignore: "true"` on a
/// namespace, a workload or a pod template applies on top of these lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeConfig {
    /// Only these namespaces are watched; empty means all. An entry ending in `*` matches a
    /// prefix (`team-*`).
    pub include_namespaces: Vec<String>,
    /// These namespaces are never watched, even when included. Same matching as above.
    pub exclude_namespaces: Vec<String>,
    /// Namespaces whose incidents weigh more in the severity score.
    pub production_namespaces: Vec<String>,
    /// Only nodes carrying all these labels are watched (a node pool this Lookout answers
    /// for, e.g. `{ pool: web }`); empty means every node.
    pub node_labels: std::collections::BTreeMap<String, String>,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        Self {
            include_namespaces: Vec::new(),
            exclude_namespaces: vec!["kube-system".into()],
            production_namespaces: Vec::new(),
            node_labels: Default::default(),
        }
    }
}
