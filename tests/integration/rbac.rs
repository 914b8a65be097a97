//! The shipped roles (`deploy/rbac/`) under the API server's real RBAC. Three ServiceAccounts
//! of a test namespace are bound to them (read-only; remediation; both) and act with their own
//! tokens from the TokenRequest API. Read-only reads everything Lookout reads and no Secret,
//! and every write of the catalogue is 403. Remediation can make each write of the catalogue
//! (as a server-side dry-run, which RBAC authorises like the real call) and nothing else.
//! Both together are enough for Lookout's own tools and actions.
//!
//! A write is allowed when its dry-run succeeds on a real object, or answers 404 on a name that
//! does not exist (the server says so only after authorising the call); forbidden is 403.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, DynamicObject};
use lookout::actions::{ActionContext, ActionError, ActionsConfig, Registry};
use lookout::clock::SystemClock;
use serde_json::{Value, json};

use crate::sim::{SimTest, deployment};
use crate::support::{admin_client, env, unique};

const READONLY: &str = include_str!("../../deploy/rbac/readonly.yaml");
const REMEDIATION: &str = include_str!("../../deploy/rbac/remediation.yaml");

type Outcome = Result<(), kube::Error>;

fn code(r: &Outcome) -> Option<u16> {
    match r {
        Ok(()) => None,
        Err(kube::Error::Api(s)) => Some(s.code),
        Err(e) => panic!("not an API answer: {e}"),
    }
}

fn forbidden(who: &str, what: &str, r: Outcome) {
    assert_eq!(code(&r), Some(403), "{who} must not {what}: {r:?}");
}

/// Catalogue writes made on real objects of the test (the others target a missing name).
const ON_REAL_OBJECTS: &[&str] = &[
    "patch deployments",
    "create jobs",
    "patch nodes",
    "delete pods",
    "create pods/eviction",
];

/// A write on a real object succeeds (dry-run); one on a missing name gets 404, which the
/// server only answers after authorising the call.
fn allowed(who: &str, what: &str, r: Outcome) {
    let want = if ON_REAL_OBJECTS.contains(&what) {
        None
    } else {
        Some(404)
    };
    assert_eq!(code(&r), want, "{who} may {what}: {r:?}");
}

/// Cluster-scoped objects of the test, deleted even when it panics.
struct ClusterObjects {
    roles: Vec<String>,
    bindings: Vec<String>,
}

impl Drop for ClusterObjects {
    fn drop(&mut self) {
        let (roles, bindings) = (
            std::mem::take(&mut self.roles),
            std::mem::take(&mut self.bindings),
        );
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let client = admin_client().await;
                for b in bindings {
                    let _ = Api::<ClusterRoleBinding>::all(client.clone())
                        .delete(&b, &DeleteParams::default())
                        .await;
                }
                for r in roles {
                    let _ = Api::<ClusterRole>::all(client.clone())
                        .delete(&r, &DeleteParams::default())
                        .await;
                }
            });
        })
        .join();
    }
}

/// A client acting with a token of this ServiceAccount.
async fn client_as(admin: &kube::Client, ns: &str, sa: &str) -> kube::Client {
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let token = sas
        .create_token_request(sa, &PostParams::default(), &request)
        .await
        .expect("TokenRequest")
        .status
        .expect("token status")
        .token;
    let kc = Kubeconfig::read_from(env().kubeconfig()).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    cfg.auth_info = serde_json::from_value(json!({"token": token})).unwrap();
    kube::Client::try_from(cfg).unwrap()
}

struct Identities {
    readonly: kube::Client,
    remediation: kube::Client,
    both: kube::Client,
    _objects: ClusterObjects,
}

