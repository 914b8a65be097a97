//! The Alertmanager intake fed by a real prometheus-alertmanager configured with a webhook
//! receiver pointing at the bot: an alert naming a workload becomes that workload's incident,
//! another one an incident of its group, and resolving them resolves the incidents.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lookout::config::Secret;
use lookout::incident::IncidentEventKind;
use serde_json::json;

use crate::pipeline::{Bot, bot_config};
use crate::support::{env, eventually, free_port, unique};

struct Alertmanager {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    async fn start(webhook: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = format!(
            r#"
route:
  receiver: lookout
  group_by: [alertname, namespace]
  group_wait: 100ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
  - name: lookout
    webhook_configs:
      - url: {webhook}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"#
        );
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let child = Command::new(env().get("LOOKOUT_TEST_ALERTMANAGER"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-alertmanager");
        crate::support::wait_for_port(port).await;
        Self {
            port,
            child,
            _dir: dir,
        }
    }

    async fn post(&self, alerts: serde_json::Value) {
        let url = format!("http://127.0.0.1:{}/api/v2/alerts", self.port);
        eventually(
            Duration::from_secs(10),
            "alertmanager accepts alerts",
            || async {
                let r = reqwest::Client::new()
                    .post(&url)
                    .json(&alerts)
                    .send()
                    .await
                    .ok()?;
                r.status().is_success().then_some(())
            },
        )
        .await;
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alert(labels: serde_json::Value, resolved: bool) -> serde_json::Value {
    let now = chrono::Utc::now();
    let mut a = json!({
        "labels": labels,
        "annotations": {"summary": "something is wrong"},
        "startsAt": (now - chrono::Duration::minutes(1)).to_rfc3339(),
    });
    if resolved {
        a["endsAt"] = json!((now - chrono::Duration::seconds(1)).to_rfc3339());
    }
    a
}

#[tokio::test]
async fn alerts_from_a_real_alertmanager_become_incidents_and_resolve() {
    let ns = unique("am");
    let token = unique("token");
    let mut config = bot_config(&ns, &unique("am"));
    config.alertmanager.token = Secret::new(token.clone());
    let mut bot = Bot::start(config).await;
    let webhook = format!("http://{}/webhooks/alertmanager", bot.addr);
    let am = Alertmanager::start(&webhook, &token).await;

    let workload = json!({"alertname": "KubeDeploymentReplicasMismatch", "namespace": ns,
                          "deployment": "checkout", "severity": "critical"});
    let other = json!({"alertname": "HighErrorRate", "service": "edge", "severity": "warning"});
    am.post(json!([
        alert(workload.clone(), false),
        alert(other.clone(), false)
    ]))
    .await;

    let mut created = Vec::new();
    for _ in 0..2 {
        let e = bot
            .next("an alert incident", |e| {
                // Other tests' nodes share the cluster: only alert incidents count here.
                e.kind == IncidentEventKind::Created
                    && e.incident
                        .active_signals()
                        .any(|s| s.name.as_str() == "alert")
            })
            .await;
        created.push(e.incident.clone());
    }
    let by_workload = created
        .iter()
        .find(|i| i.primary.kind == "Deployment")
        .unwrap_or_else(|| panic!("the alert naming a Deployment belongs to it: {created:#?}"));
    assert_eq!(by_workload.primary.name, "checkout");
    assert_eq!(by_workload.primary.namespace.as_deref(), Some(ns.as_str()));
    let signal = by_workload.active_signals().next().unwrap();
    assert_eq!(signal.evidence.details["severity"], "critical");
    assert_eq!(
        signal.evidence.details["annotation.summary"],
        "something is wrong"
    );
    assert_eq!(by_workload.severity, lookout::correlate::Severity::High);
    let grouped = created
        .iter()
        .find(|i| i.primary.kind == "AlertGroup")
        .expect("the other alert is an incident of its group");
    assert!(grouped.title.contains("HighErrorRate"), "{}", grouped.title);

    // Resolving in Alertmanager resolves the incidents.
    am.post(json!([alert(workload, true), alert(other, true)]))
        .await;
    let mut resolved = std::collections::BTreeSet::new();
    while resolved.len() < 2 {
        let e = bot
            .next("alert incidents to resolve", |e| {
                e.kind == IncidentEventKind::Resolved
                    && e.incident
                        .signals
                        .values()
                        .any(|s| s.signal.name.as_str() == "alert")
            })
            .await;
        resolved.insert(e.incident.id.clone());
    }
    let ids: std::collections::BTreeSet<_> = created.iter().map(|i| i.id.clone()).collect();
    assert_eq!(resolved, ids);
    bot.stop().await;
}
