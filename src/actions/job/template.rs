//! PURE: the Jobs that `job.retry` and `cronjob.trigger` create, built the way a re-run and
//! `kubectl create job --from=cronjob/x` build them, and the part of them a diff shows.
//!
//! A Job's controller generates `spec.selector` and the `controller-uid`/`job-name` labels of
//! its pod template from the Job's uid; a copy that kept them would select the old Job's pods
//! (and the server refuses a selector it did not generate), so a retry drops them and the
//! server generates fresh ones. A Job with `manualSelector: true` keeps its own.

use serde_json::{Map, Value, json};

/// On a Job Lookout created to retry another: the failed Job's name.
pub const RETRY_OF: &str = "lookout.dev/retry-of";
/// What `kubectl create job --from=cronjob/x` puts on the Job.
pub const INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";

/// Labels the Job controller generates from the Job's uid and name.
const GENERATED_LABELS: &[&str] = &[
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
];

/// Annotations a copy must not carry over.
const DROPPED_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "batch.kubernetes.io/job-tracking",
];

/// `<base>-<tag>-<suffix>`, cut so the name stays a valid label value (63 characters); a base
/// that already ends in `-<tag>-<something>` (a retry of a retry) loses that ending first.
pub fn generated_name(base: &str, tag: &str, suffix: &str) -> String {
    let marker = format!("-{tag}-");
    let base = match base.rfind(&marker) {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    let room = 63 - marker.len() - suffix.len();
    let base = base[..base.len().min(room)].trim_end_matches(['-', '.']);
    format!("{base}{marker}{suffix}")
}

/// A short, time-ordered suffix: milliseconds since the epoch in base 36.
pub fn time_suffix(millis: i64) -> String {
    let mut n = millis.unsigned_abs();
    let mut out = Vec::new();
    while n > 0 {
        let d = (n % 36) as u8;
        out.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn without(map: Option<&Value>, keys: &[&str]) -> Map<String, Value> {
    let mut m = map.and_then(Value::as_object).cloned().unwrap_or_default();
    m.retain(|k, _| !keys.contains(&k.as_str()));
    m
}

/// A fresh Job from a failed one: same spec and template, a new name, no generated selector or
/// labels, no owner (it stands on its own; the failed Job stays), annotated with what it
/// retries.
pub fn retry_of(job: &Value, name: &str) -> Value {
    let manual = job.pointer("/spec/manualSelector") == Some(&Value::Bool(true));
    let mut spec = job["spec"].clone();
    if let Some(s) = spec.as_object_mut() {
        s.remove("suspend");
        if !manual {
            s.remove("selector");
            s.remove("manualSelector");
        }
    }
    if !manual {
        let labels = without(spec.pointer("/template/metadata/labels"), GENERATED_LABELS);
        if let Some(meta) = spec
            .pointer_mut("/template/metadata")
            .and_then(Value::as_object_mut)
        {
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
    let mut annotations = without(job.pointer("/metadata/annotations"), DROPPED_ANNOTATIONS);
    let old = job
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null);
    annotations.insert(RETRY_OF.into(), old);
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": job.pointer("/metadata/namespace"),
            "labels": without(job.pointer("/metadata/labels"), GENERATED_LABELS),
            "annotations": annotations,
        },
        "spec": spec,
    })
}

/// A Job from a CronJob's `jobTemplate`, controlled by the CronJob (what `kubectl create job
/// --from=cronjob/x` makes). `api_version` is the CronJob's own (batch/v1 or v1beta1).
pub fn from_cronjob(cronjob: &Value, api_version: &str, name: &str) -> Value {
    let template = &cronjob["spec"]["jobTemplate"];
    let mut annotations = without(template.pointer("/metadata/annotations"), &[]);
    annotations.insert(INSTANTIATE.into(), json!("manual"));
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": cronjob.pointer("/metadata/namespace"),
            "labels": without(template.pointer("/metadata/labels"), &[]),
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": api_version,
                "kind": "CronJob",
                "name": cronjob.pointer("/metadata/name"),
                "uid": cronjob.pointer("/metadata/uid"),
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": template["spec"].clone(),
    })
}