/// Creates the two roles (renamed for this run), three ServiceAccounts and their bindings.
async fn identities(t: &SimTest) -> Identities {
    let admin = admin_client().await;
    let suffix = unique("rbac");
    let mut objects = ClusterObjects {
        roles: Vec::new(),
        bindings: Vec::new(),
    };
    let mut role_names = Vec::new();
    for yaml in [READONLY, REMEDIATION] {
        let mut role: ClusterRole = serde_yaml_ng::from_str(yaml).expect("role yaml");
        let name = format!("{}-{suffix}", role.metadata.name.clone().unwrap());
        role.metadata.name = Some(name.clone());
        Api::<ClusterRole>::all(admin.clone())
            .create(&PostParams::default(), &role)
            .await
            .unwrap();
        objects.roles.push(name.clone());
        role_names.push(name);
    }
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), &t.ns.name);
    for sa in ["readonly", "remediation", "both"] {
        let obj: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": sa}})).unwrap();
        sas.create(&PostParams::default(), &obj).await.unwrap();
    }
    for (role, members) in [
        (&role_names[0], ["readonly", "both"]),
        (&role_names[1], ["remediation", "both"]),
    ] {
        let subjects: Vec<Value> = members
            .iter()
            .map(|m| json!({"kind": "ServiceAccount", "name": m, "namespace": t.ns.name}))
            .collect();
        let binding: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects,
        }))
        .unwrap();
        Api::<ClusterRoleBinding>::all(admin.clone())
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        objects.bindings.push(role.clone());
    }
    let ids = Identities {
        readonly: client_as(&admin, &t.ns.name, "readonly").await,
        remediation: client_as(&admin, &t.ns.name, "remediation").await,
        both: client_as(&admin, &t.ns.name, "both").await,
        _objects: objects,
    };
    // The authoriser learns new bindings from its informers: wait until both apply.
    let ns = t.ns.name.clone();
    t.wait_for("the bindings to take effect", || async {
        let reads = Api::<Pod>::namespaced(ids.readonly.clone(), &ns)
            .list(&ListParams::default())
            .await
            .is_ok();
        let writes = code(&patch_missing::<ConfigMap>(&ids.remediation, &ns).await) == Some(404);
        (reads && writes).then_some(())
    })
    .await;
    ids
}

fn dry() -> PatchParams {
    PatchParams::default().dry_run()
}

async fn patch_missing<K>(client: &kube::Client, ns: &str) -> Outcome
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::namespaced(client.clone(), ns)
        .patch(
            "does-not-exist",
            &dry(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .map(|_| ())
}

async fn patch_dynamic(client: &kube::Client, ns: &str, ar: &ApiResource) -> Outcome {
    Api::<DynamicObject>::namespaced_with(client.clone(), ns, ar)
        .patch(
            "does-not-exist",
            &dry(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .map(|_| ())
}

/// The eviction a drain sends, as policy/v1beta1 (what 1.20 serves), dry-run.
async fn evict(client: &kube::Client, ns: &str, pod: &str) -> Outcome {
    let body = json!({"apiVersion": "policy/v1beta1", "kind": "Eviction",
                      "metadata": {"name": pod, "namespace": ns},
                      "deleteOptions": {"dryRun": ["All"]}});
    let req = http::Request::post(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}/eviction?dryRun=All"
    ))
    .header("content-type", "application/json")
    .body(serde_json::to_vec(&body).unwrap())
    .unwrap();
    client.request_text(req).await.map(|_| ())
}

/// Every write of the action catalogue, as a dry-run, with its name.
async fn catalogue_writes(
    client: &kube::Client,
    t: &SimTest,
    served: &lookout::cluster::ServedApis,
) -> Vec<(&'static str, Outcome)> {
    let ns = t.ns.name.as_str();
    let pod = t.pods("web").await[0].metadata.name.clone().unwrap();
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "retry-1"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
    }))
    .unwrap();
    let hpa = served
        .horizontal_pod_autoscalers
        .clone()
        .expect("HPAs served");
    let cronjobs = served.cronjobs.clone().expect("CronJobs served");
    vec![
        (
            "patch deployments",
            Api::<Deployment>::namespaced(client.clone(), ns)
                .patch(
                    "web",
                    &dry(),
                    &Patch::Merge(json!({"spec": {"replicas": 2}})),
                )
                .await
                .map(|_| ()),
        ),
        (
            "patch statefulsets",
            patch_missing::<k8s_openapi::api::apps::v1::StatefulSet>(client, ns).await,
        ),
        (
            "patch daemonsets",
            patch_missing::<k8s_openapi::api::apps::v1::DaemonSet>(client, ns).await,
        ),
        ("patch jobs", patch_missing::<Job>(client, ns).await),
        (
            "create jobs",
            Api::<Job>::namespaced(client.clone(), ns)
                .create(
                    &PostParams {
                        dry_run: true,
                        field_manager: None,
                    },
                    &job,
                )
                .await
                .map(|_| ()),
        ),
        ("patch cronjobs", patch_dynamic(client, ns, &cronjobs).await),
        (
            "patch horizontalpodautoscalers",
            patch_dynamic(client, ns, &hpa).await,
        ),
        (
            "patch persistentvolumeclaims",
            patch_missing::<PersistentVolumeClaim>(client, ns).await,
        ),
        (
            "patch configmaps",
            patch_missing::<ConfigMap>(client, ns).await,
        ),
        (
            "patch nodes",
            Api::<Node>::all(client.clone())
                .patch(
                    &t.nodes[0],
                    &dry(),
                    &Patch::Merge(json!({"spec": {"unschedulable": true}})),
                )
                .await
                .map(|_| ()),
        ),
        (
            "delete pods",
            Api::<Pod>::namespaced(client.clone(), ns)
                .delete(&pod, &DeleteParams::default().dry_run())
                .await
                .map(|_| ()),
        ),
        ("create pods/eviction", evict(client, ns, &pod).await),
    ]
}

