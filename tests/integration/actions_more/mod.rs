//! The later action families end to end. Against the real 1.20 API server with the simulated
//! kubelet: StatefulSet, DaemonSet, Job, CronJob (batch/v1beta1 through discovery), Node
//! (evictions in policy/v1beta1), HPA (autoscaling/v2beta2), PVC, ConfigMap — each plans with
//! a server dry-run diff, executes, verifies through watches, rolls back, refuses through its
//! guards and goes stale when the object moved after planning. What the 1.20 server cannot
//! express (Job suspension, the current API versions batch/v1 CronJob, autoscaling/v2 HPA and
//! policy/v1 Eviction) runs against a mocked API in [`mocked`].

mod configmap;
mod cronjob;
mod daemonset;
mod hpa;
mod job;
mod mock_api;
mod mocked;
mod node;
mod pvc;
mod statefulset;

use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use lookout::actions::{ActionError, Plan};
use serde_json::Value;

use crate::sim::SimTest;

pub use crate::actions::{context, context_with, count, refusal, registry};

/// Creates an object of a kind k8s-openapi has no struct for (a v1beta1 CronJob) in the test's
/// namespace, or a cluster-scoped one when `namespaced` is false.
pub async fn create_dynamic(t: &SimTest, ar: &ApiResource, object: Value) -> Value {
    let obj: DynamicObject = serde_json::from_value(object).expect("object json");
    let api = dynamic_api(t, ar, true);
    serde_json::to_value(
        api.create(&PostParams::default(), &obj)
            .await
            .expect("create object"),
    )
    .expect("json")
}

pub fn dynamic_api(t: &SimTest, ar: &ApiResource, namespaced: bool) -> Api<DynamicObject> {
    if namespaced {
        Api::namespaced_with(t.client.clone(), &t.ns.name, ar)
    } else {
        Api::all_with(t.client.clone(), ar)
    }
}

/// A fixed (non-discovered) resource.
pub fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Reads an object as JSON through a dynamic API.
pub async fn get_json(api: &Api<DynamicObject>, name: &str) -> Value {
    serde_json::to_value(api.get(name).await.expect("get object")).expect("json")
}

/// The reason of a `Stale` error; panics on anything else.
pub fn stale<T: std::fmt::Debug>(r: Result<T, ActionError>) -> String {
    match r {
        Err(ActionError::Stale { reason }) => reason,
        other => panic!("expected Stale, got {other:?}"),
    }
}

/// A stored plan survives a round trip through JSON (it is kept with its approval).
pub fn stored(plan: Plan) -> Plan {
    serde_json::from_value(serde_json::to_value(&plan).expect("plan json")).expect("plan back")
}

#[test]
fn the_later_families_are_registered_with_their_risks() {
    use lookout::actions::Risk::{High, Low, Medium};
    let (actions, _) = registry();
    for (name, risk, reversible) in [
        ("statefulset.scale", Medium, true),
        ("statefulset.restart", Medium, true),
        ("statefulset.delete_pod", Medium, false),
        ("daemonset.restart", Medium, true),
        ("job.retry", Medium, true),
        ("job.suspend", Medium, true),
        ("job.resume", Medium, true),
        ("cronjob.suspend", Medium, true),
        ("cronjob.resume", Medium, true),
        ("cronjob.trigger", Medium, true),
        ("node.cordon", Low, true),
        ("node.uncordon", Low, true),
        ("node.drain", High, true),
        ("hpa.adjust", Medium, true),
        ("pvc.resize", Medium, false),
        ("configmap.patch_key", Medium, true),
    ] {
        let spec = actions
            .get(name)
            .unwrap_or_else(|| panic!("{name} registered"))
            .spec();
        assert_eq!((spec.risk, spec.reversible), (risk, reversible), "{name}");
        let schema = (spec.params_schema)();
        assert_eq!(schema["additionalProperties"], false, "{name}");
    }
}

#[test]
fn every_action_the_shipped_runbooks_name_is_registered() {
    let (actions, _) = registry();
    let books = lookout::runbook::load(None).expect("shipped runbooks");
    let errors = lookout::runbook::check_actions(&books, |a| actions.get(a).is_some());
    assert!(errors.is_empty(), "{errors:?}");
}
