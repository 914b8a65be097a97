//! The bot binary killed with SIGKILL while an approval waits: started again, the button still
//! works, the loop continues from its stored state and nothing runs twice. And the narrowest
//! window: killed after the change reached the API server but before it was recorded — the
//! next start finds it landed and verifies it instead of applying it again.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use lookout::config::{Config, RedisConfig, SecretUrl, StoreConfig};
use lookout::remediation::REMEDIATIONS;
use lookout::store::{
    Decision, RedisStore, RedisStoreOptions, Retention, SharedStore, StoreExt, Verdict,
};
use serde_json::{Value, json};

use super::{ALICE, WAIT, audited, button, memory_limit};
use crate::approval_loop::{approval_in, break_it, card_of, loop_config};
use crate::fakes::slack::{ALERTS, FakeSlack};
use crate::sim::SimTest;
use crate::support::{env, eventually, free_port, wait_for_port};

const BIN: &str = env!("CARGO_BIN_EXE_lookout");

/// The bot as a separate process, as it runs in production.
struct Process {
    child: Child,
    port: u16,
}

impl Process {
    async fn start(config_file: &std::path::Path) -> Self {
        let port = free_port();
        let child = Command::new(BIN)
            .arg("run")
            .env_clear()
            .env("LOOKOUT_CONFIG", config_file)
            .env("LOOKOUT_REDIS_URL", env().redis_url())
            .env("LOOKOUT_SLACK_BOT_TOKEN", FakeSlack::BOT_TOKEN)
            .env("LOOKOUT_SLACK_APP_TOKEN", FakeSlack::APP_TOKEN)
            .env("LOOKOUT_SLACK_SIGNING_SECRET", "fake-signing-secret")
            .env("LOOKOUT_HTTP_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bot");
        wait_for_port(port).await;
        Self { child, port }
    }

    /// SIGKILL: no shutdown, nothing flushed.
    fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    async fn metric(&self, line_start: &str) -> f64 {
        let body = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.port))
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap();
        body.lines()
            .filter(|l| l.starts_with(line_start))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The config the process reads (secrets come from the environment).
fn config_file(config: &Config) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut yaml: Value = serde_json::to_value(config).expect("config as json");
    // Masked on output; the process takes them from the environment.
    for secret in ["bot_token", "app_token", "signing_secret"] {
        yaml["platforms"]["slack"][secret] = json!("");
    }
    yaml["redis"]["url"] = json!("");
    std::fs::write(file.path(), serde_yaml_ng::to_string(&yaml).unwrap()).unwrap();
    file
}

fn store(cluster: &str) -> SharedStore {
    let redis = RedisConfig {
        url: SecretUrl::new(env().redis_url()),
        ..RedisConfig::default()
    };
    Arc::new(
        RedisStore::new(
            RedisStoreOptions {
                redis,
                cluster: cluster.to_string(),
                retention: Retention::from(&StoreConfig::default()),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .expect("redis store"),
    )
}

const EXECUTED: &str =
    "lookout_actions_total{action=\"deployment.adjust_resources\",result=\"executed\"";

#[tokio::test]
async fn killed_while_an_approval_waits_the_button_still_works_after_a_restart() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let t = SimTest::start(2).await;
    let config = loop_config(&t, &fake);
    let file = config_file(&config);
    let first = Process::start(file.path()).await;
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);
    let card = eventually(WAIT, "the card", || async { card_of(&fake, &name) }).await;
    let approval = eventually(WAIT, "the approval request", || async {
        approval_in(&fake, &card)
    })
    .await;
    first.kill9();

    let connected = fake.connects();
    let second = Process::start(file.path()).await;
    eventually(WAIT, "the restarted bot connected", || async {
        (fake.connects() > connected).then_some(())
    })
    .await;
    fake.click(ALERTS, &approval.ts, ALICE, &button(&approval, "Approve"))
        .await;
    eventually(WAIT, "verified after the restart", || async {
        let m = fake.message(ALERTS, &approval.ts)?;
        m.readable().contains("verified").then_some(())
    })
    .await;
    assert_eq!(memory_limit(&t, "checkout").await, "128Mi");
    let d: Deployment = t.api::<Deployment>().get("checkout").await.unwrap();
    assert_eq!(d.metadata.generation, Some(2), "changed exactly once");
    let s = store(&config.cluster);
    assert_eq!(audited(&s, "action").await.len(), 1);
    let cards = fake
        .bot_messages(ALERTS)
        .into_iter()
        .filter(|m| m.thread().is_none() && m.readable().contains(&name))
        .count();
    assert_eq!(cards, 1, "one card across both runs");
    let badge = regex::Regex::new(r"\bA-\d+ (MEDIUM|APPROVED)\b").unwrap();
    let asks = fake
        .bot_messages(ALERTS)
        .into_iter()
        .filter(|m| badge.is_match(&m.readable()))
        .count();
    assert_eq!(asks, 1, "one approval request across both runs");
    assert_eq!(second.metric(EXECUTED).await, 1.0);
    drop(second);
    t.stop().await;
}

#[tokio::test]
async fn killed_between_executing_and_recording_the_change_is_not_applied_again() {
    lookout::install_crypto_provider();
    let fake = FakeSlack::start().await;
    let t = SimTest::start(2).await;
    let config = loop_config(&t, &fake);
    let file = config_file(&config);
    let first = Process::start(file.path()).await;
    break_it(&t, "checkout").await;
    let name = format!("{}/checkout", t.ns.name);
    let card = eventually(WAIT, "the card", || async { card_of(&fake, &name) }).await;
    let approval = eventually(WAIT, "the approval request", || async {
        approval_in(&fake, &card)
    })
    .await;
    first.kill9();

    // What a crash right after the API server took the change leaves behind: the decision and
    // the execution intent recorded, the execution claimed, the change live, nothing after.
    let s = store(&config.cluster);
    let ids = s.list(REMEDIATIONS).await.unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let incident = &ids[0];
    let mut r: Value = s.get_json(REMEDIATIONS, incident).await.unwrap().unwrap();
    let approval_id = r["approval"]
        .as_str()
        .expect("awaiting an approval")
        .to_string();
    let decision = Decision {
        verdict: Verdict::Approved,
        by: format!("slack:{ALICE}"),
        at: chrono::Utc::now(),
        reason: None,
    };
    s.decide(&approval_id, &decision).await.unwrap();
    r["status"] = json!("executing");
    s.put_json(REMEDIATIONS, incident, &r, None).await.unwrap();
    assert!(
        s.claim(
            &format!("execute:{approval_id}"),
            std::time::Duration::from_secs(3600)
        )
        .await
        .unwrap()
    );
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"limits": {"memory": "128Mi"}}}
    ]}}}});
    t.api::<Deployment>()
        .patch(
            "checkout",
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
        .expect("the change, as the crashed process applied it");
    assert_eq!(memory_limit(&t, "checkout").await, "128Mi");

    let connected = fake.connects();
    let second = Process::start(file.path()).await;
    eventually(WAIT, "the restarted bot connected", || async {
        (fake.connects() > connected).then_some(())
    })
    .await;
    eventually(WAIT, "the landed change verified", || async {
        let m = fake.message(ALERTS, &approval.ts)?;
        m.readable().contains("verified").then_some(())
    })
    .await;
    assert_eq!(
        second.metric(EXECUTED).await,
        0.0,
        "found landed, not applied again"
    );
    let d: Deployment = t.api::<Deployment>().get("checkout").await.unwrap();
    assert_eq!(d.metadata.generation, Some(2), "one change in all");
    drop(second);
    t.stop().await;
}
