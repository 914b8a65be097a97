//! Silences: "do not open incidents about this for a while". A silence has a scope — a
//! namespace, a workload, a node, a signal name, or what one incident is about — an expiry,
//! and who set it. Signals it covers open no incident while it lasts (they wait in the tracker
//! and are raised when it ends, if they still fire); an open incident it covers shows it on its
//! card and gets no reminders. Pure: parsing and matching; the records live in the store
//! collection [`SILENCES`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Incident;
use crate::correlate;
use crate::detect::{Signal, SignalName};

/// Store collection of silences (records expire a day after the silence does).
pub const SILENCES: &str = "silences";
/// Counter numbering silences (`S-1`, `S-2`...).
pub const SILENCE_SEQ: &str = "silence-seq";

/// What a silence covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scope {
    /// `ns/<namespace>`: every signal of objects in the namespace.
    Namespace { namespace: String },
    /// `<namespace>/<kind>/<name>`: signals of the workload (its root owner) or of that object.
    Workload {
        namespace: String,
        kind: String,
        name: String,
    },
    /// `node/<name>`: the node's own signals and those of pods on it.
    Node { name: String },
    /// `signal/<name>`: one kind of signal everywhere.
    Signal { signal: SignalName },
    /// An incident id: what that incident is about (its root workloads, node and shared
    /// cause, as correlation keys), so a recurrence after it ends opens nothing.
    Incident {
        id: String,
        /// Correlation keys (`owner:...`, `node:...`, `cause:...`).
        keys: Vec<String>,
        /// The incident's resource, for people.
        about: String,
    },
}

/// Workload kinds a scope may name, with the short forms people type.
const KINDS: &[(&str, &[&str])] = &[
    ("Deployment", &["deployment", "deploy", "deployments"]),
    ("StatefulSet", &["statefulset", "sts", "statefulsets"]),
    ("DaemonSet", &["daemonset", "ds", "daemonsets"]),
    ("Job", &["job", "jobs"]),
    ("CronJob", &["cronjob", "cj", "cronjobs"]),
    ("Pod", &["pod", "po", "pods"]),
    ("ReplicaSet", &["replicaset", "rs", "replicasets"]),
    (
        "PersistentVolumeClaim",
        &["persistentvolumeclaim", "pvc", "pvcs"],
    ),
    (
        "HorizontalPodAutoscaler",
        &["horizontalpodautoscaler", "hpa"],
    ),
];

/// The grammar, for usage errors and help.
pub const SCOPE_GRAMMAR: &str = "ns/<namespace>, <namespace>/<kind>/<name> (e.g. shop/deployment/web), node/<name>, signal/<signal name>, or an incident id (INC-7)";

impl Scope {
    /// Parses the text forms (not incident ids: those need the incident, see
    /// [`Scope::of_incident`]).
    pub fn parse(text: &str) -> Result<Scope, String> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let bad = || format!("`{text}` is not a scope; use {SCOPE_GRAMMAR}");
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [head, ns]
                if head.eq_ignore_ascii_case("ns") || head.eq_ignore_ascii_case("namespace") =>
            {
                Ok(Scope::Namespace {
                    namespace: ns.to_string(),
                })
            }
            [head, name] if head.eq_ignore_ascii_case("node") => Ok(Scope::Node {
                name: name.to_string(),
            }),
            [head, name] if head.eq_ignore_ascii_case("signal") => {
                let signal = SignalName::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
                    format!(
                        "`{name}` is not a signal name (for example crash_loop, oom_killed, node_not_ready)"
                    )
                })?;
                Ok(Scope::Signal { signal })
            }
            [ns, kind, name] => {
                let lower = kind.to_ascii_lowercase();
                let kind = KINDS
                    .iter()
                    .find(|(_, forms)| forms.contains(&lower.as_str()))
                    .map(|(k, _)| *k)
                    .ok_or_else(|| {
                        format!(
                            "`{kind}` is not a workload kind (deployment, statefulset, daemonset, job, cronjob, pod, pvc, hpa)"
                        )
                    })?;
                Ok(Scope::Workload {
                    namespace: ns.to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(bad()),
        }
    }

    /// What `incident` is about: its correlation keys.
    pub fn of_incident(incident: &Incident) -> Scope {
        Scope::Incident {
            id: incident.id.clone(),
            keys: incident.keys.iter().cloned().collect(),
            about: incident.primary.to_string(),
        }
    }

    /// Whether the scope covers `signal`.
    pub fn covers(&self, signal: &Signal) -> bool {
        fn ns(o: &crate::detect::ObjectRef) -> Option<&str> {
            o.namespace.as_deref()
        }
        match self {
            Scope::Namespace { namespace } => {
                ns(&signal.object) == Some(namespace.as_str())
                    || ns(&signal.owner) == Some(namespace.as_str())
            }
            Scope::Workload {
                namespace,
                kind,
                name,
            } => [&signal.owner, &signal.object]
                .iter()
                .any(|o| ns(o) == Some(namespace.as_str()) && o.kind == *kind && o.name == *name),
            Scope::Node { name } => {
                (signal.object.kind == "Node" && signal.object.name == *name)
                    || signal.node.as_deref() == Some(name)
            }
            Scope::Signal { signal: s } => signal.name == *s,
            Scope::Incident { keys, .. } => {
                let k = correlate::keys(signal);
                std::iter::once(k.owner)
                    .chain(k.node)
                    .chain(k.on_node)
                    .chain(k.cause)
                    .any(|k| keys.contains(&k))
            }
        }
    }

    /// Whether the scope covers an incident: the same incident, or every active signal (every
    /// signal once all have cleared).
    pub fn covers_incident(&self, incident: &Incident) -> bool {
        if let Scope::Incident { id, keys, .. } = self {
            return id == &incident.id || incident.keys.iter().any(|k| keys.contains(k));
        }
        let mut signals: Vec<&Signal> = incident.active_signals().collect();
        if signals.is_empty() {
            signals = incident.signals.values().map(|e| &e.signal).collect();
        }
        !signals.is_empty() && signals.iter().all(|s| self.covers(s))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Namespace { namespace } => write!(f, "ns/{namespace}"),
            Scope::Workload {
                namespace,
                kind,
                name,
            } => write!(f, "{namespace}/{}/{name}", kind.to_ascii_lowercase()),
            Scope::Node { name } => write!(f, "node/{name}"),
            Scope::Signal { signal } => write!(f, "signal/{signal}"),
            Scope::Incident { id, about, .. } => write!(f, "{id} ({about})"),
        }
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// `S-<n>`.
    pub id: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Who set it (a platform identity).
    pub by: String,
    /// Their display name, when the platform sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_name: Option<String>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }

    /// `Alice (slack:U1)` or the identity alone.
    pub fn who(&self) -> String {
        who(&self.by, self.by_name.as_deref())
    }
}

