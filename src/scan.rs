//! `lookout scan`: one look at the cluster, like a linter. Lists every kind the detection
//! catalogue reads (at the versions the server serves), runs the same observer and detection
//! as the bot, and prints the signals that hold now. Needs no Redis and no chat.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Utc};
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::clock::SystemClock;
use crate::cluster::{Change, Observed, discover};
use crate::config::Config;
use crate::correlate::{self, Severity};
use crate::detect::{Detector, Signal};
use crate::incident::tracker::{TrackerHandle, TrackerInput};
use crate::model::*;
use crate::observe::{ClusterEvent, Observer, ObserverMetrics};

/// One finding, in the stable JSON schema of `--output json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub signal: String,
    pub severity: Severity,
    pub namespace: Option<String>,
    pub kind: String,
    pub name: String,
    pub owner_kind: String,
    pub owner_name: String,
    pub reason: String,
    pub message: String,
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot reach the API server: {0}")]
    Kube(#[from] kube::Error),
}

/// Scans the cluster. `namespace` narrows the scope to one namespace: its objects only, no
/// Nodes (without it, the config's scope applies and Nodes are included).
pub async fn scan(
    client: kube::Client,
    config: &Config,
    namespace: Option<&str>,
) -> Result<Vec<Finding>, ScanError> {
    let mut scope = config.scope.clone();
    if let Some(ns) = namespace {
        scope.include_namespaces = vec![ns.to_string()];
    }
    let (tracker, mut rx) = TrackerHandle::detached(1024);
    // Collect while the observer runs, so a cluster with many problems never fills the channel.
    let collector = tokio::spawn(async move {
        let mut held: std::collections::BTreeMap<String, Signal> = Default::default();
        while let Some(input) = rx.recv().await {
            match input {
                TrackerInput::Raised { signal, .. } => {
                    held.insert(crate::incident::signal_id(&signal.key()), *signal);
                }
                TrackerInput::Cleared { key, .. } => {
                    held.remove(&crate::incident::signal_id(&key));
                }
                _ => {}
            }
        }
        held
    });
    let mut observer = Observer::new(
        Detector::new(config.detection.clone(), &scope),
        SystemClock::shared(),
        tracker,
        ObserverMetrics::new(&mut Default::default()),
    );
    let served = discover(&client).await?;
    let lp = ListParams::default();

    // Owners, namespaces and events first, so pods resolve owners and read their facts.
    macro_rules! feed {
        ($api:expr, $variant:ident) => {{
            let list = $api.list(&lp).await?;
            for item in list.items {
                observer
                    .handle(ClusterEvent::$variant(Observed {
                        change: Change::Apply(item),
                        at: Instant::now(),
                    }))
                    .await;
            }
        }};
    }
    feed!(Api::<Namespace>::all(client.clone()), Namespace);
    feed!(Api::<Deployment>::all(client.clone()), Deployment);
    feed!(Api::<ReplicaSet>::all(client.clone()), ReplicaSet);
    feed!(Api::<StatefulSet>::all(client.clone()), StatefulSet);
    feed!(Api::<DaemonSet>::all(client.clone()), DaemonSet);
    if let Some(v) = served.cronjobs.as_ref().and_then(|r| {
        CronJobVersion::PREFERRED
            .into_iter()
            .find(|c| c.as_str() == r.version)
    }) {
        feed!(Api::<CronJob>::all_with(client.clone(), &v), CronJob);
    }
    feed!(Api::<Job>::all(client.clone()), Job);
    feed!(Api::<Event>::all(client.clone()), Event);
    feed!(Api::<Pod>::all(client.clone()), Pod);
    feed!(Api::<Node>::all(client.clone()), Node);
    feed!(Api::<PersistentVolumeClaim>::all(client.clone()), Pvc);
    if let Some(v) = served.horizontal_pod_autoscalers.as_ref().and_then(|r| {
        HpaVersion::PREFERRED
            .into_iter()
            .find(|c| c.as_str() == r.version)
    }) {
        feed!(
            Api::<HorizontalPodAutoscaler>::all_with(client.clone(), &v),
            Hpa
        );
    }
    drop(observer);

    let production: BTreeSet<String> = scope.production_namespaces.iter().cloned().collect();
    let held = collector.await.unwrap_or_default();
    let mut findings: Vec<Finding> = held
        .into_values()
        .filter(|s| in_namespace(s, namespace))
        .map(|s| finding(config, &production, s))
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.signal.cmp(&b.signal))
    });
    Ok(findings)
}

/// Whether a signal belongs in a scan narrowed to `namespace`: only that namespace's objects.
/// Nodes are in no namespace; their problems show on the namespace's pods.
fn in_namespace(s: &Signal, namespace: Option<&str>) -> bool {
    namespace.is_none_or(|ns| s.object.namespace.as_deref() == Some(ns))
}

fn finding(config: &Config, production: &BTreeSet<String>, s: Signal) -> Finding {
    let score = correlate::score_signals(&config.correlation, std::iter::once(&s), production);
    Finding {
        signal: s.name.as_str().to_string(),
        severity: Severity::from_score(score),
        namespace: s.object.namespace.clone(),
        kind: s.object.kind.clone(),
        name: s.object.name.clone(),
        owner_kind: s.owner.kind.clone(),
        owner_name: s.owner.name.clone(),
        reason: s.evidence.reason.clone(),
        message: s.evidence.message.clone(),
        since: s.evidence.since,
    }
}

/// Prints findings as an aligned table.
pub fn print_table(findings: &[Finding], out: &mut impl Write) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "no problems found");
    }
    let rows: Vec<[String; 6]> = findings
        .iter()
        .map(|f| {
            [
                f.severity.to_string(),
                f.signal.clone(),
                format!(
                    "{}/{}",
                    f.kind,
                    match &f.namespace {
                        Some(ns) => format!("{ns}/{}", f.name),
                        None => f.name.clone(),
                    }
                ),
                format!("{}/{}", f.owner_kind, f.owner_name),
                f.reason.clone(),
                truncate(&f.message, 80),
            ]
        })
        .collect();
    let header = ["SEVERITY", "SIGNAL", "OBJECT", "OWNER", "REASON", "MESSAGE"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>, out: &mut dyn Write| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(header.to_vec(), out)?;
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), out)?;
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut t: String = one_line.chars().take(max - 1).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Evidence, ObjectRef, SignalName};

    fn signal(object: ObjectRef) -> Signal {
        Signal {
            name: SignalName::NodeNotReady,
            owner: object.clone(),
            object,
            node: None,
            cause: None,
            evidence: Evidence::default(),
        }
    }

    #[test]
    fn a_scan_narrowed_to_a_namespace_leaves_out_other_namespaces_and_nodes() {
        let node = signal(ObjectRef::cluster_scoped("Node", "node-1"));
        let pod = signal(ObjectRef::namespaced("Pod", "shop", "web-1"));
        let other = signal(ObjectRef::namespaced("Pod", "ops", "agent-1"));
        let kept = |ns| {
            [&node, &pod, &other]
                .into_iter()
                .filter(|s| in_namespace(s, ns))
                .map(|s| s.object.name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(Some("shop")), ["web-1"]);
        assert_eq!(kept(None), ["node-1", "web-1", "agent-1"]);
    }
}
