//! IO: building an incident's [`Context`] from the cluster. Three rounds of concurrent
//! reads — the primary resource and its pods; then the owner chain and the rollout
//! history; then events, logs and nodes — each reduced to facts at once. A part that cannot
//! be read (forbidden, deleted meanwhile, timed out) is listed in the context; only a server
//! that does not answer at all fails the build.

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use tracing::{debug, instrument};

use super::config::ContextConfig;
use super::events::merge_events;
use super::fetch::EventTarget;
use super::model::*;
use super::pods::{log_targets, pod_facts, sort_pods};
use super::read::ReadError;
use super::resource::{Primary, resource_facts};
use super::rollout::rollout_facts;
use super::{Context, ContextError};
use crate::cluster::{ServedApis, discover};
use crate::detect::ObjectRef;
use crate::incident::Incident;
use crate::model::MetaExt;

/// Reads what the model and people are shown about an incident.
pub struct ContextBuilder {
    pub(super) client: kube::Client,
    pub(super) config: ContextConfig,
    /// Which CronJob / HPA versions the server serves, asked once when first needed.
    served: OnceCell<ServedApis>,
}

impl ContextBuilder {
    pub fn new(client: kube::Client, config: ContextConfig) -> Self {
        Self {
            client,
            config,
            served: OnceCell::new(),
        }
    }

    pub fn config(&self) -> &ContextConfig {
        &self.config
    }

    /// The context of `incident` as the cluster is now.
    pub async fn build(&self, incident: &Incident) -> Result<Context, ContextError> {
        self.build_at(incident, Utc::now()).await
    }

    /// The context with ages relative to `now`: the same cluster state and the same `now`
    /// give the same text.
    #[instrument(skip_all, fields(incident = %incident.id))]
    pub async fn build_at(
        &self,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<Context, ContextError> {
        let started = Instant::now();
        let cfg = &self.config;
        let p = &incident.primary;
        let mut gaps: Vec<Unavailable> = Vec::new();

        // Round 1: the primary resource and its pods.
        let primary = match self.read_primary(p).await {
            Ok(x) => x,
            Err(e) if e.unreachable() => {
                return Err(ContextError::Unreachable {
                    what: p.to_string(),
                    reason: e.why(),
                });
            }
            Err(e) => {
                gaps.push(e.gap(p.to_string()));
                None
            }
        };
        let resource = match &primary {
            Some(x) => Some(resource_facts(p, x)),
            None => not_read(p),
        };
        let mut pods = match &primary {
            Some(x) => self.pods_of(p, x).await.unwrap_or_else(|e| {
                gaps.push(e.gap(format!("pods of {p}")));
                Vec::new()
            }),
            None => Vec::new(),
        };
        let known: BTreeSet<String> = pods.iter().map(|x| x.name().to_string()).collect();
        let missing: Vec<ObjectRef> = incident
            .pods()
            .into_iter()
            .filter(|r| !known.contains(&r.name))
            .take(cfg.max_pods * 2)
            .cloned()
            .collect();
        pods.extend(self.signal_pods(&missing).await);
        let mut facts: Vec<PodFacts> = pods.iter().map(pod_facts).collect();
        sort_pods(&mut facts);
        let pods_total = facts.len();
        facts.truncate(cfg.max_pods);
        let shown = |f: &PodFacts| {
            pods.iter()
                .find(|x| x.name() == f.name && x.namespace() == f.namespace)
        };

        // Round 2: owners of the first pod shown, the Deployment's rollout history.
        let first = facts.first().and_then(shown);
        let chain = async {
            match first {
                Some(pod) => {
                    let start = ObjectRef::namespaced("Pod", pod.namespace(), pod.name());
                    self.owner_chain(start, &pod.metadata, p).await
                }
                None => (Vec::new(), Vec::new()),
            }
        };
        let deployment = match &primary {
            Some(Primary::Deployment(d)) => Some(d.as_ref()),
            _ => None,
        };
        let history = async {
            match deployment {
                Some(d) => Some(
                    self.replicasets(d)
                        .await
                        .map(|rs| rollout_facts(d, &rs, cfg.max_revisions)),
                ),
                None => None,
            }
        };
        let ((owners, owner_gaps), history) = futures::join!(chain, history);
        gaps.extend(owner_gaps);
        let rollout = match history {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                gaps.push(e.gap(format!("ReplicaSets of {p}")));
                None
            }
            None => None,
        };

        // Round 3: events, logs, nodes.
        let mut targets: Vec<EventTarget> = Vec::new();
        if let Some(x) = &primary {
            targets.push(EventTarget {
                kind: p.kind.clone(),
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                uid: primary_uid(x),
            });
        }
        if let Some(current) = rollout.as_ref().and_then(|r| r.revisions.first()) {
            targets.push(EventTarget {
                kind: "ReplicaSet".into(),
                namespace: p.namespace.clone(),
                name: current.replicaset.clone(),
                uid: None,
            });
        }
        for f in &facts {
            targets.push(EventTarget {
                kind: "Pod".into(),
                namespace: Some(f.namespace.clone()),
                name: f.name.clone(),
                uid: shown(f).and_then(|x| x.uid().map(str::to_string)),
            });
        }
        let events = futures::future::join_all(targets.iter().map(|t| async move {
            self.events_of(t)
                .await
                .map_err(|e| e.gap(format!("events of {} {}", t.kind, t.name)))
        }));
        let wanted_logs = log_targets(&facts, cfg.max_logs);
        let logs = futures::future::join_all(wanted_logs.iter().map(|t| async move {
            self.log(t).await.map_err(|e| {
                let which = if t.previous { "previous" } else { "current" };
                e.gap(format!(
                    "logs of pod {} container {} ({which})",
                    t.pod, t.container
                ))
            })
        }));
        let node_names: BTreeSet<&str> = facts
            .iter()
            .filter_map(|f| f.node.as_deref())
            .filter(|n| !(p.kind == "Node" && p.name == *n))
            .collect();
        let nodes = futures::future::join_all(node_names.iter().map(|n| async move {
            self.node(n)
                .await
                .map(|node| super::nodes::node_facts(&node))
                .map_err(|e| e.gap(format!("node {n}")))
        }));
        let (events, logs, nodes) = futures::join!(events, logs, nodes);

        let mut raw_events = Vec::new();
        for r in events {
            match r {
                Ok(list) => raw_events.extend(list),
                Err(g) => gaps.push(g),
            }
        }
        let mut events = merge_events(&raw_events);
        let events_total = events.len();
        events.truncate(cfg.max_events);
        let logs = split(logs, &mut gaps);
        let nodes = split(nodes, &mut gaps);

        let context = Context {
            incident: format!("{}: {}", incident.id, incident.title),
            now,
            budget: cfg.budget(),
            resource,
            owners,
            pods: facts,
            pods_total,
            events,
            events_total,
            logs,
            rollout,
            nodes,
            unavailable: gaps,
        };
        debug!(
            pods = context.pods.len(),
            events = context.events.len(),
            logs = context.logs.len(),
            unavailable = context.unavailable.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "context built"
        );
        Ok(context)
    }

