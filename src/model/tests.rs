//! Each lean type parses a realistic full object (testdata/, as `kubectl get -o json` prints
//! it, managedFields and last-applied annotation included) and keeps only what it should.

use chrono::{DateTime, Utc};
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;

fn parse<K: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(json: &str) -> K {
    let object: K = serde_json::from_str(json).expect("fixture parses");
    // What we keep survives a round trip, so fixtures and `scan --output json` can use it.
    let again: K = serde_json::from_str(&serde_json::to_string(&object).unwrap()).unwrap();
    assert_eq!(again, object, "round trip");
    object
}

/// The serialized lean object, to check that dropped parts are gone.
fn kept(object: &impl Serialize) -> String {
    serde_json::to_string(object).unwrap()
}

fn ts(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn assert_dropped(json: &str, gone: &[&str]) {
    for part in gone {
        assert!(
            !json.contains(part),
            "`{part}` should have been dropped: {json}"
        );
    }
}

const ALWAYS_DROPPED: &[&str] = &[
    "managedFields",
    "fieldsV1",
    "last-applied-configuration",
    "selfLink",
];

#[test]
fn pod_keeps_containers_config_references_node_and_status() {
    let pod: Pod = parse(include_str!("testdata/pod.json"));

    assert_eq!(pod.name(), "checkout-7d4b9c6f5-x2x1q");
    assert_eq!(pod.namespace(), "shop");
    assert_eq!(pod.uid(), Some("0b8f3c55-8f0e-4a43-b4a1-7e0c2d9f6a11"));
    assert_eq!(pod.metadata.resource_version.as_deref(), Some("48213"));
    assert_eq!(pod.created(), Some(ts("2024-05-01T09:58:12Z")));
    assert_eq!(pod.label("pod-template-hash"), Some("7d4b9c6f5"));
    assert_eq!(pod.annotation("prometheus.io/scrape"), Some("true"));
    let owner = pod.controller().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ReplicaSet", "checkout-7d4b9c6f5")
    );
    assert_eq!(pod.node_name(), Some("node-2"));

    let app = pod.container("app").unwrap();
    assert_eq!(app.image, "registry.example.com/shop/checkout:2.4.1");
    assert_eq!(app.resources.limits["memory"], "256Mi");
    assert_eq!(app.resources.requests["cpu"], "100m");
    assert!(app.readiness_probe.is_some() && app.liveness_probe.is_some());
    let env: Vec<&str> = app.env.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        env,
        ["DB_URL", "FEATURES"],
        "only config-backed variables are kept"
    );
    assert_eq!(pod.container("wait-db").unwrap().image, "busybox:1.36");

    let volumes: Vec<&str> = pod.spec.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(volumes, ["config", "data", "tls", "kube-api-access-9xk2p"]);
    let mut required: Vec<(&str, &str)> = pod.required_config().map(|r| (r.kind, r.name)).collect();
    required.sort();
    assert_eq!(
        required,
        [
            ("ConfigMap", "checkout-env"),
            ("ConfigMap", "checkout-files"),
            ("ConfigMap", "kube-root-ca.crt"),
            ("Secret", "checkout-db"),
            ("Secret", "checkout-tls"),
            ("Secret", "s3-creds"),
        ],
        "the optional FEATURES key is not required"
    );

    assert_eq!(pod.phase(), "Running");
    assert!(pod.condition("Ready").unwrap().is_false());
    assert_eq!(
        pod.condition("Ready").unwrap().reason(),
        "ContainersNotReady"
    );
    let app = &pod.status.container_statuses[0];
    assert_eq!(app.restart_count, 7);
    assert_eq!(app.waiting_reason(), Some("CrashLoopBackOff"));
    let last = app.last_state.terminated.as_ref().unwrap();
    assert_eq!((last.reason(), last.exit_code), ("OOMKilled", 137));
    assert_eq!(last.finished_at, Some(ts("2024-05-01T10:09:31Z")));
    assert_eq!(
        pod.container_statuses().count(),
        2,
        "init containers included"
    );

    assert_dropped(
        &kept(&pod),
        &[
            ALWAYS_DROPPED,
            &[
                "generateName",
                "LOG_FORMAT",
                "POD_IP",
                "tolerations",
                "emptyDir",
                "serviceAccountToken",
                "httpGet",
                "imageID",
                "podIP",
                "qosClass",
                "--port=8080",
            ],
        ]
        .concat(),
    );
}

#[test]
fn node_keeps_cordon_and_conditions_without_heartbeats() {
    let node: Node = parse(include_str!("testdata/node.json"));
    assert_eq!(node.name(), "node-2");
    assert_eq!(node.namespace(), "");
    assert!(node.spec.unschedulable);
    let ready = node.condition("Ready").unwrap();
    assert_eq!(ready.status, ConditionStatus::Unknown);
    assert_eq!(ready.reason(), "NodeStatusUnknown");
    assert_eq!(ready.last_transition_time, Some(ts("2024-05-01T10:05:40Z")));
    assert!(node.condition("DiskPressure").unwrap().is_true());
    assert_dropped(
        &kept(&node),
        &[
            ALWAYS_DROPPED,
            &[
                "lastHeartbeatTime",
                "images",
                "nodeInfo",
                "allocatable",
                "taints",
            ],
        ]
        .concat(),
    );
}

