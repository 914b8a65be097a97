use axum::body::Body;
use axum::http::{Request, StatusCode};
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tower::ServiceExt;

use super::*;
use crate::config::Secret;
use crate::detect::{ObjectRef, SignalName};

const BODY: &str = r#"{
  "receiver": "lookout",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop",
                 "deployment": "web", "severity": "warning", "job": "kube-state-metrics"},
      "annotations": {"summary": "Deployment shop/web has not matched the expected replicas"},
      "startsAt": "2026-11-21T10:00:00Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus/graph?g0.expr=...",
      "fingerprint": "a1b2c3d4e5f60718"
    },
    {
      "status": "firing",
      "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-5d8f-x1",
                 "container": "api", "severity": "critical"},
      "annotations": {"description": "Pod shop/api-5d8f-x1 is crash looping"},
      "startsAt": "2026-11-21T10:01:00Z",
      "fingerprint": "0011223344556677"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "HighErrorRate", "service": "edge"},
      "annotations": {},
      "startsAt": "2026-11-21T09:00:00Z",
      "endsAt": "2026-11-21T10:02:00Z",
      "fingerprint": "ffeeddccbbaa9988"
    },
    {
      "status": "firing",
      "labels": {"alertname": "HighErrorRate", "service": "edge", "job": "blackbox"},
      "annotations": {"summary": "5xx above 5%"},
      "startsAt": "2026-11-21T10:03:00Z",
      "fingerprint": "9988776655443322"
    }
  ],
  "groupLabels": {"alertname": "KubeDeploymentReplicasMismatch"},
  "commonLabels": {},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}:{alertname=\"KubeDeploymentReplicasMismatch\"}",
  "truncatedAlerts": 0
}"#;

fn changes() -> Vec<AlertChange> {
    let payload = parse(BODY.as_bytes()).expect("valid payload");
    let owner = |ns: &str, pod: &str| {
        (pod == "api-5d8f-x1").then(|| ObjectRef::namespaced("Deployment", ns, "api"))
    };
    payload
        .alerts
        .iter()
        .map(|a| signal_for(&payload.group_key, a, &owner))
        .collect()
}

#[test]
fn alerts_naming_a_workload_belong_to_it() {
    let c = changes();
    let AlertChange::Firing(s) = &c[0] else {
        panic!("firing expected")
    };
    assert_eq!(s.name, SignalName::Alert);
    assert_eq!(s.owner, ObjectRef::namespaced("Deployment", "shop", "web"));
    assert_eq!(s.evidence.reason, "KubeDeploymentReplicasMismatch");
    assert_eq!(
        s.evidence.message,
        "Deployment shop/web has not matched the expected replicas"
    );
    assert_eq!(s.evidence.details["severity"], "warning");
    assert_eq!(
        s.evidence.details["annotation.summary"],
        "Deployment shop/web has not matched the expected replicas"
    );
    assert!(s.evidence.since.is_some());

    // A pod label resolves to the pod's root owner.
    let AlertChange::Firing(s) = &c[1] else {
        panic!("firing expected")
    };
    assert_eq!(s.owner, ObjectRef::namespaced("Deployment", "shop", "api"));
    assert_eq!(s.evidence.container.as_deref(), Some("api"));
}

#[test]
fn other_alerts_form_one_group_and_resolved_ones_clear() {
    let c = changes();
    let AlertChange::Resolved(key) = &c[2] else {
        panic!("resolved expected")
    };
    assert_eq!(key.name, SignalName::Alert);
    assert_eq!(key.object.name, "HighErrorRate/ffeeddccbbaa9988");
    let AlertChange::Firing(s) = &c[3] else {
        panic!("firing expected")
    };
    // The scrape-job label `job` does not make it a Job's alert.
    assert_eq!(s.owner.kind, "AlertGroup");
    // Same group, same owner: one incident.
    let group = parse(BODY.as_bytes()).unwrap().group_key;
    let again = signal_for(
        &group,
        &parse(BODY.as_bytes()).unwrap().alerts[3],
        &|_, _| None,
    );
    let AlertChange::Firing(again) = again else {
        panic!()
    };
    assert_eq!(again.owner, s.owner);
}

#[test]
fn malformed_payloads_say_why() {
    assert!(matches!(parse(b"not json"), Err(PayloadError::Json(_))));
    let v3 = BODY.replace(r#""version": "4""#, r#""version": "3""#);
    assert_eq!(
        parse(v3.as_bytes()).unwrap_err(),
        PayloadError::Version("3".into())
    );
    let nameless = BODY.replace(
        r#""alertname": "HighErrorRate", "service": "edge", "job""#,
        r#""service": "edge", "job""#,
    );
    assert_eq!(
        parse(nameless.as_bytes()).unwrap_err(),
        PayloadError::NoAlertName { index: 3 }
    );
    let missing = r#"{"version":"4","alerts":[]}"#;
    assert!(
        parse(missing.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("groupKey")
    );
}

fn app(capacity: usize) -> (axum::Router, mpsc::Receiver<Payload>) {
    let (tx, rx) = mpsc::channel(capacity);
    let config = AlertmanagerConfig {
        token: Secret::new("s3cret"),
        max_body_bytes: 64 * 1024,
        ..AlertmanagerConfig::default()
    };
    (router(&config, tx, &mut Registry::default()).unwrap(), rx)
}

async fn post(app: &axum::Router, auth: Option<&str>, body: String) -> (StatusCode, String) {
    let mut req =
        Request::post("/webhooks/alertmanager").header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn the_endpoint_checks_token_size_and_shape() {
    let (app, mut rx) = app(8);
    assert_eq!(
        post(&app, None, BODY.into()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app, Some("Bearer wrong"), BODY.into()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&app, Some("Basic czNjcmV0"), BODY.into()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = post(&app, Some("Bearer s3cret"), "{\"version\":\"4\"".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("not a valid Alertmanager webhook payload"),
        "{text}"
    );
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(100 * 1024));
    assert_eq!(
        post(&app, Some("Bearer s3cret"), huge).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(rx.try_recv().is_err(), "nothing refused was queued");

    let (status, text) = post(&app, Some("Bearer s3cret"), BODY.into()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(rx.try_recv().unwrap().alerts.len(), 4);
}

#[tokio::test]
async fn a_full_pipeline_answers_503_so_alertmanager_retries() {
    let (app, _rx) = app(1);
    assert_eq!(
        post(&app, Some("Bearer s3cret"), BODY.into()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, Some("Bearer s3cret"), BODY.into()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn no_token_no_endpoint() {
    let (tx, _rx) = mpsc::channel(1);
    assert!(router(&AlertmanagerConfig::default(), tx, &mut Registry::default()).is_none());
}
