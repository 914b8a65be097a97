//! Fixture builders for unit tests, reading like the scenario:
//! `Pod::test("web-7d4b9-x2x1").in_ns("shop").owned_by_replicaset("web-7d4b9").crashlooping("app")`.
//!
//! Every object is created at [`T0`]; [`t`] gives times relative to it, so a test says
//! `detector.pod(&pod, &[], &lookup, t(10))` for "ten minutes later".

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::meta::{IGNORE_ANNOTATION, to_time};
use super::*;

/// When every fixture object was created: 2024-05-01T10:00:00Z.
pub const T0: &str = "2024-05-01T10:00:00Z";

/// `minutes` after [`T0`] (negative: before).
pub fn t(minutes: i64) -> DateTime<Utc> {
    T0.parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

/// `seconds` after [`T0`].
pub fn ts(seconds: i64) -> DateTime<Utc> {
    t(0) + TimeDelta::seconds(seconds)
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(Into::into),
        uid: Some(format!("uid-{name}")),
        resource_version: Some("1".into()),
        generation: Some(1),
        creation_timestamp: Some(to_time(t(0))),
        ..ObjectMeta::default()
    }
}

fn cond(
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    at: DateTime<Utc>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status,
        reason: (!reason.is_empty()).then(|| reason.into()),
        message: (!message.is_empty()).then(|| message.into()),
        last_transition_time: Some(at),
    }
}

fn set_condition(conditions: &mut Vec<Condition>, c: Condition) {
    conditions.retain(|x| x.type_ != c.type_);
    conditions.push(c);
}

use ConditionStatus::{False, True, Unknown};

/// Builder methods every fixture object has.
pub trait Build: kube::Resource + Sized {
    fn in_ns(mut self, namespace: &str) -> Self {
        self.meta_mut().namespace = Some(namespace.into());
        self
    }

    fn annotated(mut self, key: &str, value: &str) -> Self {
        self.meta_mut()
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    fn labeled(mut self, key: &str, value: &str) -> Self {
        self.meta_mut()
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Carries `lookout.dev/ignore: "true"`.
    fn ignored_by_lookout(self) -> Self {
        self.annotated(IGNORE_ANNOTATION, "true")
    }

    /// Controlled by `kind/name`.
    fn owned_by(mut self, kind: &str, name: &str) -> Self {
        self.meta_mut().owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]);
        self
    }

    fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.meta_mut().creation_timestamp = Some(to_time(at));
        self
    }

    fn with_uid(mut self, uid: &str) -> Self {
        self.meta_mut().uid = Some(uid.into());
        self
    }

    fn with_generation(mut self, generation: i64) -> Self {
        self.meta_mut().generation = Some(generation);
        self
    }

    fn deleting(mut self) -> Self {
        self.meta_mut().deletion_timestamp = Some(to_time(t(1)));
        self
    }
}

impl<K: kube::Resource> Build for K {}

// ---------------------------------------------------------------------------------------------
// Pods

