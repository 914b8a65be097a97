//! Node signals: NotReady (including Unknown: the node stopped reporting) and pressure
//! conditions. Evidence carries the number of pods on the node, which severity breadth needs.

use chrono::{DateTime, Utc};

use crate::model::{MetaExt, Node};

use super::detector::{Detection, Detector, Draft, Subject};
use super::owners::NoLookup;
use super::signal::{Evidence, SignalName};

/// The conditions that are bad when True.
const PRESSURES: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

impl Detector {
    /// `pods_on_node`: how many pods still hold a place on the node (from the caller's pod
    /// cache: bound, not being deleted, not finished, not DaemonSet pods, which a drain
    /// leaves).
    pub fn node(&self, node: &Node, pods_on_node: u32, now: DateTime<Utc>) -> Detection {
        let mut out = Detection::default();
        if node.is_deleting() || !self.scope().node_in_scope(node.metadata.labels.as_ref()) {
            return out;
        }
        let mut drafts = Vec::new();
        let base = |reason: &str, message: &str, since| {
            Evidence::new(reason, message)
                .with_count(pods_on_node)
                .with_since(since)
                .with_detail("pods", pods_on_node)
                .with_detail("cordoned", node.spec.unschedulable)
        };

        // A node cordoned and drained is out of service on purpose: that it is not Ready is
        // expected, and nothing depends on it any more (this is how a node incident ends
        // once its pods run elsewhere, and why maintenance does not page).
        let out_of_service = node.spec.unschedulable && pods_on_node == 0;
        if let Some(ready) = node
            .condition("Ready")
            .filter(|c| !c.is_true() && !out_of_service)
        {
            let since = ready.last_transition_time.unwrap_or(now);
            if out.grace_over(since, self.config.node_not_ready_grace, now) {
                let reason = match ready.reason() {
                    "" if ready.is_false() => "NotReady",
                    "" => "NodeStatusUnknown",
                    r => r,
                };
                let status = if ready.is_false() { "False" } else { "Unknown" };
                let evidence =
                    base(reason, ready.message(), Some(since)).with_detail("ready", status);
                drafts.push(Draft::new(SignalName::NodeNotReady, evidence));
            }
        }

        let pressing: Vec<_> = PRESSURES
            .iter()
            .filter_map(|t| node.condition(t).filter(|c| c.is_true()))
            .collect();
        if let Some(first) = pressing.first() {
            let names: Vec<&str> = pressing.iter().map(|c| c.type_.as_str()).collect();
            let message: Vec<&str> = pressing
                .iter()
                .map(|c| c.message())
                .filter(|m| !m.is_empty())
                .collect();
            let since = pressing.iter().filter_map(|c| c.last_transition_time).min();
            let evidence = base(&first.type_, &message.join("; "), since)
                .with_detail("pressures", names.join(","));
            drafts.push(Draft::new(SignalName::NodePressure, evidence));
        }

        self.finish(
            &mut out,
            drafts,
            Subject::new("Node", node),
            node,
            &NoLookup,
        );
        out
    }
}
