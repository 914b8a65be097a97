//! The simulated kubelet and scheduler against the real API server and controller manager.
//! Each test runs its own `Sim` on its own nodes, restricted to its own namespace, so the tests
//! run in parallel with each other and with the rest of the suite. Assertions read what the API
//! server shows: pod status, events, Job status, logs through the API server's log proxy.

mod config_errors;
mod crashes;
mod nodes;
mod scheduling;
mod workloads;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::core::NamespaceResourceScope;
use lookout::sim::{NodeConfig, Sim, SimConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::support::{TestNamespace, admin_client, unique};

/// Long enough for a loaded CI machine; the sim's own timings are milliseconds.
pub const WAIT: Duration = Duration::from_secs(45);

/// A namespace, a client and a running sim with fast timing on fresh nodes.
pub struct SimTest {
    pub ns: TestNamespace,
    pub client: kube::Client,
    pub sim: Option<Sim>,
    pub nodes: Vec<String>,
}

impl SimTest {
    /// `nodes` default-size nodes.
    pub async fn start(nodes: usize) -> Self {
        Self::start_with(nodes, |_| {}).await
    }

    /// Lets the test adjust the config (node sizes, missing images) first.
    pub async fn start_with(nodes: usize, adjust: impl FnOnce(&mut SimConfig)) -> Self {
        // The sim's own tracing, shown for a failing test; LOOKOUT_TEST_LOG widens it.
        let filter =
            std::env::var("LOOKOUT_TEST_LOG").unwrap_or_else(|_| "lookout::sim=debug".into());
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(filter)
            .try_init();
        let ns = TestNamespace::new("sim").await;
        let client = admin_client().await;
        let mut config = SimConfig::for_test(&ns.name, &unique("node"), nodes);
        adjust(&mut config);
        let nodes = config.nodes.iter().map(|n| n.name.clone()).collect();
        let sim = Sim::start(client.clone(), config).await.expect("start sim");
        Self {
            ns,
            client,
            sim: Some(sim),
            nodes,
        }
    }

    pub fn sim(&self) -> &Sim {
        self.sim.as_ref().expect("sim running")
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    /// Creates an object in the test namespace from JSON.
    pub async fn create<K>(&self, json: serde_json::Value) -> K
    where
        K: kube::Resource<Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let obj: K = serde_json::from_value(json).expect("object json");
        self.api::<K>()
            .create(&PostParams::default(), &obj)
            .await
            .expect("create object")
    }

    /// Merge-patches an object in the test namespace.
    pub async fn patch<K>(&self, name: &str, patch: serde_json::Value)
    where
        K: kube::Resource<Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        self.api::<K>()
            .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .expect("patch object");
    }

    /// Pods with label `app=<app>`.
    pub async fn pods(&self, app: &str) -> Vec<Pod> {
        self.api::<Pod>()
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .expect("list pods")
            .items
    }

    /// Polls `check` until it gives a value; on timeout, fails with a dump of the namespace
    /// (pods, events, nodes) so a failure explains itself.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out after {WAIT:?} waiting for {what}\n{}",
                    self.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The namespace's pods and events and the sim's nodes, for failure messages.
    pub async fn describe(&self) -> String {
        let mut out = String::from("pods:\n");
        for p in self
            .api::<Pod>()
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let states: Vec<String> = p
                .status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .map(|c| {
                    format!(
                        "{} restarts={} state={:?}",
                        c.name, c.restart_count, c.state
                    )
                })
                .collect();
            out += &format!(
                "  {} node={:?} phase={:?} deleting={} {:?}\n",
                p.metadata.name.as_deref().unwrap_or(""),
                p.spec.as_ref().and_then(|s| s.node_name.clone()),
                p.status.as_ref().and_then(|s| s.phase.clone()),
                p.metadata.deletion_timestamp.is_some(),
                states
            );
        }
        out += "events:\n";
        for e in self
            .api::<Event>()
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            out += &format!(
                "  {} {} x{} {}\n",
                e.involved_object.name.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
                e.count.unwrap_or(0),
                e.message.as_deref().unwrap_or("")
            );
        }
        out += "nodes:\n";
        for name in &self.nodes {
            let n = Api::<Node>::all(self.client.clone())
                .get_opt(name)
                .await
                .ok()
                .flatten();
            let conditions: Vec<String> = n
                .iter()
                .flat_map(|n| n.status.iter().flat_map(|s| s.conditions.iter().flatten()))
                .map(|c| format!("{}={}", c.type_, c.status))
                .collect();
            let taints: Vec<String> = n
                .iter()
                .flat_map(|n| n.spec.iter().flat_map(|s| s.taints.iter().flatten()))
                .map(|t| t.key.clone())
                .collect();
            out += &format!(
                "  {name} exists={} {conditions:?} taints={taints:?}\n",
                n.is_some()
            );
        }
        out
    }

    /// Waits until some pod of `app` satisfies `check`, returning it.
    pub async fn pod_where(&self, app: &str, what: &str, check: impl Fn(&Pod) -> bool) -> Pod {
        self.wait_for(what, || async {
            self.pods(app).await.into_iter().find(|p| check(p))
        })
        .await
    }

    /// Events about the object named `name`.
    pub async fn events(&self, name: &str) -> Vec<Event> {
        self.api::<Event>()
            .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
            .await
            .expect("list events")
            .items
    }

    /// Waits for an event about `name` with this reason whose message satisfies `check`.
    pub async fn event_where(
        &self,
        name: &str,
        reason: &str,
        check: impl Fn(&Event) -> bool,
    ) -> Event {
        self.wait_for(&format!("{reason} event for {name}"), || async {
            self.events(name)
                .await
                .into_iter()
                .find(|e| e.reason.as_deref() == Some(reason) && check(e))
        })
        .await
    }

    pub async fn node(&self, name: &str) -> Node {
        Api::<Node>::all(self.client.clone())
            .get(name)
            .await
            .expect("get node")
    }

    /// Stops the sim (it deletes its nodes and their pods), then deletes the namespace while
    /// the runtime still runs (the namespace guard's own cleanup is best effort).
    pub async fn stop(mut self) {
        if let Some(sim) = self.sim.take() {
            sim.stop().await;
        }
        let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(self.client.clone())
            .delete(&self.ns.name, &kube::api::DeleteParams::default())
            .await;
    }
}

