//! What the sim sees of the cluster: reflector stores of the pods, ConfigMaps and Secrets of the
//! namespaces it manages and of its own Nodes, kept by kube-runtime watchers. Stores are
//! trimmed as they fill: no managedFields, and ConfigMaps and Secrets keep only their keys (the
//! kubelet only asks whether a key exists, and a sim should not hold secret values).

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::annotations::SIMULATED_LABEL;
use super::config::NamespaceScope;
use super::health::World;

/// The stores, one per namespace for `Only` scopes or one cluster-wide for `AllExcept`.
#[derive(Clone)]
pub struct View {
    pods: Vec<Store<Pod>>,
    config_maps: Vec<Store<ConfigMap>>,
    secrets: Vec<Store<Secret>>,
    nodes: Store<Node>,
    /// True once every store has its first full list.
    ready: watch::Receiver<bool>,
}

impl View {
    /// Starts the watchers. Every change pokes each of `wake`.
    pub fn start(
        client: &kube::Client,
        scope: &NamespaceScope,
        wake: Arc<Vec<Arc<Notify>>>,
        cancel: &CancellationToken,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let mut tasks = Vec::new();
        let pods = scoped_apis(client, scope)
            .into_iter()
            .map(|(api, cfg)| reflect::<Pod>(api, cfg, strip_pod, &wake, cancel, &mut tasks))
            .collect();
        let config_maps = scoped_apis(client, scope)
            .into_iter()
            .map(|(api, cfg)| reflect(api, cfg, strip_config_map, &wake, cancel, &mut tasks))
            .collect();
        let secrets = scoped_apis(client, scope)
            .into_iter()
            .map(|(api, cfg)| reflect(api, cfg, strip_secret, &wake, cancel, &mut tasks))
            .collect();
        let node_cfg = watcher::Config::default().labels(&format!("{SIMULATED_LABEL}=true"));
        let nodes = reflect(
            Api::<Node>::all(client.clone()),
            node_cfg,
            strip_node,
            &wake,
            cancel,
            &mut tasks,
        );
        let (ready_tx, ready) = watch::channel(false);
        let view = Self {
            pods,
            config_maps,
            secrets,
            nodes,
            ready,
        };
        // `Store::wait_until_ready` wakes only the last task that polled it (kube-runtime's
        // DelayedInit keeps one waker), so a single task waits and broadcasts.
        let (waiter, cancel) = (view.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let all_listed = async {
                for s in &waiter.pods {
                    let _ = s.wait_until_ready().await;
                }
                for s in &waiter.config_maps {
                    let _ = s.wait_until_ready().await;
                }
                for s in &waiter.secrets {
                    let _ = s.wait_until_ready().await;
                }
                let _ = waiter.nodes.wait_until_ready().await;
            };
            if cancel.run_until_cancelled(all_listed).await.is_some() {
                let _ = ready_tx.send(true);
            }
        }));
        (view, tasks)
    }

    /// Waits until every store has its first full list.
    pub async fn ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }

    pub fn pods(&self) -> Vec<Arc<Pod>> {
        self.pods.iter().flat_map(Store::state).collect()
    }

    pub fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.nodes.get(&ObjectRef::new(name))
    }
}

impl World for View {
    fn config_map(&self, namespace: &str, name: &str, key: Option<&str>) -> Option<bool> {
        let r = ObjectRef::new(name).within(namespace);
        let cm = self.config_maps.iter().find_map(|s| s.get(&r))?;
        Some(key.is_none_or(|k| {
            cm.data.as_ref().is_some_and(|d| d.contains_key(k))
                || cm.binary_data.as_ref().is_some_and(|d| d.contains_key(k))
        }))
    }

    fn secret(&self, namespace: &str, name: &str, key: Option<&str>) -> Option<bool> {
        let r = ObjectRef::new(name).within(namespace);
        let secret = self.secrets.iter().find_map(|s| s.get(&r))?;
        Some(key.is_none_or(|k| secret.data.as_ref().is_some_and(|d| d.contains_key(k))))
    }
}

/// One API per namespace, or one for all with a field selector excluding some.
fn scoped_apis<K>(client: &kube::Client, scope: &NamespaceScope) -> Vec<(Api<K>, watcher::Config)>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match scope {
        NamespaceScope::Only(list) => list
            .iter()
            .map(|ns| {
                (
                    Api::namespaced(client.clone(), ns),
                    watcher::Config::default(),
                )
            })
            .collect(),
        NamespaceScope::AllExcept(list) => {
            let fields: Vec<String> = list
                .iter()
                .map(|ns| format!("metadata.namespace!={ns}"))
                .collect();
            let mut cfg = watcher::Config::default();
            if !fields.is_empty() {
                cfg = cfg.fields(&fields.join(","));
            }
            vec![(Api::all(client.clone()), cfg)]
        }
    }
}

fn reflect<K>(
    api: Api<K>,
    cfg: watcher::Config,
    strip: fn(&mut K),
    wake: &Arc<Vec<Arc<Notify>>>,
    cancel: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Store<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, cfg).default_backoff().modify(strip));
    let (wake, cancel) = (wake.clone(), cancel.clone());
    tasks.push(tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => return,
                next = stream.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    trace_event(&event);
                    wake.iter().for_each(|n| n.notify_one());
                }
                Some(Err(e)) => {
                    warn!(error = %e, kind = std::any::type_name::<K>(), "watch failed; retrying")
                }
                None => return,
            }
        }
    }));
    reader
}

fn trace_event<K: kube::Resource>(event: &watcher::Event<K>) {
    let kind = std::any::type_name::<K>().rsplit("::").next().unwrap_or("");
    match event {
        watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
            tracing::trace!(kind, name = ?o.meta().name, "watch apply");
        }
        watcher::Event::Delete(o) => tracing::trace!(kind, name = ?o.meta().name, "watch delete"),
        watcher::Event::Init => tracing::debug!(kind, "watch list started"),
        watcher::Event::InitDone => tracing::debug!(kind, "watch list done"),
    }
}

fn strip_pod(pod: &mut Pod) {
    pod.metadata.managed_fields = None;
}

fn strip_node(node: &mut Node) {
    node.metadata.managed_fields = None;
    if let Some(status) = node.status.as_mut() {
        status.images = None;
    }
}

fn strip_config_map(cm: &mut ConfigMap) {
    cm.metadata.managed_fields = None;
    cm.metadata.annotations = None;
    if let Some(data) = cm.data.as_mut() {
        data.values_mut().for_each(String::clear);
    }
    if let Some(data) = cm.binary_data.as_mut() {
        data.values_mut().for_each(|v| v.0.clear());
    }
}

fn strip_secret(secret: &mut Secret) {
    secret.metadata.managed_fields = None;
    // kubectl's last-applied annotation would carry the values.
    secret.metadata.annotations = None;
    if let Some(data) = secret.data.as_mut() {
        data.values_mut().for_each(|v| *v = ByteString(Vec::new()));
    }
    secret.string_data = None;
}