/// What a diff shows of a Job about to be created: what the Job is, not what the server
/// generates (uid, timestamps, selector and its labels, managed fields, status).
pub fn shown(job: &Value) -> Value {
    let mut spec = job["spec"].clone();
    if let Some(s) = spec.as_object_mut() {
        s.remove("selector");
    }
    let labels = without(spec.pointer("/template/metadata/labels"), GENERATED_LABELS);
    if let Some(meta) = spec
        .pointer_mut("/template/metadata")
        .and_then(Value::as_object_mut)
    {
        meta.remove("creationTimestamp");
        if labels.is_empty() {
            meta.remove("labels");
        } else {
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
    let mut metadata = Map::new();
    for key in [
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
    ] {
        if let Some(v) = job["metadata"].get(key).filter(|v| !v.is_null()) {
            let v = if key == "labels" {
                Value::Object(without(Some(v), GENERATED_LABELS))
            } else {
                v.clone()
            };
            if v.as_object().is_none_or(|m| !m.is_empty()) {
                metadata.insert(key.into(), v);
            }
        }
    }
    json!({"metadata": metadata, "spec": spec})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_job() -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop", "uid": "u1",
                         "labels": {"app": "migrate", "controller-uid": "u1", "job-name": "migrate"},
                         "annotations": {"team": "db", "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"backoffLimit": 0, "selector": {"matchLabels": {"controller-uid": "u1"}},
                     "template": {"metadata": {"labels": {"app": "migrate", "controller-uid": "u1", "job-name": "migrate"}},
                                  "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "m:7"}]}}},
            "status": {"failed": 1},
        })
    }

    #[test]
    fn a_retry_drops_what_the_controller_generates() {
        let job = retry_of(&failed_job(), "migrate-retry-abc");
        assert_eq!(job["metadata"]["name"], "migrate-retry-abc");
        assert_eq!(job["metadata"]["labels"], json!({"app": "migrate"}));
        assert_eq!(
            job["metadata"]["annotations"],
            json!({"team": "db", RETRY_OF: "migrate"})
        );
        assert!(job["spec"].get("selector").is_none() && job.get("status").is_none());
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"],
            json!({"app": "migrate"})
        );
        assert_eq!(job["spec"]["backoffLimit"], 0);
        assert!(job["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn a_manual_selector_is_kept() {
        let mut j = failed_job();
        j["spec"]["manualSelector"] = json!(true);
        j["spec"]["selector"] = json!({"matchLabels": {"app": "migrate"}});
        let job = retry_of(&j, "x");
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"app": "migrate"}})
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["controller-uid"],
            "u1"
        );
    }

    #[test]
    fn a_cronjob_run_is_owned_by_the_cronjob() {
        let cj = json!({"metadata": {"name": "report", "namespace": "shop", "uid": "c1"},
                        "spec": {"jobTemplate": {"metadata": {"labels": {"app": "report"}},
                                                 "spec": {"template": {"spec": {"containers": []}}}}}});
        let job = from_cronjob(&cj, "batch/v1beta1", "report-manual-x");
        assert_eq!(job["metadata"]["annotations"][INSTANTIATE], "manual");
        assert_eq!(
            job["metadata"]["ownerReferences"][0]["apiVersion"],
            "batch/v1beta1"
        );
        assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "c1");
        assert_eq!(job["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(job["metadata"]["labels"], json!({"app": "report"}));
    }

    #[test]
    fn names_stay_short_and_do_not_stack() {
        assert_eq!(generated_name("migrate", "retry", "k1"), "migrate-retry-k1");
        assert_eq!(
            generated_name("migrate-retry-k1", "retry", "k2"),
            "migrate-retry-k2"
        );
        let long = "a".repeat(70);
        let n = generated_name(&long, "manual", "lx1b2c3d");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("-manual-lx1b2c3d"));
        assert_eq!(time_suffix(36 * 36 + 35), "10z");
    }

    #[test]
    fn the_diff_shows_the_job_not_the_generated_parts() {
        let mut created = retry_of(&failed_job(), "migrate-retry-k1");
        created["metadata"]["uid"] = json!("u2");
        created["spec"]["selector"] = json!({"matchLabels": {"controller-uid": "u2"}});
        created["spec"]["template"]["metadata"]["labels"]["controller-uid"] = json!("u2");
        let s = shown(&created);
        assert!(s["metadata"].get("uid").is_none());
        assert!(s["spec"].get("selector").is_none());
        assert_eq!(
            s["spec"]["template"]["metadata"]["labels"],
            json!({"app": "migrate"})
        );
    }
}