impl Pod {
    /// A healthy pod: Running and Ready since T0, one container `app` on `node-1`.
    pub fn test(name: &str) -> Self {
        let mut pod = Pod {
            metadata: meta(name, Some("default")),
            ..Pod::default()
        };
        pod.spec.node_name = Some("node-1".into());
        pod.status.phase = Some("Running".into());
        pod.status.start_time = Some(t(0));
        for type_ in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            pod.status.conditions.push(cond(type_, True, "", "", t(0)));
        }
        pod.with_container("app", "registry.example.com/shop/app:1.0")
    }

    /// Adds a running, ready container.
    pub fn with_container(mut self, name: &str, image: &str) -> Self {
        self.spec.containers.push(Container {
            name: name.into(),
            image: image.into(),
            ..Container::default()
        });
        self.status.container_statuses.push(ContainerStatus {
            name: name.into(),
            image: image.into(),
            ready: true,
            started: Some(true),
            state: ContainerState {
                running: Some(Running {
                    started_at: Some(t(0)),
                }),
                ..ContainerState::default()
            },
            ..ContainerStatus::default()
        });
        self
    }

    /// Controlled by ReplicaSet `name` (`<deployment>-<hash>`), with the pod-template-hash label
    /// the Deployment controller sets.
    pub fn owned_by_replicaset(self, replicaset: &str) -> Self {
        let hash = replicaset
            .rsplit('-')
            .next()
            .unwrap_or_default()
            .to_string();
        self.owned_by("ReplicaSet", replicaset)
            .labeled("pod-template-hash", &hash)
    }

    pub fn on_node(mut self, node: &str) -> Self {
        self.spec.node_name = Some(node.into());
        self
    }

    pub fn with_memory_limit(mut self, container: &str, limit: &str) -> Self {
        let c = self
            .spec
            .containers
            .iter_mut()
            .find(|c| c.name == container)
            .unwrap();
        c.resources.limits.insert("memory".into(), limit.into());
        self
    }

    pub fn with_image(mut self, container: &str, image: &str) -> Self {
        self.spec
            .containers
            .iter_mut()
            .find(|c| c.name == container)
            .unwrap()
            .image = image.into();
        self.status_of(container).image = image.into();
        self
    }

    fn status_of(&mut self, container: &str) -> &mut ContainerStatus {
        self.status
            .container_statuses
            .iter_mut()
            .chain(&mut self.status.init_container_statuses)
            .find(|c| c.name == container)
            .unwrap()
    }

    /// The pod stopped being Ready at `at` (its containers keep running).
    pub fn not_ready_since(mut self, at: DateTime<Utc>) -> Self {
        let unready: Vec<String> = self
            .status
            .container_statuses
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let message = format!("containers with unready status: [{}]", unready.join(" "));
        for type_ in ["ContainersReady", "Ready"] {
            set_condition(
                &mut self.status.conditions,
                cond(type_, False, "ContainersNotReady", &message, at),
            );
        }
        for c in &mut self.status.container_statuses {
            c.ready = false;
        }
        self
    }

    /// The container is waiting with `reason` and `message`; the pod is not Ready since T0+1m.
    pub fn waiting(mut self, container: &str, reason: &str, message: &str) -> Self {
        let status = self.status_of(container);
        status.ready = false;
        status.started = Some(false);
        status.state = ContainerState {
            waiting: Some(Waiting {
                reason: Some(reason.into()),
                message: Some(message.into()),
            }),
            ..ContainerState::default()
        };
        self.not_ready_since(t(1))
    }

    /// CrashLoopBackOff after 6 restarts; the last run exited with an error at T0+9m.
    pub fn crashlooping(mut self, container: &str) -> Self {
        let message = format!(
            "back-off 5m0s restarting failed container={container} pod={}_{}({})",
            self.metadata.name.clone().unwrap_or_default(),
            self.metadata.namespace.clone().unwrap_or_default(),
            self.metadata.uid.clone().unwrap_or_default()
        );
        let status = self.status_of(container);
        status.restart_count = status.restart_count.max(6);
        if status.last_state.terminated.is_none() {
            status.last_state.terminated = Some(terminated("Error", 1, t(9)));
        }
        self.waiting(container, "CrashLoopBackOff", &message)
    }

    /// The container's last run was OOM-killed at T0+9m.
    pub fn oom_killed(self, container: &str) -> Self {
        self.oom_killed_at(container, t(9))
    }

    pub fn oom_killed_at(mut self, container: &str, at: DateTime<Utc>) -> Self {
        let status = self.status_of(container);
        status.restart_count = status.restart_count.max(1);
        status.last_state.terminated = Some(terminated("OOMKilled", 137, at));
        self
    }

    /// Runs again (ready) after `restarts` restarts, the last one ending at `last_exit`.
    pub fn restarted(mut self, container: &str, restarts: u32, last_exit: DateTime<Utc>) -> Self {
        let status = self.status_of(container);
        status.restart_count = restarts;
        status.last_state.terminated = Some(terminated("Error", 1, last_exit));
        self
    }

    /// The image does not exist: ErrImagePull with containerd's not-found message.
    pub fn bad_image(self, container: &str, image: &str) -> Self {
        let message = format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
        );
        self.with_image(container, image)
            .waiting(container, "ErrImagePull", &message)
    }

    /// Pending, unplaceable since T0.
    pub fn unschedulable(mut self, message: &str) -> Self {
        self.spec.node_name = None;
        self.status.phase = Some("Pending".into());
        self.status.start_time = None;
        self.status.container_statuses.clear();
        self.status.conditions = vec![cond("PodScheduled", False, "Unschedulable", message, t(0))];
        self
    }

    /// Pending on its node since T0, containers still being created.
    pub fn creating(mut self) -> Self {
        self.status.phase = Some("Pending".into());
        for c in &mut self.status.container_statuses {
            c.ready = false;
            c.started = Some(false);
            c.state = ContainerState {
                waiting: Some(Waiting {
                    reason: Some("ContainerCreating".into()),
                    message: None,
                }),
                ..ContainerState::default()
            };
        }
        self.not_ready_since(t(0))
    }

    /// Evicted at `at`.
    pub fn evicted_at(mut self, at: DateTime<Utc>, message: &str) -> Self {
        self.status.phase = Some("Failed".into());
        self.status.reason = Some("Evicted".into());
        self.status.message = Some(message.into());
        self.status.conditions.clear();
        for c in &mut self.status.container_statuses {
            c.ready = false;
            c.state = ContainerState {
                terminated: Some(terminated("ContainerStatusUnknown", 137, at)),
                ..ContainerState::default()
            };
        }
        self
    }

    /// Ran to completion (a Job's pod).
    pub fn completed(mut self) -> Self {
        self.status.phase = Some("Succeeded".into());
        for c in &mut self.status.container_statuses {
            c.ready = false;
            c.state = ContainerState {
                terminated: Some(terminated("Completed", 0, t(2))),
                ..ContainerState::default()
            };
        }
        self.not_ready_since(t(2))
    }
}