#[test]
fn event_keeps_involved_object_reason_message_counts_and_times() {
    let event: Event = parse(include_str!("testdata/event.json"));
    assert_eq!(event.involved_object.kind, "Pod");
    assert_eq!(event.involved_object.name, "checkout-7d4b9c6f5-x2x1q");
    assert_eq!(event.involved_object.namespace.as_deref(), Some("shop"));
    assert_eq!(event.reason(), "FailedMount");
    assert!(
        event
            .message()
            .contains("secret \"checkout-tls\" not found")
    );
    assert!(event.is_warning());
    assert_eq!(event.occurrences(), 14);
    assert_eq!(event.first_seen(), Some(ts("2024-05-01T09:58:14Z")));
    assert_eq!(event.last_seen(), Some(ts("2024-05-01T10:08:30Z")));
    assert_eq!(event.source.host.as_deref(), Some("node-2"));
    assert_dropped(&kept(&event), ALWAYS_DROPPED);
}

#[test]
fn new_style_event_counts_its_series() {
    let event: Event = parse(include_str!("testdata/event-series.json"));
    assert_eq!(event.occurrences(), 31);
    assert_eq!(event.first_seen(), Some(ts("2024-05-01T10:00:05.123456Z")));
    assert_eq!(event.last_seen(), Some(ts("2024-05-01T10:07:40.654321Z")));
    assert_eq!(event.container(), Some("app"));
    assert_eq!(event.reporting_controller.as_deref(), Some("kubelet"));
}

#[test]
fn deployment_keeps_replica_counts_conditions_and_template_images() {
    let d: Deployment = parse(include_str!("testdata/deployment.json"));
    assert_eq!(d.desired_replicas(), 3);
    assert_eq!(d.metadata.generation, Some(6));
    assert_eq!(d.spec.progress_deadline_seconds, Some(600));
    assert_eq!(d.status.unavailable_replicas, 3);
    assert_eq!(d.status.observed_generation, Some(6));
    assert_eq!(
        d.condition("Progressing").unwrap().reason(),
        "ProgressDeadlineExceeded"
    );
    assert_eq!(
        d.spec.template.images(),
        "app=registry.example.com/shop/checkout:2.4.1"
    );
    assert_eq!(d.annotation("deployment.kubernetes.io/revision"), Some("4"));
    assert_dropped(
        &kept(&d),
        &[
            ALWAYS_DROPPED,
            &["strategy", "selector", "secretKeyRef", "restartPolicy"],
        ]
        .concat(),
    );
}

#[test]
fn replicaset_keeps_owner_and_replica_failure() {
    let rs: ReplicaSet = parse(include_str!("testdata/replicaset.json"));
    assert_eq!(rs.controller().unwrap().name, "checkout");
    assert_eq!((rs.desired_replicas(), rs.status.replicas), (2, 1));
    let failure = rs.condition("ReplicaFailure").unwrap();
    assert!(failure.is_true());
    assert!(failure.message().contains("exceeded quota: shop-compute"));
    assert_dropped(
        &kept(&rs),
        &[
            ALWAYS_DROPPED,
            &["\"template\"", "selector", "fullyLabeledReplicas"],
        ]
        .concat(),
    );
}

#[test]
fn statefulset_and_daemonset_keep_readiness_counts() {
    let sts: StatefulSet = parse(include_str!("testdata/statefulset.json"));
    assert_eq!((sts.desired_replicas(), sts.status.ready_replicas), (3, 2));
    assert_eq!(
        sts.status.update_revision.as_deref(),
        Some("postgres-5c8f7d9b6")
    );
    assert_dropped(
        &kept(&sts),
        &[ALWAYS_DROPPED, &["volumeClaimTemplates", "5432"]].concat(),
    );

    let ds: DaemonSet = parse(include_str!("testdata/daemonset.json"));
    assert_eq!(ds.status.desired_number_scheduled, 5);
    assert_eq!(ds.status.number_unavailable, 1);
    assert!(
        ds.spec.template.opted_out(),
        "the template's opt-out annotation is kept"
    );
    assert_dropped(&kept(&ds), ALWAYS_DROPPED);
}

