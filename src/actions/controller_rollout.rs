//! Rolling restarts of StatefulSets and DaemonSets, and "healthy again" after them: what
//! `kubectl rollout restart` does (stamp the pod template with `restartedAt`), refused where
//! the controller would not roll the pods (`OnDelete`, a StatefulSet partition), and verified
//! by watching the object and its pods until every pod carries the new stamp, is Ready and has
//! not restarted.

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::change::{PatchProposal, plan_patch};
use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::plan::{Change, Execution, PatchType, Plan, Verification};
use super::pods;
use super::spec::ActionSpec;
use super::verify::{self, Look};
use super::watch_object::{int_at, observed, watch_one};
use super::workload;
use crate::detect::ObjectRef;

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// The workload's update strategy would not roll its pods.
pub const UPDATE_STRATEGY: &str = "update_strategy";

const STAMP: &str = "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt";

/// Plans a rolling restart of `target` (a StatefulSet or DaemonSet), stamped with the plan time.
pub async fn plan_restart(
    ctx: &ActionContext,
    spec: &'static ActionSpec,
    params: &Value,
    target: &ObjectRef,
) -> Result<Plan> {
    let live = ctx.fetch_target(target).await?;
    rolls_pods(&live, target)?;
    let at = ctx
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let count = match target.kind.as_str() {
        "DaemonSet" => int_at(&live, "/status/desiredNumberScheduled").unwrap_or(0),
        _ => int_at(&live, "/spec/replicas").unwrap_or(1),
    };
    let proposal = PatchProposal {
        patch_type: PatchType::Strategic,
        patch: json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}),
        pointers: &["/spec/template"],
        summary: format!("restart all {count} pods of {target} (rolling)"),
    };
    plan_patch(ctx, spec, params, target, &live, proposal).await
}

/// PURE: refuses when a template change would not roll the pods.
pub fn rolls_pods(live: &Value, target: &ObjectRef) -> Result<()> {
    let strategy = live
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate");
    if strategy == "OnDelete" {
        return Err(ActionError::refused(
            UPDATE_STRATEGY,
            format!(
                "{target} uses the OnDelete update strategy: a template change replaces no pod until each is deleted by hand"
            ),
        ));
    }
    let partition = int_at(live, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);
    if partition > 0 {
        return Err(ActionError::refused(
            UPDATE_STRATEGY,
            format!(
                "{target} has a rollout partition of {partition} (a staged rollout): a restart would only reach ordinals {partition} and above"
            ),
        ));
    }
    Ok(())
}

/// The `restartedAt` value a restart plan sets.
pub fn stamp_of(plan: &Plan) -> Result<String> {
    let Change::Patch { patch, .. } = &plan.change else {
        return Err(ActionError::BadPlan(format!(
            "{} expects a patch",
            plan.action
        )));
    };
    patch
        .pointer(STAMP)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ActionError::BadPlan(format!("{} has no restart stamp", plan.action)))
}

/// Watches the StatefulSet or DaemonSet and its pods until the restart completes healthy.
pub async fn verify_restart(
    ctx: &ActionContext,
    plan: &Plan,
    execution: &Execution,
) -> Result<Verification> {
    let stamp = stamp_of(plan)?;
    let target = plan.target.clone();
    let w = workload::workload(ctx, &target).await?;
    let (latest, object_changes) = watch_one(ctx, &target)?;
    let (pods, pod_changes) = verify::watch(
        Api::<Pod>::namespaced(ctx.client.clone(), plan.namespace().unwrap_or("default")),
        watcher::Config::default().labels(&w.selector),
    );
    let generation = execution.generation;
    verify::until_healthy(
        ctx,
        verify::merged(vec![object_changes, pod_changes]),
        move || {
            restart_look(
                &target.kind,
                latest.get().as_ref(),
                &verify::items(&pods),
                generation,
                &stamp,
            )
        },
    )
    .await
}

/// How many pods the controller wants, has updated and has ready, from its status.
fn counts(kind: &str, obj: &Value) -> (i64, i64, i64) {
    let n = |p: &str| int_at(obj, p).unwrap_or(0);
    match kind {
        "DaemonSet" => (
            n("/status/desiredNumberScheduled"),
            n("/status/updatedNumberScheduled"),
            n("/status/numberReady"),
        ),
        _ => (
            int_at(obj, "/spec/replicas").unwrap_or(1),
            n("/status/updatedReplicas"),
            n("/status/readyReplicas"),
        ),
    }
}