impl Drop for SimTest {
    /// A test that panicked never reached `stop`: its nodes would stay registered (looking
    /// Ready forever, as nothing marks a silent node down here) and show up in other tests'
    /// cluster-wide views. Clean up on a runtime of our own, since the test's is unwinding.
    fn drop(&mut self) {
        let Some(sim) = self.sim.take() else {
            return;
        };
        drop(sim);
        let (nodes, ns) = (self.nodes.clone(), self.ns.name.clone());
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let client = admin_client().await;
                let api = Api::<Node>::all(client.clone());
                for node in nodes {
                    let _ = api.delete(&node, &kube::api::DeleteParams::default()).await;
                }
                let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
                let _ = pods
                    .delete_collection(
                        &kube::api::DeleteParams::default().grace_period(0),
                        &ListParams::default(),
                    )
                    .await;
                let _ = Api::<k8s_openapi::api::core::v1::Namespace>::all(client)
                    .delete(&ns, &kube::api::DeleteParams::default())
                    .await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A Deployment of one container `app` labelled `app=<name>`, with template annotations.
pub fn deployment(
    name: &str,
    replicas: i32,
    container: serde_json::Value,
    annotations: serde_json::Value,
) -> serde_json::Value {
    let mut c = serde_json::json!({
        "name": "app", "image": "shop/web:1.4.2",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    });
    merge(&mut c, container);
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [c], "terminationGracePeriodSeconds": 1},
            },
        },
    })
}

/// A bare Pod labelled `app=<name>` with one container `app`.
pub fn pod(
    name: &str,
    container: serde_json::Value,
    annotations: serde_json::Value,
    spec: serde_json::Value,
) -> serde_json::Value {
    let mut c = serde_json::json!({"name": "app", "image": "shop/web:1.4.2"});
    merge(&mut c, container);
    let mut s = serde_json::json!({"containers": [c], "terminationGracePeriodSeconds": 1});
    merge(&mut s, spec);
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
        "spec": s,
    })
}

fn merge(base: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
}

/// The first container status of a pod.
pub fn status(p: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    p.status.as_ref()?.container_statuses.as_ref()?.first()
}

pub fn waiting_reason(p: &Pod) -> Option<&str> {
    status(p)?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .as_deref()
}

pub fn waiting_message(p: &Pod) -> Option<&str> {
    status(p)?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .message
        .as_deref()
}

pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn node_of(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// A node config with a label unique to a test, for selectors.
pub fn labelled(node: &NodeConfig, key: &str, value: &str) -> NodeConfig {
    node.clone().with_label(key, value)
}
