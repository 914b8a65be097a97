//! Event storms against the real cluster: 300 pods of 30 Deployments failing at once become
//! one incident per Deployment, or one incident when they share a cause, and a bot restarted
//! in the middle adds no duplicate.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use lookout::incident::IncidentEventKind;
use lookout::sim::{NodeConfig, SimTiming};
use serde_json::json;

use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, deployment};
use crate::support::unique;

const DEPLOYMENTS: usize = 30;
const REPLICAS: i32 = 10;

async fn storm_sim() -> SimTest {
    SimTest::start_with(4, |c| {
        c.nodes = NodeConfig::numbered(&unique("storm"), 4);
        // Crash loops at a pace the 2-core test machine sustains for 300 pods.
        c.timing = SimTiming {
            backoff_base: Duration::from_millis(800),
            backoff_max: Duration::from_secs(5),
            resync: Duration::from_secs(2),
            ..SimTiming::fast()
        };
        for i in 0..DEPLOYMENTS {
            c.missing_images.push(format!("registry-{i}.invalid"));
        }
    })
    .await
}

fn small(container: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                                     "limits": {"memory": "64Mi"}}});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), container.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

/// Adds the incidents `bot` announces to `known` until there are at least `at_least` and
/// then none for `quiet` (a loaded machine may take a while to get through a storm; a
/// duplicate would still show up in the quiet period).
/// The shared cluster has other tests' nodes (cluster-scoped: namespace scope does not hide
/// them), so only incidents about this namespace count.
async fn settled_incidents(
    bot: &mut Bot,
    ns: &str,
    quiet: Duration,
    known: BTreeSet<String>,
    at_least: usize,
) -> BTreeSet<String> {
    let mut ids = known;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let mut grew = false;
        for e in bot.quiet_for(quiet).await {
            if e.kind == IncidentEventKind::Created
                && e.incident.primary.namespace.as_deref() == Some(ns)
            {
                grew |= ids.insert(e.incident.id.clone());
            }
        }
        if !grew && ids.len() >= at_least.max(1) {
            return ids;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "storm never settled: {ids:?}"
        );
    }
}

#[tokio::test]
async fn a_storm_of_unrelated_crashes_is_one_incident_per_deployment_even_across_a_restart() {
    let t = storm_sim().await;
    let cluster = unique("storm");
    let mut config = bot_config(&t.ns.name, &cluster);
    config.correlation.settle = Duration::from_secs(2);
    let mut first = Bot::start(config.clone()).await;
    for i in 0..DEPLOYMENTS {
        let (container, annotations) = match i % 3 {
            0 => (json!({}), json!({"sim.lookout.dev/memory-need": "300Mi"})),
            1 => (
                json!({}),
                json!({"sim.lookout.dev/run-error": format!("exec: \"svc{i}\": executable file not found in $PATH")}),
            ),
            _ => (
                json!({"image": format!("registry-{i}.invalid/shop/svc:{i}")}),
                json!({}),
            ),
        };
        t.create::<Deployment>(deployment(
            &format!("svc-{i}"),
            REPLICAS,
            small(container),
            annotations,
        ))
        .await;
    }
    // Restart the bot while the storm is still building up.
    let mut early = first.quiet_for(Duration::from_secs(4)).await;
    first.stop().await;
    let mut second = Bot::start(config).await;
    let ids: BTreeSet<String> = early
        .drain(..)
        .filter(|e| {
            e.kind == IncidentEventKind::Created
                && e.incident.primary.namespace.as_deref() == Some(t.ns.name.as_str())
        })
        .map(|e| e.incident.id.clone())
        .collect();
    let ids = settled_incidents(
        &mut second,
        &t.ns.name,
        Duration::from_secs(6),
        ids,
        DEPLOYMENTS,
    )
    .await;

    assert_eq!(ids.len(), DEPLOYMENTS, "{ids:#?}");
    let open: BTreeSet<String> = second
        .store
        .list("open-incidents")
        .await
        .unwrap()
        .into_iter()
        .collect();
    // Other tests' stale nodes may have incidents of their own in this bot's store.
    assert!(open.is_superset(&ids), "every announced incident is open");
    let mut owners = BTreeSet::new();
    for id in &ids {
        let incident: lookout::incident::Incident =
            lookout::store::StoreExt::get_json(second.store.as_ref(), "incidents", id)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(
            incident.workloads().len(),
            1,
            "{}: {:?}",
            incident.id,
            incident.workloads()
        );
        owners.insert(incident.primary.name.clone());
    }
    assert_eq!(owners.len(), DEPLOYMENTS, "one incident per Deployment");
    second.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn a_storm_on_one_missing_secret_is_one_incident() {
    let t = storm_sim().await;
    let mut config = bot_config(&t.ns.name, &unique("storm"));
    config.correlation.settle = Duration::from_secs(2);
    let mut bot = Bot::start(config).await;
    for i in 0..DEPLOYMENTS {
        let env = json!({"env": [{"name": "DB_URL",
            "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "url"}}}]});
        t.create::<Deployment>(deployment(
            &format!("svc-{i}"),
            REPLICAS,
            small(env),
            json!({}),
        ))
        .await;
    }
    let ids = settled_incidents(
        &mut bot,
        &t.ns.name,
        Duration::from_secs(6),
        BTreeSet::new(),
        1,
    )
    .await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids.into_iter().next().unwrap();
    // Pods keep arriving: every Deployment joins the one incident as its pods fail.
    let store = bot.store.clone();
    let incident = crate::support::eventually(
        Duration::from_secs(120),
        "all 30 Deployments in the incident",
        || async {
            let i: lookout::incident::Incident =
                lookout::store::StoreExt::get_json(store.as_ref(), "incidents", &id)
                    .await
                    .ok()??;
            (i.workloads().len() == DEPLOYMENTS).then_some(i)
        },
    )
    .await;
    let later: Vec<_> = bot
        .quiet_for(Duration::from_secs(2))
        .await
        .into_iter()
        .filter(|e| {
            e.kind == IncidentEventKind::Created
                && e.incident.primary.namespace.as_deref() == Some(t.ns.name.as_str())
        })
        .map(|e| e.incident.id.clone())
        .collect();
    assert!(later.is_empty(), "more incidents: {later:?}");
    assert!(
        incident.title.contains("missing Secret"),
        "{}",
        incident.title
    );
    assert!(incident.title.contains("db-creds"), "{}", incident.title);
    bot.stop().await;
    t.stop().await;
}
