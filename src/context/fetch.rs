//! IO: the individual reads of the context builder. Each returns what it could read plus
//! what it could not ([`Unavailable`]); none fails the build. Secrets are never read.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Pod, ResourceQuota};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, LogParams};
use kube::core::{ApiResource, DynamicObject};

use super::builder::ContextBuilder;
use super::model::{LogFacts, Unavailable};
use super::pods::LogTarget;
use super::read::{ReadError, read, selector_string};
use super::resource::Primary;
use crate::detect::ObjectRef;
use crate::model::{CronJob, CronJobVersion, HorizontalPodAutoscaler, HpaVersion, MetaExt};

/// An object whose events are shown.
#[derive(Debug, Clone)]
pub struct EventTarget {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
}

impl ContextBuilder {
    fn ns(&self, r: &ObjectRef) -> String {
        r.namespace.clone().unwrap_or_default()
    }

    /// The primary object, typed. Ok(None) for what is not read: alert groups, registries,
    /// Secrets (never) and ConfigMaps (their data may hold credentials; a missing one shows
    /// in pod status and events).
    pub(super) async fn read_primary(&self, r: &ObjectRef) -> Result<Option<Primary>, ReadError> {
        let (c, ns, t) = (self.client.clone(), self.ns(r), self.config.request_timeout);
        let name = r.name.as_str();
        macro_rules! get {
            ($api:expr, $variant:ident) => {
                Ok(Some(Primary::$variant(Box::new(
                    read(t, $api.get(name)).await?,
                ))))
            };
        }
        match r.kind.as_str() {
            "Deployment" => get!(Api::<Deployment>::namespaced(c, &ns), Deployment),
            "StatefulSet" => get!(Api::<StatefulSet>::namespaced(c, &ns), StatefulSet),
            "DaemonSet" => get!(Api::<DaemonSet>::namespaced(c, &ns), DaemonSet),
            "ReplicaSet" => get!(Api::<ReplicaSet>::namespaced(c, &ns), ReplicaSet),
            "Job" => get!(Api::<Job>::namespaced(c, &ns), Job),
            "Pod" => get!(Api::<Pod>::namespaced(c, &ns), Pod),
            "Node" => get!(Api::<Node>::all(c), Node),
            "PersistentVolumeClaim" => {
                get!(Api::<PersistentVolumeClaim>::namespaced(c, &ns), Pvc)
            }
            "ResourceQuota" => get!(Api::<ResourceQuota>::namespaced(c, &ns), Quota),
            "CronJob" => match self.cronjob_version().await? {
                Some(v) => get!(Api::<CronJob>::namespaced_with(c, &ns, &v), CronJob),
                None => Ok(None),
            },
            "HorizontalPodAutoscaler" => match self.hpa_version().await? {
                Some(v) => get!(
                    Api::<HorizontalPodAutoscaler>::namespaced_with(c, &ns, &v),
                    Hpa
                ),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    async fn cronjob_version(&self) -> Result<Option<CronJobVersion>, ReadError> {
        let served = self.served().await?;
        Ok(served.cronjobs.as_ref().and_then(|r| {
            CronJobVersion::PREFERRED
                .into_iter()
                .find(|v| v.as_str() == r.version)
        }))
    }

    async fn hpa_version(&self) -> Result<Option<HpaVersion>, ReadError> {
        let served = self.served().await?;
        Ok(served.horizontal_pod_autoscalers.as_ref().and_then(|r| {
            HpaVersion::PREFERRED
                .into_iter()
                .find(|v| v.as_str() == r.version)
        }))
    }

    /// Pods listed by a label selector in `ns`.
    async fn pods_matching(&self, ns: &str, selector: &str) -> Result<Vec<Pod>, ReadError> {
        let api = Api::<Pod>::namespaced(self.client.clone(), ns);
        let lp = ListParams::default().labels(selector);
        Ok(read(self.config.request_timeout, api.list(&lp))
            .await?
            .items)
    }

    /// The pods of the primary resource: a workload's by its selector, a CronJob's through
    /// its Jobs, a Node's by binding, a claim's by volume, an HPA's through its target.
    pub(super) async fn pods_of(
        &self,
        r: &ObjectRef,
        primary: &Primary,
    ) -> Result<Vec<Pod>, ReadError> {
        let ns = self.ns(r);
        let t = self.config.request_timeout;
        let selector = match primary {
            Primary::Deployment(d) => Some(&d.spec.selector),
            Primary::StatefulSet(s) => Some(&s.spec.selector),
            Primary::DaemonSet(s) => Some(&s.spec.selector),
            Primary::ReplicaSet(s) => Some(&s.spec.selector),
            Primary::Job(j) => j.spec.as_ref().and_then(|s| s.selector.as_ref()),
            Primary::Pod(p) => return Ok(vec![(**p).clone()]),
            Primary::Node(n) => {
                let api = Api::<Pod>::all(self.client.clone());
                let lp = ListParams::default().fields(&format!("spec.nodeName={}", n.name()));
                return Ok(read(t, api.list(&lp)).await?.items);
            }
            Primary::Pvc(claim) => {
                let api = Api::<Pod>::namespaced(self.client.clone(), &ns);
                let all = read(t, api.list(&ListParams::default())).await?.items;
                return Ok(all
                    .into_iter()
                    .filter(|p| uses_claim(p, claim.name()))
                    .collect());
            }
            Primary::CronJob(c) => {
                let api = Api::<Job>::namespaced(self.client.clone(), &ns);
                let mut jobs: Vec<Job> = read(t, api.list(&ListParams::default()))
                    .await?
                    .items
                    .into_iter()
                    .filter(|j| {
                        j.controller()
                            .is_some_and(|o| Some(o.uid.as_str()) == c.uid())
                    })
                    .collect();
                // The newest runs tell what is failing now.
                jobs.sort_by_key(|j| std::cmp::Reverse(j.created()));
                let uids: Vec<&str> = jobs.iter().take(5).filter_map(|j| j.uid()).collect();
                if uids.is_empty() {
                    return Ok(Vec::new());
                }
                return self
                    .pods_matching(&ns, &format!("controller-uid in ({})", uids.join(",")))
                    .await;
            }
            Primary::Hpa(h) => {
                let target = &h.spec.scale_target_ref;
                let target = ObjectRef::namespaced(&target.kind, &ns, &target.name);
                return match Box::pin(self.read_primary(&target)).await? {
                    Some(
                        p @ (Primary::Deployment(_)
                        | Primary::StatefulSet(_)
                        | Primary::ReplicaSet(_)),
                    ) => Box::pin(self.pods_of(&target, &p)).await,
                    _ => Ok(Vec::new()),
                };
            }
            Primary::Quota(_) => None,
        };
        match selector.and_then(selector_string) {
            Some(s) => self.pods_matching(&ns, &s).await,
            None => Ok(Vec::new()),
        }
    }

    /// Pods named by the incident's signals that the primary did not lead to (shared-cause
    /// incidents, alert groups). Gone ones are skipped: they are not evidence any more.
    pub(super) async fn signal_pods(&self, refs: &[ObjectRef]) -> Vec<Pod> {
        let reads = refs.iter().map(|r| async move {
            let api = Api::<Pod>::namespaced(self.client.clone(), &self.ns(r));
            read(self.config.request_timeout, api.get_opt(&r.name)).await
        });
        futures::future::join_all(reads)
            .await
            .into_iter()
            .filter_map(|r| r.ok().flatten())
            .collect()
    }

    /// The ReplicaSets of a Deployment's namespace that its selector matches.
    pub(super) async fn replicasets(&self, d: &Deployment) -> Result<Vec<ReplicaSet>, ReadError> {
        let Some(selector) = selector_string(&d.spec.selector) else {
            return Ok(Vec::new());
        };
        let api = Api::<ReplicaSet>::namespaced(self.client.clone(), d.namespace());
        let lp = ListParams::default().labels(&selector);
        Ok(read(self.config.request_timeout, api.list(&lp))
            .await?
            .items)
    }

    /// From `start` (with its metadata) up through controller references until the root,
    /// reading each owner's metadata only. `stop` (the primary, the known root) is not read.
    pub(super) async fn owner_chain(
        &self,
        start: ObjectRef,
        meta: &ObjectMeta,
        stop: &ObjectRef,
    ) -> (Vec<ObjectRef>, Vec<Unavailable>) {
        let ns = start.namespace.clone().unwrap_or_default();
        let mut chain = vec![start];
        let mut next = controller(meta);
        for _ in 0..8 {
            let Some((kind, name)) = next.take() else {
                break;
            };
            let r = ObjectRef::new(&kind, (!ns.is_empty()).then_some(ns.as_str()), &name);
            chain.push(r.clone());
            if r == *stop {
                break;
            }
            let Some(ar) = self.api_resource(&kind).await else {
                break;
            };
            let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), &ns, &ar);
            match read(self.config.request_timeout, api.get_metadata_opt(&name)).await {
                Ok(Some(m)) => next = controller(&m.metadata),
                Ok(None) => return (chain, vec![ReadError::NotFound.gap(format!("owner {r}"))]),
                Err(e) => return (chain, vec![e.gap(format!("owner {r}"))]),
            }
        }
        (chain, Vec::new())
    }

    async fn api_resource(&self, kind: &str) -> Option<ApiResource> {
        Some(match kind {
            "ReplicaSet" => ApiResource::erase::<ReplicaSet>(&()),
            "Deployment" => ApiResource::erase::<Deployment>(&()),
            "StatefulSet" => ApiResource::erase::<StatefulSet>(&()),
            "DaemonSet" => ApiResource::erase::<DaemonSet>(&()),
            "Job" => ApiResource::erase::<Job>(&()),
            "CronJob" => self.served().await.ok()?.cronjobs.clone()?,
            _ => return None,
        })
    }

    /// Events about `target`; events of an earlier object with the same name are left out.
    pub(super) async fn events_of(&self, target: &EventTarget) -> Result<Vec<Event>, ReadError> {
        let api = match &target.namespace {
            Some(ns) => Api::<Event>::namespaced(self.client.clone(), ns),
            None => Api::<Event>::all(self.client.clone()),
        };
        let lp = ListParams::default().fields(&format!(
            "involvedObject.kind={},involvedObject.name={}",
            target.kind, target.name
        ));
        let events = read(self.config.request_timeout, api.list(&lp))
            .await?
            .items;
        Ok(events
            .into_iter()
            .filter(|e| match (&target.uid, &e.involved_object.uid) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            })
            .collect())
    }

    /// One container's log, tail-limited.
    pub(super) async fn log(&self, t: &LogTarget) -> Result<LogFacts, ReadError> {
        let api = Api::<Pod>::namespaced(self.client.clone(), &t.namespace);
        let lp = LogParams {
            container: Some(t.container.clone()),
            previous: t.previous,
            tail_lines: Some(self.config.log_tail_lines),
            limit_bytes: Some(self.config.log_limit_bytes),
            ..LogParams::default()
        };
        let text = read(self.config.request_timeout, api.logs(&t.pod, &lp)).await?;
        Ok(LogFacts {
            pod: t.pod.clone(),
            container: t.container.clone(),
            previous: t.previous,
            instance: t.instance.clone(),
            text,
        })
    }

    pub(super) async fn node(&self, name: &str) -> Result<Node, ReadError> {
        let api = Api::<Node>::all(self.client.clone());
        read(self.config.request_timeout, api.get(name)).await
    }
}

fn controller(meta: &ObjectMeta) -> Option<(String, String)> {
    let owners = meta.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
        .map(|o| (o.kind.clone(), o.name.clone()))
}

fn uses_claim(pod: &Pod, claim: &str) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name == claim)
        })
}
