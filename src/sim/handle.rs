//! Starting and stopping a sim, and the handle through which a test or the demo talks to it.

use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::config::SimConfig;
use super::events::Recorder;
use super::images::ImageRules;
use super::logs::LogBook;
use super::nodes::{self, NodeProblem, NodeTable};
use super::view::View;
use super::{Result, kubelet, log_server, scheduler};

/// State the sim's loops share. Locks are never held across an await.
pub(crate) struct Shared {
    pub client: kube::Client,
    pub config: SimConfig,
    pub images: ImageRules,
    pub view: View,
    pub recorder: Recorder,
    /// The port of the kubelet log endpoint every node advertises.
    pub port: u16,
    pub cancel: CancellationToken,
    pub wake_kubelet: Arc<Notify>,
    pub wake_scheduler: Arc<Notify>,
    pub wake_nodes: Arc<Notify>,
    nodes: Mutex<NodeTable>,
    logs: Arc<Mutex<LogBook>>,
}

impl Shared {
    pub fn table(&self) -> MutexGuard<'_, NodeTable> {
        // A panic elsewhere must not take the kubelet down with it.
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn logs(&self) -> MutexGuard<'_, LogBook> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulated kubelet + scheduler. Dropping it stops the loops; [`Sim::stop`] also
/// waits for them and cleans up the nodes when configured to.
pub struct Sim {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sim {
    /// Registers the nodes, starts the log endpoint, the watchers, the scheduler and the
    /// kubelet. Returns once the nodes exist; pods are picked up as the watches deliver them.
    pub async fn start(client: kube::Client, config: SimConfig) -> Result<Self> {
        config.validate()?;
        let cancel = CancellationToken::new();
        let logs = Arc::new(Mutex::new(LogBook::default()));
        let (port, log_task) = log_server::start(logs.clone(), cancel.clone()).await?;
        let wake_kubelet = Arc::new(Notify::new());
        let wake_scheduler = Arc::new(Notify::new());
        let wake_nodes = Arc::new(Notify::new());
        let wake = Arc::new(vec![
            wake_kubelet.clone(),
            wake_scheduler.clone(),
            wake_nodes.clone(),
        ]);
        let (view, mut tasks) = View::start(&client, &config.namespaces, wake, &cancel);
        tasks.push(log_task);
        let shared = Arc::new(Shared {
            recorder: Recorder::new(client.clone()),
            images: config.image_rules(),
            nodes: Mutex::new(NodeTable::new(&config.nodes)),
            client,
            config,
            view,
            port,
            cancel: cancel.clone(),
            wake_kubelet,
            wake_scheduler,
            wake_nodes,
            logs,
        });
        let mut sim = Self { shared, tasks };
        if let Err(e) = nodes::register(&sim.shared).await {
            cancel.cancel();
            return Err(e);
        }
        sim.tasks.push(tokio::spawn(nodes::run(sim.shared.clone())));
        sim.tasks
            .push(tokio::spawn(scheduler::run(sim.shared.clone())));
        sim.tasks
            .push(tokio::spawn(kubelet::run(sim.shared.clone())));
        info!(nodes = ?sim.node_names(), port, "sim started");
        Ok(sim)
    }

    /// The names of this sim's nodes.
    pub fn node_names(&self) -> Vec<String> {
        self.shared.table().names()
    }

    /// The port of the HTTPS kubelet endpoint on 127.0.0.1 (every node advertises it).
    pub fn log_port(&self) -> u16 {
        self.shared.port
    }

    /// Gives `node` a problem (`active`) or takes it away, overriding the node's
    /// `sim.lookout.dev/condition` annotation for that problem. Applied within moments.
    pub fn set_node_condition(&self, node: &str, problem: NodeProblem, active: bool) -> Result<()> {
        self.shared
            .table()
            .set_override(node, problem, Some(active))?;
        self.shared.wake_nodes.notify_one();
        Ok(())
    }

    /// Drops the handle's override for `problem`: the annotation decides again.
    pub fn clear_node_condition(&self, node: &str, problem: NodeProblem) -> Result<()> {
        self.shared.table().set_override(node, problem, None)?;
        self.shared.wake_nodes.notify_one();
        Ok(())
    }

    /// A token that stops the sim when cancelled (e.g. tied to the demo's shutdown).
    pub fn cancellation_token(&self) -> CancellationToken {
        self.shared.cancel.clone()
    }

    /// Stops the loops and waits for them. With `delete_nodes_on_stop`, deletes the nodes and
    /// force-deletes the pods bound to them (nothing would ever finalise those otherwise).
    pub async fn stop(mut self) {
        self.shared.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if !self.shared.config.delete_nodes_on_stop {
            return;
        }
        let names = self.node_names();
        nodes::delete_all(&self.shared.client, &names).await;
        for pod in self.shared.view.pods() {
            let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            if !node.is_some_and(|n| names.iter().any(|m| m == n)) {
                continue;
            }
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            let name = pod.metadata.name.as_deref().unwrap_or("");
            let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), ns);
            match api
                .delete(name, &DeleteParams::default().grace_period(0))
                .await
            {
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => warn!(pod = %name, namespace = %ns, error = %e, "could not delete pod"),
                Ok(_) => {}
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}