/// `Alice (slack:U1)`, or the identity alone when there is no name.
pub fn who(identity: &str, name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() && n != identity => format!("{n} ({identity})"),
        _ => identity.to_string(),
    }
}

/// The active silence covering an incident that lasts longest, if any.
pub fn covering<'a>(
    silences: &'a [Silence],
    incident: &Incident,
    now: DateTime<Utc>,
) -> Option<&'a Silence> {
    silences
        .iter()
        .filter(|s| s.is_active(now) && s.scope.covers_incident(incident))
        .max_by_key(|s| s.until)
}

/// Parses `90s`, `15m`, `1h`, `1h30m`, `2d` (humantime); a silence lasts 1 minute to 30 days.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 30m, 2h, 1d"))?;
    if d < std::time::Duration::from_secs(60) {
        return Err("a silence lasts at least 1m".into());
    }
    if d > std::time::Duration::from_secs(30 * 86_400) {
        return Err("a silence lasts at most 30d".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Evidence, ObjectRef};

    fn pod_signal(ns: &str, owner: &str, node: &str, name: SignalName) -> Signal {
        Signal {
            name,
            object: ObjectRef::namespaced("Pod", ns, &format!("{owner}-abc")),
            owner: ObjectRef::namespaced("Deployment", ns, owner),
            node: Some(node.into()),
            cause: None,
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn the_grammar_parses_and_prints_back() {
        for (text, shown) in [
            ("ns/shop", "ns/shop"),
            ("NS/shop", "ns/shop"),
            ("shop/deploy/web", "shop/deployment/web"),
            ("shop/Deployment/web", "shop/deployment/web"),
            ("shop/sts/db", "shop/statefulset/db"),
            ("node/n1", "node/n1"),
            ("signal/crash_loop", "signal/crash_loop"),
            ("signal/OOM_KILLED", "signal/oom_killed"),
        ] {
            assert_eq!(Scope::parse(text).unwrap().to_string(), shown, "{text}");
        }
        for bad in [
            "shop",
            "ns/",
            "shop/widget/web",
            "signal/nope",
            "a/b/c/d",
            "",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        let e = Scope::parse("signal/nope").unwrap_err();
        assert!(e.contains("not a signal name"), "{e}");
    }

    #[test]
    fn scopes_cover_what_they_name() {
        let s = pod_signal("shop", "web", "n1", SignalName::CrashLoop);
        assert!(Scope::parse("ns/shop").unwrap().covers(&s));
        assert!(!Scope::parse("ns/other").unwrap().covers(&s));
        assert!(Scope::parse("shop/deployment/web").unwrap().covers(&s));
        assert!(!Scope::parse("shop/deployment/api").unwrap().covers(&s));
        assert!(Scope::parse("shop/pod/web-abc").unwrap().covers(&s));
        assert!(Scope::parse("node/n1").unwrap().covers(&s));
        assert!(!Scope::parse("node/n2").unwrap().covers(&s));
        assert!(Scope::parse("signal/crash_loop").unwrap().covers(&s));
        assert!(!Scope::parse("signal/oom_killed").unwrap().covers(&s));
        let by_keys = Scope::Incident {
            id: "prod/INC-1".into(),
            keys: vec![correlate::owner_key(&s.owner)],
            about: "Deployment shop/web".into(),
        };
        assert!(by_keys.covers(&s));
        assert!(!by_keys.covers(&pod_signal("shop", "api", "n1", SignalName::CrashLoop)));
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert!(parse_duration("10s").is_err());
        assert!(parse_duration("90d").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