    pub(super) async fn served(&self) -> Result<&ServedApis, ReadError> {
        self.served
            .get_or_try_init(|| async {
                super::read::read(self.config.request_timeout, discover(&self.client)).await
            })
            .await
    }
}

fn split<T>(results: Vec<Result<T, Unavailable>>, gaps: &mut Vec<Unavailable>) -> Vec<T> {
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(g) => gaps.push(g),
        }
    }
    out
}

fn primary_uid(p: &Primary) -> Option<String> {
    let uid = match p {
        Primary::Deployment(x) => x.uid(),
        Primary::StatefulSet(x) => x.uid(),
        Primary::DaemonSet(x) => x.uid(),
        Primary::ReplicaSet(x) => x.uid(),
        Primary::Job(x) => x.uid(),
        Primary::CronJob(x) => x.uid(),
        Primary::Pod(x) => x.uid(),
        Primary::Node(x) => x.uid(),
        Primary::Pvc(x) => x.uid(),
        Primary::Hpa(x) => x.uid(),
        Primary::Quota(x) => x.uid(),
    };
    uid.map(str::to_string)
}

/// What the resource section says about a primary Lookout does not read.
fn not_read(p: &ObjectRef) -> Option<ResourceFacts> {
    let why = match p.kind.as_str() {
        "Secret" => "Secrets are never read; the pods and events show what refers to it",
        "ConfigMap" => "ConfigMaps are not read; the pods and events show what refers to it",
        _ => return None,
    };
    Some(ResourceFacts {
        object: p.clone(),
        created: None,
        facts: vec![("not read".into(), why.into())],
        times: Vec::new(),
        conditions: Vec::new(),
    })
}
