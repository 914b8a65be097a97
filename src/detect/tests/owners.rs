//! Root-owner resolution.

use super::*;

fn pod() -> Pod {
    Pod::test("web-7d4b9-x2x1").in_ns("shop")
}

#[test]
fn a_pod_of_a_known_replicaset_belongs_to_its_deployment() {
    let pod = pod().owned_by_replicaset("web-7d4b9");
    let cache = Cache::new().replicaset("shop", "web-7d4b9", "web");
    assert_eq!(
        root_owner("Pod", &pod, &cache),
        ObjectRef::namespaced("Deployment", "shop", "web")
    );
}

#[test]
fn an_unknown_replicaset_falls_back_to_the_pod_template_hash() {
    let pod = pod().owned_by_replicaset("web-api-7d4b9");
    assert_eq!(
        root_owner("Pod", &pod, &NoLookup),
        ObjectRef::namespaced("Deployment", "shop", "web-api")
    );
}

#[test]
fn without_a_matching_hash_the_replicaset_is_the_answer_never_a_guess() {
    let unlabeled = pod().owned_by("ReplicaSet", "web-7d4b9");
    assert_eq!(
        root_owner("Pod", &unlabeled, &NoLookup),
        ObjectRef::namespaced("ReplicaSet", "shop", "web-7d4b9")
    );

    let other_hash = pod()
        .owned_by("ReplicaSet", "web-7d4b9")
        .labeled(POD_TEMPLATE_HASH, "abc12");
    assert_eq!(root_owner("Pod", &other_hash, &NoLookup).kind, "ReplicaSet");
}

#[test]
fn a_known_replicaset_without_owner_is_the_root() {
    let pod = pod().owned_by_replicaset("web-7d4b9");
    let cache = Cache::new().bare_replicaset("shop", "web-7d4b9");
    assert_eq!(
        root_owner("Pod", &pod, &cache),
        ObjectRef::namespaced("ReplicaSet", "shop", "web-7d4b9")
    );
}

#[test]
fn a_pod_of_a_cronjob_run_belongs_to_the_cronjob() {
    let pod = pod().owned_by("Job", "backup-28574520");
    let cache = Cache::new().job("shop", "backup-28574520", "backup");
    assert_eq!(
        root_owner("Pod", &pod, &cache),
        ObjectRef::namespaced("CronJob", "shop", "backup")
    );
    assert_eq!(
        root_owner("Pod", &pod, &NoLookup),
        ObjectRef::namespaced("Job", "shop", "backup-28574520")
    );
}

#[test]
fn statefulset_daemonset_and_bare_pods() {
    let sts = pod().owned_by("StatefulSet", "postgres");
    assert_eq!(
        root_owner("Pod", &sts, &NoLookup),
        ObjectRef::namespaced("StatefulSet", "shop", "postgres")
    );
    let ds = pod().owned_by("DaemonSet", "log-agent");
    assert_eq!(
        root_owner("Pod", &ds, &NoLookup),
        ObjectRef::namespaced("DaemonSet", "shop", "log-agent")
    );
    let bare = pod();
    assert_eq!(
        root_owner("Pod", &bare, &NoLookup),
        ObjectRef::namespaced("Pod", "shop", "web-7d4b9-x2x1")
    );
}

#[test]
fn a_job_resolves_to_its_cronjob_from_its_own_reference() {
    let job = Job::test("backup-1").owned_by("CronJob", "backup");
    assert_eq!(
        root_owner("Job", &job, &NoLookup),
        ObjectRef::namespaced("CronJob", "default", "backup")
    );
}