/// Drops the answer, keeps whether it was allowed.
fn ok<T>(r: Result<T, kube::Error>) -> Outcome {
    r.map(|_| ())
}

/// Calls no role may make.
async fn never(client: &kube::Client, ns: &str) -> Vec<(&'static str, Outcome)> {
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}))
            .unwrap();
    let web: Deployment =
        serde_json::from_value(deployment("web", 1, json!({}), json!({}))).unwrap();
    let bare: Pod = serde_json::from_value(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    )
    .unwrap();
    let dp = DeleteParams::default().dry_run();
    let pp = PostParams {
        dry_run: true,
        field_manager: None,
    };
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    vec![
        ("get secrets", ok(secrets.get("s").await)),
        (
            "list secrets",
            ok(secrets.list(&ListParams::default()).await),
        ),
        ("create secrets", ok(secrets.create(&pp, &secret).await)),
        (
            "delete deployments",
            ok(deployments.delete("web", &dp).await),
        ),
        (
            "create deployments",
            ok(deployments.create(&pp, &web).await),
        ),
        (
            "update deployments",
            ok(deployments.replace("web", &pp, &web).await),
        ),
        (
            "delete nodes",
            ok(Api::<Node>::all(client.clone())
                .delete("does-not-exist", &dp)
                .await),
        ),
        ("patch services", patch_missing::<Service>(client, ns).await),
        (
            "delete jobs",
            ok(Api::<Job>::namespaced(client.clone(), ns)
                .delete("does-not-exist", &dp)
                .await),
        ),
        (
            "create pods",
            ok(Api::<Pod>::namespaced(client.clone(), ns)
                .create(&pp, &bare)
                .await),
        ),
    ]
}