/// PURE: has every pod been replaced by one carrying `stamp`, Ready, without restarts?
pub fn restart_look(
    kind: &str,
    obj: Option<&Value>,
    all_pods: &[Pod],
    generation: Option<i64>,
    stamp: &str,
) -> Look {
    let Some(obj) = obj else {
        return Look::Waiting(format!("the {kind} is gone"));
    };
    if let Err(why) = observed(obj, generation) {
        return Look::Waiting(why);
    }
    let (want, updated, ready) = counts(kind, obj);
    let live: Vec<&Pod> = all_pods
        .iter()
        .filter(|p| !pods::is_terminating(p))
        .collect();
    let stamped = |p: &Pod| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RESTARTED_AT))
            .is_some_and(|v| v == stamp)
    };
    let old = live.iter().filter(|p| !stamped(p)).count();
    let new: Vec<&Pod> = live.iter().copied().filter(|p| stamped(p)).collect();
    if let Some(bad) = new.iter().find(|p| pods::restarts(p) > 0) {
        return Look::Waiting(format!("restarted pod {}", pods::describe(bad)));
    }
    let new_ready = new.iter().filter(|p| pods::is_ready(p)).count() as i64;
    if updated < want || ready < want || old > 0 || new_ready < want {
        return Look::Waiting(format!(
            "restarting: {new_ready}/{want} restarted pods ready, {old} old pods left ({updated} updated, {ready} ready)"
        ));
    }
    Look::Healthy(format!("{want}/{want} restarted pods ready, no restarts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, stamp: Option<&str>, ready: bool, restarts: i32) -> Pod {
        let annotations = stamp.map(|s| json!({RESTARTED_AT: s})).unwrap_or(json!({}));
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                       "containerStatuses": [{"name": "app", "image": "x", "imageID": "",
                                              "ready": ready, "restartCount": restarts}]},
        }))
        .unwrap()
    }

    fn sts(generation: i64, observed: i64, updated: i64, ready: i64) -> Value {
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 2},
               "status": {"observedGeneration": observed, "updatedReplicas": updated, "readyReplicas": ready}})
    }

    #[test]
    fn a_restart_is_done_when_every_pod_is_stamped_ready_and_unrestarted() {
        let s = "2024-05-01T10:00:00Z";
        let done = [pod("a-0", Some(s), true, 0), pod("a-1", Some(s), true, 0)];
        assert!(matches!(
            restart_look("StatefulSet", Some(&sts(2, 2, 2, 2)), &done, Some(2), s),
            Look::Healthy(_)
        ));
        let Look::Waiting(why) =
            restart_look("StatefulSet", Some(&sts(2, 1, 2, 2)), &done, Some(2), s)
        else {
            panic!()
        };
        assert!(why.contains("generation 2"), "{why}");
        let half = [pod("a-0", None, true, 0), pod("a-1", Some(s), true, 0)];
        assert_eq!(
            restart_look("StatefulSet", Some(&sts(2, 2, 1, 2)), &half, Some(2), s),
            Look::Waiting(
                "restarting: 1/2 restarted pods ready, 1 old pods left (1 updated, 2 ready)".into()
            )
        );
        let crashing = [pod("a-0", Some(s), true, 0), pod("a-1", Some(s), false, 3)];
        assert!(matches!(
            restart_look("StatefulSet", Some(&sts(2, 2, 2, 1)), &crashing, Some(2), s),
            Look::Waiting(w) if w.starts_with("restarted pod a-1 (not ready, 3 restarts")
        ));
    }

    #[test]
    fn daemonsets_count_from_their_scheduling_status() {
        let s = "t";
        let ds = json!({"status": {"desiredNumberScheduled": 1, "updatedNumberScheduled": 1, "numberReady": 1}});
        assert!(matches!(
            restart_look(
                "DaemonSet",
                Some(&ds),
                &[pod("agent-x", Some(s), true, 0)],
                None,
                s
            ),
            Look::Healthy(_)
        ));
    }

    #[test]
    fn on_delete_and_partitions_refuse() {
        let t = ObjectRef::namespaced("StatefulSet", "a", "db");
        let on_delete = json!({"spec": {"updateStrategy": {"type": "OnDelete"}}});
        assert_eq!(
            rolls_pods(&on_delete, &t).unwrap_err().guard(),
            Some(UPDATE_STRATEGY)
        );
        let staged = json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}});
        assert!(
            rolls_pods(&staged, &t)
                .unwrap_err()
                .to_string()
                .contains("partition of 2")
        );
        assert!(rolls_pods(&json!({"spec": {}}), &t).is_ok());
    }
}
