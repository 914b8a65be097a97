//! Starts one watch stream per kind of object detection needs, at the versions the server
//! serves, all feeding the observer's channel.

use kube::Api;
use kube::runtime::watcher;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::ClusterEvent;
use crate::cluster::{ServedApis, WatchMetrics, spawn_watch};
use crate::model::*;

/// Spawns the watchers and announces which streams the initial sync waits for.
pub async fn start(
    client: kube::Client,
    served: &ServedApis,
    tx: mpsc::Sender<ClusterEvent>,
    metrics: WatchMetrics,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let config = watcher::Config::default();
    let mut names: Vec<&'static str> = Vec::new();
    let mut tasks = Vec::new();
    macro_rules! watch {
        ($api:expr, $name:literal, $variant:ident) => {{
            names.push($name);
            tasks.push(spawn_watch(
                $api,
                $name,
                config.clone(),
                ClusterEvent::$variant,
                tx.clone(),
                metrics.clone(),
                shutdown.clone(),
            ));
        }};
    }
    // The streams to wait for go out before any object, so Synced cannot come early.
    let mut expected = vec![
        "pods",
        "nodes",
        "namespaces",
        "events",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "persistentvolumeclaims",
    ];
    let cronjobs = served
        .cronjobs
        .as_ref()
        .and_then(|r| cronjob_version(&r.version));
    let hpas = served
        .horizontal_pod_autoscalers
        .as_ref()
        .and_then(|r| hpa_version(&r.version));
    if cronjobs.is_some() {
        expected.push("cronjobs");
    }
    if hpas.is_some() {
        expected.push("horizontalpodautoscalers");
    }
    let _ = tx.send(ClusterEvent::Expect(expected)).await;

    watch!(Api::<Pod>::all(client.clone()), "pods", Pod);
    watch!(Api::<Node>::all(client.clone()), "nodes", Node);
    watch!(
        Api::<Namespace>::all(client.clone()),
        "namespaces",
        Namespace
    );
    watch!(Api::<Event>::all(client.clone()), "events", Event);
    watch!(
        Api::<Deployment>::all(client.clone()),
        "deployments",
        Deployment
    );
    watch!(
        Api::<ReplicaSet>::all(client.clone()),
        "replicasets",
        ReplicaSet
    );
    watch!(
        Api::<StatefulSet>::all(client.clone()),
        "statefulsets",
        StatefulSet
    );
    watch!(
        Api::<DaemonSet>::all(client.clone()),
        "daemonsets",
        DaemonSet
    );
    watch!(Api::<Job>::all(client.clone()), "jobs", Job);
    watch!(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        "persistentvolumeclaims",
        Pvc
    );
    if let Some(v) = cronjobs {
        watch!(
            Api::<CronJob>::all_with(client.clone(), &v),
            "cronjobs",
            CronJob
        );
    }
    if let Some(v) = hpas {
        watch!(
            Api::<HorizontalPodAutoscaler>::all_with(client.clone(), &v),
            "horizontalpodautoscalers",
            Hpa
        );
    }
    info!(streams = ?names, "watching");
    tasks
}

fn cronjob_version(v: &str) -> Option<CronJobVersion> {
    CronJobVersion::PREFERRED
        .into_iter()
        .find(|c| c.as_str() == v)
}

fn hpa_version(v: &str) -> Option<HpaVersion> {
    HpaVersion::PREFERRED.into_iter().find(|c| c.as_str() == v)
}
