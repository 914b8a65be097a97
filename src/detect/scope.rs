//! Which objects Lookout looks at: namespace include / exclude lists (exclude wins) and the
//! opt-out annotation `lookout.dev/ignore: "true"` on a namespace, a workload or a pod
//! template.

use super::config::ScopeConfig;
use super::owners::OwnerLookup;
use super::signal::ObjectRef;

/// The scope lists, ready to match.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    include: Vec<String>,
    exclude: Vec<String>,
    production: Vec<String>,
    node_labels: std::collections::BTreeMap<String, String>,
}

impl Scope {
    pub fn new(config: &ScopeConfig) -> Self {
        Self {
            include: config.include_namespaces.clone(),
            exclude: config.exclude_namespaces.clone(),
            production: config.production_namespaces.clone(),
            node_labels: config.node_labels.clone(),
        }
    }

    /// Whether the lists admit the namespace. Exclusion wins over inclusion; an empty include
    /// list admits every namespace.
    pub fn namespace_in_scope(&self, namespace: &str) -> bool {
        if self.exclude.iter().any(|p| matches(p, namespace)) {
            return false;
        }
        self.include.is_empty() || self.include.iter().any(|p| matches(p, namespace))
    }

    /// Whether a node with these labels is one Lookout answers for.
    pub fn node_in_scope(
        &self,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> bool {
        self.node_labels
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    }

    /// Whether the namespace is listed as production (for severity).
    pub fn is_production(&self, namespace: &str) -> bool {
        self.production.iter().any(|p| matches(p, namespace))
    }

    /// Whether signals about `object` (in its namespace, with root owner `owner`) are wanted:
    /// the namespace is in the lists and neither the namespace, the root owner nor the object
    /// itself (its own or its pod template's annotations, checked by the caller into
    /// `object_opted_out`) opted out.
    pub fn admits(
        &self,
        namespace: &str,
        owner: &ObjectRef,
        object_opted_out: bool,
        lookup: &(impl OwnerLookup + ?Sized),
    ) -> bool {
        if object_opted_out || !self.namespace_in_scope(namespace) {
            return false;
        }
        let ns = ObjectRef::cluster_scoped("Namespace", namespace);
        !lookup.opted_out(&ns) && !lookup.opted_out(owner)
    }
}

fn matches(pattern: &str, namespace: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => namespace.starts_with(prefix),
        None => pattern == namespace,
    }
}
