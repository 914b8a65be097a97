//! From a fault in the real test cluster to incidents on the bus: the whole bot in-process
//! (watchers, observer, tracker) against the API server, with the simulated kubelet breaking
//! and healing pods, and a real Redis. Also `lookout scan` on the same kind of faults.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::app::App;
use lookout::config::{Config, SecretUrl};
use lookout::incident::{IncidentEvent, IncidentEventKind, IncidentState};
use serde_json::json;
use tokio::sync::broadcast;

use crate::sim::{SimTest, WAIT, deployment};
use crate::support::{env, unique};

/// The bot, watching only `namespace`, with windows short enough for a test.
pub fn bot_config(namespace: &str, cluster: &str) -> Config {
    let mut c = Config {
        cluster: cluster.to_string(),
        ..Config::default()
    };
    c.redis.url = SecretUrl::new(env().redis_url());
    c.kubernetes.kubeconfig = Some(env().kubeconfig());
    c.http.listen = "127.0.0.1:0".parse().expect("addr");
    c.http.shutdown_grace = Duration::from_secs(5);
    c.scope.include_namespaces = vec![namespace.to_string()];
    c.correlation.settle = Duration::from_millis(500);
    c.correlation.quiet_period = Duration::from_secs(2);
    c.health.check_interval = Duration::from_millis(200);
    c.health.max_backoff = Duration::from_secs(1);
    c
}

/// A running bot and its bus.
pub struct Bot {
    pub events: broadcast::Receiver<IncidentEvent>,
    pub store: lookout::store::SharedStore,
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<lookout::Result<()>>>,
}

impl Bot {
    pub async fn start(config: Config) -> Self {
        let app = App::build(config).await.expect("build bot");
        let events = app.bus().subscribe();
        let store = app.store();
        let addr = app.http_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async {
            let _ = rx.await;
        }));
        Self {
            events,
            store,
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// The next bus event matching `pick`, within `WAIT`.
    pub async fn next(
        &mut self,
        what: &str,
        pick: impl Fn(&IncidentEvent) -> bool,
    ) -> IncidentEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Ok(e)) if pick(&e) => return e,
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(e)) => panic!("bus closed waiting for {what}: {e}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Everything on the bus for `for_`.
    pub async fn quiet_for(&mut self, for_: Duration) -> Vec<IncidentEvent> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + for_;
        while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            seen.push(e);
        }
        seen
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("bot task").expect("bot stopped cleanly");
        }
    }
}

fn oom_deployment(name: &str, replicas: i32) -> serde_json::Value {
    deployment(
        name,
        replicas,
        json!({"resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}}}),
        json!({"sim.lookout.dev/memory-need": "300Mi"}),
    )
}

#[tokio::test]
async fn an_oom_crash_loop_becomes_one_incident_that_survives_a_restart_and_resolves() {
    let t = SimTest::start(2).await;
    let cluster = unique("pipe");
    let mut bot = Bot::start(bot_config(&t.ns.name, &cluster)).await;
    t.create::<Deployment>(oom_deployment("web", 2)).await;

    // The shared cluster has other tests' nodes (cluster-scoped, so namespace scope does not
    // hide them): look for this test's incident.
    let created = bot
        .next("the incident to be announced", |e| {
            e.kind == IncidentEventKind::Created && e.incident.primary.name == "web"
        })
        .await;
    let incident = &created.incident;
    assert_eq!(incident.primary.kind, "Deployment");
    assert_eq!(incident.primary.name, "web");
    assert_eq!(incident.state, IncidentState::Detected);
    let names: Vec<_> = incident.active_signals().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"oom_killed"), "{names:?}");
    assert!(
        incident.id.starts_with(&format!("{cluster}/INC-")),
        "{}",
        incident.id
    );
    let id = incident.id.clone();

    // Restart the bot mid-incident: the new one finds the incident and announces nothing new.
    bot.stop().await;
    let mut bot = Bot::start(bot_config(&t.ns.name, &cluster)).await;
    let after_restart = bot.quiet_for(Duration::from_secs(3)).await;
    assert!(
        after_restart
            .iter()
            .all(|e| e.kind != IncidentEventKind::Created || e.incident.primary.kind == "Node"),
        "a restart announced again: {:?}",
        after_restart
            .iter()
            .map(|e| (&e.kind, &e.incident.id))
            .collect::<Vec<_>>()
    );
    let open = bot.store.list("open-incidents").await.unwrap();
    assert!(open.contains(&id), "{open:?}");

    // The fix: enough memory. New pods come up healthy, old ones go, the incident resolves.
    t.patch::<Deployment>(
        "web",
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "64Mi"}}}
        ]}}}}),
    )
    .await;
    let resolved = bot
        .next("the incident to resolve", |e| {
            e.kind == IncidentEventKind::Resolved && e.incident.id == id
        })
        .await;
    assert_eq!(resolved.incident.state, IncidentState::Resolved);
    assert!(resolved.incident.resolved_at.is_some());
    assert!(
        !bot.store
            .list("open-incidents")
            .await
            .unwrap()
            .contains(&id)
    );
    bot.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn scan_finds_exactly_the_injected_faults() {
    let t = SimTest::start_with(2, |c| c.missing_images.push("registry.invalid".into())).await;
    t.create::<Deployment>(oom_deployment("oom", 1)).await;
    t.create::<Deployment>(deployment(
        "badimage",
        1,
        json!({"image": "registry.invalid/shop/web:9.9"}),
        json!({}),
    ))
    .await;
    t.create::<Deployment>(deployment(
        "nocfg",
        1,
        json!({"env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "url"}}}]}),
        json!({}),
    ))
    .await;
    t.create::<Deployment>(deployment("healthy", 2, json!({}), json!({})))
        .await;

    let config = bot_config(&t.ns.name, "scan");
    let client = crate::support::admin_client().await;
    let findings = crate::support::eventually(WAIT, "all three faults", || async {
        let f = lookout::scan::scan(client.clone(), &config, Some(&t.ns.name))
            .await
            .expect("scan");
        let has = |signal: &str, owner: &str| {
            f.iter()
                .any(|x| x.signal == signal && x.owner_name == owner)
        };
        (has("oom_killed", "oom")
            && has("image_pull", "badimage")
            && has("container_config_error", "nocfg"))
        .then_some(f)
    })
    .await;
    let owners: std::collections::BTreeSet<_> =
        findings.iter().map(|f| f.owner_name.as_str()).collect();
    assert!(!owners.contains("healthy"), "{findings:#?}");
    for f in &findings {
        assert_eq!(f.namespace.as_deref(), Some(t.ns.name.as_str()));
        assert!(
            ["oom", "badimage", "nocfg"].contains(&f.owner_name.as_str()),
            "{f:?}"
        );
    }
    let json = serde_json::to_value(&findings[0]).unwrap();
    for field in [
        "signal",
        "severity",
        "namespace",
        "kind",
        "name",
        "owner_kind",
        "owner_name",
        "reason",
        "message",
        "since",
    ] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }
    t.stop().await;
}