#[test]
fn job_and_cronjob_keep_outcome_owner_and_schedule() {
    let job: Job = parse(include_str!("testdata/job.json"));
    let failed = job.failed().unwrap();
    assert_eq!(failed.reason(), "BackoffLimitExceeded");
    assert!(job.finished() && !job.succeeded());
    assert_eq!(job.controller().unwrap().kind, "CronJob");
    assert_eq!((job.status.failed, job.spec.backoff_limit), (4, Some(3)));
    assert_dropped(
        &kept(&job),
        &[
            ALWAYS_DROPPED,
            &["selector", "parallelism", "restartPolicy"],
        ]
        .concat(),
    );

    let cj: CronJob = parse(include_str!("testdata/cronjob.json"));
    assert_eq!(cj.spec.schedule, "0 2 * * *");
    assert!(!cj.suspended());
    assert_eq!(cj.status.active[0].name, "nightly-report-28576000");
    assert_eq!(
        cj.status.last_schedule_time,
        Some(ts("2024-05-01T02:00:00Z"))
    );
    assert_dropped(
        &kept(&cj),
        &[ALWAYS_DROPPED, &["concurrencyPolicy"]].concat(),
    );
}

#[test]
fn pvc_hpa_and_namespace_keep_what_detection_reads() {
    let pvc: PersistentVolumeClaim = parse(include_str!("testdata/pvc.json"));
    assert_eq!(pvc.phase(), "Pending");
    assert_eq!(pvc.requested_storage(), Some("20Gi"));
    assert_eq!(pvc.spec.storage_class_name.as_deref(), Some("gp3"));
    assert_eq!(
        pvc.annotation("volume.kubernetes.io/storage-provisioner"),
        Some("ebs.csi.aws.com")
    );
    assert_dropped(
        &kept(&pvc),
        &[ALWAYS_DROPPED, &["finalizers", "accessModes"]].concat(),
    );

    let hpa: HorizontalPodAutoscaler = parse(include_str!("testdata/hpa.json"));
    assert_eq!(hpa.spec.scale_target_ref.name, "checkout");
    assert_eq!(
        (hpa.spec.min_replicas, hpa.spec.max_replicas),
        (Some(2), 10)
    );
    assert_eq!(hpa.status.current_replicas, 10);
    assert_eq!(
        hpa.condition("ScalingLimited").unwrap().reason(),
        "TooManyReplicas"
    );
    assert_dropped(
        &kept(&hpa),
        &[ALWAYS_DROPPED, &["metrics", "currentMetrics"]].concat(),
    );

    let ns: Namespace = parse(include_str!("testdata/namespace.json"));
    assert!(ns.opted_out());
    assert_eq!(ns.label("team"), Some("platform"));
    assert_eq!(ns.status.phase.as_deref(), Some("Active"));
    assert_dropped(&kept(&ns), ALWAYS_DROPPED);
}

#[test]
fn nulls_where_the_api_omits_collections_are_read_as_empty() {
    let pod: Pod = serde_json::from_str(
        r#"{"metadata":{"name":"p","labels":null,"annotations":null},
            "spec":{"containers":null,"volumes":null},
            "status":{"conditions":null,"containerStatuses":null}}"#,
    )
    .unwrap();
    assert_eq!(pod.name(), "p");
    assert!(pod.spec.containers.is_empty() && pod.status.conditions.is_empty());
}

#[test]
fn every_type_names_its_api_and_versioned_kinds_follow_discovery() {
    assert_eq!(
        Pod::url_path(&(), Some("shop")),
        "/api/v1/namespaces/shop/pods"
    );
    assert_eq!(Node::url_path(&(), None), "/api/v1/nodes");
    assert_eq!(Event::url_path(&(), None), "/api/v1/events");
    assert_eq!(Namespace::url_path(&(), None), "/api/v1/namespaces");
    assert_eq!(
        PersistentVolumeClaim::url_path(&(), None),
        "/api/v1/persistentvolumeclaims"
    );
    assert_eq!(Deployment::url_path(&(), None), "/apis/apps/v1/deployments");
    assert_eq!(ReplicaSet::url_path(&(), None), "/apis/apps/v1/replicasets");
    assert_eq!(
        StatefulSet::url_path(&(), None),
        "/apis/apps/v1/statefulsets"
    );
    assert_eq!(DaemonSet::url_path(&(), None), "/apis/apps/v1/daemonsets");
    assert_eq!(Job::url_path(&(), None), "/apis/batch/v1/jobs");

    assert_eq!(
        CronJob::url_path(&CronJobVersion::V1, None),
        "/apis/batch/v1/cronjobs"
    );
    assert_eq!(
        CronJob::url_path(&CronJobVersion::V1beta1, Some("reports")),
        "/apis/batch/v1beta1/namespaces/reports/cronjobs"
    );
    assert_eq!(
        CronJob::api_version(&CronJobVersion::V1beta1),
        "batch/v1beta1"
    );
    assert_eq!(
        HorizontalPodAutoscaler::url_path(&HpaVersion::V2beta2, None),
        "/apis/autoscaling/v2beta2/horizontalpodautoscalers"
    );
    assert_eq!(HpaVersion::default(), HpaVersion::V2);
    assert_eq!(CronJobVersion::PREFERRED[0], CronJobVersion::V1);
}