fn context(client: &kube::Client, served: lookout::cluster::ServedApis) -> ActionContext {
    ActionContext::new(
        client.clone(),
        SystemClock::shared(),
        ActionsConfig::default(),
        served,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_reads_everything_lookout_reads_and_writes_nothing() {
    let t = SimTest::start(1).await;
    let _: Deployment = t
        .create(deployment(
            "web",
            2,
            json!({}),
            json!({"sim.lookout.dev/logs": "listening on :8080"}),
        ))
        .await;
    let pod = t
        .pod_where("web", "a running pod", crate::sim::is_ready)
        .await;
    let pod = pod.metadata.name.unwrap();
    let ids = identities(&t).await;
    let ns = t.ns.name.as_str();
    let served = lookout::cluster::discover(&ids.readonly)
        .await
        .expect("discovery as read-only");

    // Every kind the tools can name lists, and the reads Lookout's watchers and tools make work.
    let ctx = context(&ids.readonly, served.clone());
    for kind in lookout::actions::kinds::KINDS {
        let ns = kind.namespaced.then_some(ns);
        ctx.list(kind.kind, ns, None)
            .await
            .unwrap_or_else(|e| panic!("read-only cannot list {}: {e}", kind.kind));
    }
    let pods = Api::<Pod>::namespaced(ids.readonly.clone(), ns);
    let _events = pods
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch pods");
    let log = pods
        .logs(&pod, &Default::default())
        .await
        .expect("read logs");
    assert!(log.contains("listening on :8080"), "{log}");
    let (tools, _) = registry();
    for (tool, params) in [
        (
            "get",
            json!({"kind": "Deployment", "namespace": ns, "name": "web"}),
        ),
        (
            "describe",
            json!({"kind": "Pod", "namespace": ns, "name": pod}),
        ),
        ("logs", json!({"namespace": ns, "pod": pod})),
        ("events", json!({"namespace": ns})),
        ("list", json!({"kind": "Node"})),
    ] {
        tools
            .run_tool(&ctx, tool, &params)
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
    }

    for (what, r) in catalogue_writes(&ids.readonly, &t, &served).await {
        forbidden("read-only", what, r);
    }
    for (what, r) in never(&ids.readonly, ns).await {
        forbidden("read-only", what, r);
    }
    // An action planned as read-only stops at the dry-run: RBAC authorises dry-runs too.
    match tools
        .plan(
            &ctx,
            "deployment.scale",
            &json!({"namespace": ns, "name": "web", "replicas": 3}),
        )
        .await
    {
        Err(ActionError::Kube {
            source: kube::Error::Api(s),
            ..
        }) => assert_eq!(s.code, 403),
        other => panic!("{other:?}"),
    }
    drop(ids);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediation_makes_exactly_the_catalogue_writes_and_with_readonly_runs_the_actions() {
    let t = SimTest::start(1).await;
    let _: Deployment = t.create(deployment("web", 2, json!({}), json!({}))).await;
    crate::actions::wait_healthy(&t, "web", 2).await;
    let ids = identities(&t).await;
    let ns = t.ns.name.as_str();
    let served = lookout::cluster::discover(&admin_client().await)
        .await
        .unwrap();

    for (what, r) in catalogue_writes(&ids.remediation, &t, &served).await {
        allowed("remediation", what, r);
    }
    for (what, r) in never(&ids.remediation, ns).await {
        forbidden("remediation", what, r);
    }
    // Remediation alone reads nothing: it is bound together with the read-only role.
    forbidden(
        "remediation",
        "list pods",
        Api::<Pod>::namespaced(ids.remediation.clone(), ns)
            .list(&ListParams::default())
            .await
            .map(|_| ()),
    );
    forbidden(
        "remediation",
        "read logs",
        Api::<Pod>::namespaced(ids.remediation.clone(), ns)
            .logs("x", &Default::default())
            .await
            .map(|_| ()),
    );

    // Both roles together are what Lookout needs: plan, execute and verify real actions.
    let ctx = ActionContext {
        config: ActionsConfig {
            verify_settle: std::time::Duration::from_secs(1),
            ..ActionsConfig::default()
        },
        ..context(
            &ids.both,
            lookout::cluster::discover(&ids.both).await.unwrap(),
        )
    };
    let (actions, _) = registry();
    let plan = actions
        .plan(
            &ctx,
            "deployment.scale",
            &json!({"namespace": ns, "name": "web", "replicas": 3}),
        )
        .await
        .unwrap();
    let execution = actions.execute(&ctx, &plan).await.unwrap();
    assert!(
        actions
            .verify(&ctx, &plan, &execution)
            .await
            .unwrap()
            .healthy()
    );
    actions.rollback(&ctx, &plan).await.unwrap();
    let plan = actions
        .plan(
            &ctx,
            "deployment.delete_pod",
            &json!({"namespace": ns, "name": "web"}),
        )
        .await
        .unwrap();
    actions.execute(&ctx, &plan).await.unwrap();
    actions
        .plan(
            &ctx,
            "deployment.adjust_resources",
            &json!({"namespace": ns, "name": "web", "container": "app", "memory_request": "128Mi"}),
        )
        .await
        .unwrap();
    for (what, r) in never(&ids.both, ns).await {
        forbidden("read-only + remediation", what, r);
    }
    drop(ids);
    t.stop().await;
}

fn registry() -> (Registry, prometheus_client::registry::Registry) {
    crate::actions::registry()
}