fn terminated(reason: &str, exit_code: i32, finished: DateTime<Utc>) -> Terminated {
    Terminated {
        exit_code,
        reason: Some(reason.into()),
        started_at: Some(finished - TimeDelta::seconds(30)),
        finished_at: Some(finished),
        ..Terminated::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Nodes and namespaces

impl Node {
    /// A Ready node without pressure.
    pub fn test(name: &str) -> Self {
        let mut node = Node {
            metadata: meta(name, None),
            ..Node::default()
        };
        node.status.conditions = vec![
            cond(
                "MemoryPressure",
                False,
                "KubeletHasSufficientMemory",
                "",
                t(-60),
            ),
            cond(
                "DiskPressure",
                False,
                "KubeletHasNoDiskPressure",
                "",
                t(-60),
            ),
            cond("PIDPressure", False, "KubeletHasSufficientPID", "", t(-60)),
            cond(
                "Ready",
                True,
                "KubeletReady",
                "kubelet is posting ready status",
                t(-60),
            ),
        ];
        node
    }

    /// The kubelet reports NotReady since T0.
    pub fn not_ready(mut self) -> Self {
        let c = cond(
            "Ready",
            False,
            "KubeletNotReady",
            "container runtime network not ready: NetworkReady=false",
            t(0),
        );
        set_condition(&mut self.status.conditions, c);
        self
    }

    /// The kubelet stopped reporting at T0 (Ready Unknown, as the node controller writes it).
    pub fn unreachable(mut self) -> Self {
        for c in &mut self.status.conditions {
            let type_ = c.type_.clone();
            *c = cond(
                &type_,
                Unknown,
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                t(0),
            );
        }
        self
    }

    /// `pressure` (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable) is True since T0.
    pub fn under(mut self, pressure: &str) -> Self {
        let message = format!("kubelet has {pressure}");
        set_condition(
            &mut self.status.conditions,
            cond(pressure, True, pressure, &message, t(0)),
        );
        self
    }

    pub fn cordoned(mut self) -> Self {
        self.spec.unschedulable = true;
        self
    }
}

impl Namespace {
    pub fn test(name: &str) -> Self {
        Namespace {
            metadata: meta(name, None),
            status: NamespaceStatus {
                phase: Some("Active".into()),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads

fn template(image: &str) -> PodTemplate {
    PodTemplate {
        spec: TemplateSpec {
            containers: vec![TemplateContainer {
                name: "app".into(),
                image: image.into(),
            }],
        },
        ..PodTemplate::default()
    }
}

impl Deployment {
    /// Three replicas, all available, rollout complete.
    pub fn test(name: &str) -> Self {
        let mut d = Deployment {
            metadata: meta(name, Some("default")),
            ..Deployment::default()
        };
        d.spec.replicas = Some(3);
        d.spec.progress_deadline_seconds = Some(600);
        d.spec.template = template("registry.example.com/shop/app:1.0");
        d.status = DeploymentStatus {
            observed_generation: Some(1),
            replicas: 3,
            updated_replicas: 3,
            ready_replicas: 3,
            available_replicas: 3,
            unavailable_replicas: 0,
            conditions: vec![
                cond(
                    "Available",
                    True,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    t(0),
                ),
                cond(
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{name}-7d4b9\" has successfully progressed."),
                    t(0),
                ),
            ],
        };
        d
    }

    /// `unavailable` replicas are unavailable and the Deployment lost availability at `since`.
    pub fn unavailable(mut self, unavailable: i32, since: DateTime<Utc>) -> Self {
        let desired = self.desired_replicas();
        self.status.available_replicas = desired - unavailable;
        self.status.ready_replicas = desired - unavailable;
        self.status.unavailable_replicas = unavailable;
        let c = cond(
            "Available",
            False,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            since,
        );
        set_condition(&mut self.status.conditions, c);
        self
    }

    /// A rollout is under way (a new ReplicaSet is being scaled up).
    pub fn rolling_out(mut self) -> Self {
        let name = self.metadata.name.clone().unwrap_or_default();
        let c = cond(
            "Progressing",
            True,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{name}-8f5c6\" is progressing."),
            t(0),
        );
        set_condition(&mut self.status.conditions, c);
        self
    }

    /// The rollout missed its progress deadline at T0+10m.
    pub fn progress_deadline_exceeded(mut self) -> Self {
        let name = self.metadata.name.clone().unwrap_or_default();
        let message = format!("ReplicaSet \"{name}-8f5c6\" has timed out progressing.");
        let c = cond(
            "Progressing",
            False,
            "ProgressDeadlineExceeded",
            &message,
            t(10),
        );
        set_condition(&mut self.status.conditions, c);
        self
    }

    pub fn replica_failure(mut self, message: &str) -> Self {
        let c = cond("ReplicaFailure", True, "FailedCreate", message, t(0));
        set_condition(&mut self.status.conditions, c);
        self
    }
}

impl ReplicaSet {
    /// Two replicas, both there.
    pub fn test(name: &str) -> Self {
        let mut rs = ReplicaSet {
            metadata: meta(name, Some("default")),
            ..ReplicaSet::default()
        };
        rs.spec.replicas = Some(2);
        rs.status = ReplicaSetStatus {
            replicas: 2,
            ready_replicas: 2,
            available_replicas: 2,
            conditions: Vec::new(),
        };
        rs
    }

    /// Has only `actual` of its pods.
    pub fn lacking(mut self, actual: i32) -> Self {
        self.status.replicas = actual;
        self.status.ready_replicas = actual;
        self.status.available_replicas = actual;
        self
    }

    pub fn replica_failure(mut self, message: &str) -> Self {
        let c = cond("ReplicaFailure", True, "FailedCreate", message, t(0));
        set_condition(&mut self.status.conditions, c);
        self
    }
}

impl StatefulSet {
    /// Three replicas, all ready, no update in progress.
    pub fn test(name: &str) -> Self {
        let mut sts = StatefulSet {
            metadata: meta(name, Some("default")),
            ..StatefulSet::default()
        };
        sts.spec.replicas = Some(3);
        sts.spec.template = template("postgres:16.2");
        let revision = format!("{name}-5c8f7d9b6");
        sts.status = StatefulSetStatus {
            observed_generation: Some(1),
            replicas: 3,
            ready_replicas: 3,
            current_replicas: 3,
            updated_replicas: 3,
            current_revision: Some(revision.clone()),
            update_revision: Some(revision),
        };
        sts
    }

    pub fn ready(mut self, ready: i32) -> Self {
        self.status.ready_replicas = ready;
        self
    }

    /// An update is rolling out: the update revision differs from the current one.
    pub fn rolling(mut self) -> Self {
        self.status.update_revision = Some("next-revision".into());
        self.status.updated_replicas = 1;
        self
    }
}

impl DaemonSet {
    /// Five daemon pods, all ready and updated.
    pub fn test(name: &str) -> Self {
        let mut ds = DaemonSet {
            metadata: meta(name, Some("default")),
            ..DaemonSet::default()
        };
        ds.spec.template = template("fluent/fluent-bit:3.0.2");
        ds.status = DaemonSetStatus {
            observed_generation: Some(1),
            desired_number_scheduled: 5,
            current_number_scheduled: 5,
            updated_number_scheduled: 5,
            number_ready: 5,
            number_available: 5,
            number_unavailable: 0,
            number_misscheduled: 0,
        };
        ds
    }

    pub fn ready(mut self, ready: i32) -> Self {
        self.status.number_ready = ready;
        self.status.number_available = ready;
        self.status.number_unavailable = self.status.desired_number_scheduled - ready;
        self
    }

    pub fn rolling(mut self) -> Self {
        self.status.updated_number_scheduled = 1;
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs

impl Job {
    /// Running since `T0`.
    pub fn test(name: &str) -> Self {
        let mut job = Job {
            metadata: meta(name, Some("default")),
            ..Job::default()
        };
        job.spec.backoff_limit = Some(6);
        job.spec.completions = Some(1);
        job.spec.template = template("registry.example.com/batch/report:1.0");
        job.status.active = 1;
        job.status.start_time = Some(t(0));
        job
    }

    /// Started at `at` (and created then).
    pub fn started_at(mut self, at: DateTime<Utc>) -> Self {
        self.status.start_time = Some(at);
        self.created_at(at)
    }

    /// Failed with `reason` (BackoffLimitExceeded, DeadlineExceeded) at `at`.
    pub fn failed_with(mut self, reason: &str, at: DateTime<Utc>) -> Self {
        let message = match reason {
            "BackoffLimitExceeded" => "Job has reached the specified backoff limit",
            "DeadlineExceeded" => "Job was active longer than specified deadline",
            _ => "Job failed",
        };
        self.status.active = 0;
        self.status.failed = 7;
        self.status.conditions = vec![cond("Failed", True, reason, message, at)];
        self
    }

    pub fn succeeded_at(mut self, at: DateTime<Utc>) -> Self {
        self.status.active = 0;
        self.status.succeeded = 1;
        self.status.completion_time = Some(at);
        self.status.conditions = vec![cond("Complete", True, "", "", at)];
        self
    }
}

impl CronJob {
    pub fn test(name: &str) -> Self {
        let mut cj = CronJob {
            metadata: meta(name, Some("default")),
            ..CronJob::default()
        };
        cj.spec.schedule = "0 2 * * *".into();
        cj.spec.job_template.spec.template = template("registry.example.com/batch/report:1.0");
        cj
    }

    pub fn suspend(mut self) -> Self {
        self.spec.suspend = Some(true);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Claims and autoscalers

impl PersistentVolumeClaim {
    /// Bound to a volume.
    pub fn test(name: &str) -> Self {
        let mut pvc = PersistentVolumeClaim {
            metadata: meta(name, Some("default")),
            ..PersistentVolumeClaim::default()
        };
        pvc.spec.storage_class_name = Some("standard".into());
        pvc.spec.volume_name = Some(format!("pvc-{name}"));
        pvc.spec
            .resources
            .requests
            .insert("storage".into(), "10Gi".into());
        pvc.status.phase = Some("Bound".into());
        pvc
    }

    /// Pending since it was created at T0.
    pub fn pending(mut self) -> Self {
        self.spec.volume_name = None;
        self.status.phase = Some("Pending".into());
        self
    }

    pub fn lost(mut self) -> Self {
        self.status.phase = Some("Lost".into());
        self
    }
}

impl HorizontalPodAutoscaler {
    /// Scales Deployment `name` between 2 and 10; at 4 replicas, within range.
    pub fn test(name: &str) -> Self {
        let mut hpa = HorizontalPodAutoscaler {
            metadata: meta(name, Some("default")),
            ..HorizontalPodAutoscaler::default()
        };
        hpa.spec = HpaSpec {
            scale_target_ref: ScaleTargetRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: name.into(),
            },
            min_replicas: Some(2),
            max_replicas: 10,
        };
        hpa.status.current_replicas = 4;
        hpa.status.desired_replicas = 4;
        hpa.status.conditions = vec![
            cond(
                "AbleToScale",
                True,
                "ReadyForNewScale",
                "recommended size matches current size",
                t(0),
            ),
            cond(
                "ScalingActive",
                True,
                "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
                t(0),
            ),
            cond(
                "ScalingLimited",
                False,
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
                t(0),
            ),
        ];
        hpa
    }

    /// At its maximum since T0 and wanting more.
    pub fn maxed_out(mut self) -> Self {
        self.status.current_replicas = self.spec.max_replicas;
        self.status.desired_replicas = self.spec.max_replicas;
        let c = cond(
            "ScalingLimited",
            True,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
            t(0),
        );
        set_condition(&mut self.status.conditions, c);
        self
    }

    /// `condition` (AbleToScale or ScalingActive) is False with `reason` since T0.
    pub fn failing(mut self, condition: &str, reason: &str, message: &str) -> Self {
        set_condition(
            &mut self.status.conditions,
            cond(condition, False, reason, message, t(0)),
        );
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Events

impl Event {
    /// A Warning event about pod `default/<pod>` (uid `uid-<pod>`), seen once at T0.
    pub fn warning(reason: &str, message: &str) -> Self {
        Event {
            metadata: meta("event", Some("default")),
            involved_object: InvolvedObject {
                kind: "Pod".into(),
                namespace: Some("default".into()),
                name: "pod".into(),
                uid: Some("uid-pod".into()),
                field_path: None,
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some("Warning".into()),
            count: Some(1),
            first_timestamp: Some(t(0)),
            last_timestamp: Some(t(0)),
            source: EventSource {
                component: Some("kubelet".into()),
                host: Some("node-1".into()),
            },
            ..Event::default()
        }
    }

    /// About `kind namespace/name` (uid `uid-<name>`).
    pub fn about(mut self, kind: &str, namespace: &str, name: &str) -> Self {
        self.involved_object = InvolvedObject {
            kind: kind.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
            uid: Some(format!("uid-{name}")),
            field_path: None,
        };
        self.metadata.namespace = Some(namespace.into());
        self
    }

    pub fn normal(mut self) -> Self {
        self.type_ = Some("Normal".into());
        self
    }

    /// About container `name` of the pod.
    pub fn for_container(mut self, name: &str) -> Self {
        self.involved_object.field_path = Some(format!("spec.containers{{{name}}}"));
        self
    }

    /// Seen `count` times, from `first` to `last`.
    pub fn seen(mut self, count: u32, first: DateTime<Utc>, last: DateTime<Utc>) -> Self {
        self.count = Some(count);
        self.first_timestamp = Some(first);
        self.last_timestamp = Some(last);
        self
    }
}
