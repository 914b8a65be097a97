//! Every signal class the 1.20 test cluster can express, injected for real (the simulated
//! kubelet and scheduler, the real controllers of kube-controller-manager) and found by
//! `lookout scan`: exactly the injected faults, with the right object, root owner, reason and
//! Kubernetes' own message, nothing on the healthy workloads next to them, and nothing once the
//! fix arrives through the API. Where a finding cannot show it (a shared cause, a node's pod
//! count), the whole bot runs in-process and the incident's signal is checked instead.
//!
//! Each test has its own namespace and nodes, so they run in parallel with the rest of the
//! suite. Node signals are cluster-wide: a test only counts the nodes of its own sim.

mod containers;
mod controllers;
mod nodes;
mod pods;
mod scope;
mod storage;

use std::collections::BTreeMap;
use std::time::Duration;

use lookout::config::Config;
use lookout::detect::{DetectConfig, Signal, SignalName};
use lookout::incident::Incident;
use lookout::scan::Finding;
use tokio::sync::broadcast::error::RecvError;

use crate::pipeline::{Bot, bot_config};
use crate::sim::{SimTest, WAIT};
use crate::support::{admin_client, env, unique};

/// Grace periods short enough for a test, long enough that a healthy pod starting up (the sim
/// takes milliseconds) is never caught in between.
pub fn fast_detection() -> DetectConfig {
    let s = Duration::from_secs;
    DetectConfig {
        not_ready_grace: s(1),
        unschedulable_grace: s(1),
        mount_failed_grace: s(1),
        replicas_unavailable_grace: s(1),
        rollout_grace: s(1),
        node_not_ready_grace: Duration::ZERO,
        pvc_pending_grace: s(1),
        hpa_grace: s(1),
        ..DetectConfig::default()
    }
}

/// What `lookout scan` is given: the test cluster, the test's namespace, fast detection.
pub fn scan_config(namespace: &str) -> Config {
    let mut c = Config::default();
    c.kubernetes.kubeconfig = Some(env().kubeconfig());
    c.scope.include_namespaces = vec![namespace.to_string()];
    c.detection = fast_detection();
    c
}

/// `lookout scan` of one test's world: its namespace and its own nodes.
pub struct Scanner<'a> {
    pub t: &'a SimTest,
    pub config: Config,
    client: kube::Client,
}

impl<'a> Scanner<'a> {
    pub async fn new(t: &'a SimTest) -> Self {
        Self::with_config(t, scan_config(&t.ns.name)).await
    }

    pub async fn with_config(t: &'a SimTest, config: Config) -> Self {
        Self {
            t,
            config,
            client: admin_client().await,
        }
    }

    /// One scan, keeping the findings about this test's namespace (the config's scope) and
    /// its own nodes (other tests' nodes come and go, NotReady at times, on the same cluster).
    pub async fn findings(&self) -> Vec<Finding> {
        let ns = self.t.ns.name.as_str();
        lookout::scan::scan(self.client.clone(), &self.config, None)
            .await
            .expect("scan")
            .into_iter()
            .filter(|f| match f.namespace.as_deref() {
                Some(n) => n == ns,
                None => f.kind == "Node" && self.t.nodes.contains(&f.name),
            })
            .collect()
    }

    /// Scans until the findings are exactly `expected` (see [`key`]; one entry per finding),
    /// then returns them. An entry ending in ` (one or more)` stands for any number of
    /// findings with that key but at least one. On timeout, fails with the last findings and
    /// the namespace's pods and events.
    pub async fn until_exactly(&self, what: &str, expected: &[&str]) -> Findings {
        self.until_exactly_where(what, expected, |_| true).await
    }

    /// [`Self::until_exactly`], and until `settled` accepts the findings too: a crash-looping
    /// container is found both while it waits in back-off and in its short runs in between,
    /// so a test that checks the back-off message waits for a scan that caught one.
    pub async fn until_exactly_where(
        &self,
        what: &str,
        expected: &[&str],
        settled: impl Fn(&[Finding]) -> bool,
    ) -> Findings {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.findings().await;
            let keys: Vec<String> = found.iter().map(key).collect();
            if matches(&keys, expected) && settled(&found) {
                return Findings(found);
            }
            if tokio::time::Instant::now() > deadline {
                let mut keys = keys;
                keys.sort();
                panic!(
                    "timed out after {WAIT:?} waiting for {what}\nwanted: {expected:#?}\n\
                     found: {keys:#?}\n{found:#?}\n{}",
                    self.t.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

const ONE_OR_MORE: &str = " (one or more)";

/// Whether `keys` are exactly `expected` (see [`Scanner::until_exactly`]).
fn matches(keys: &[String], expected: &[&str]) -> bool {
    let mut wanted: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for e in expected {
        let (k, many) = match e.strip_suffix(ONE_OR_MORE) {
            Some(k) => (k, true),
            None => (*e, false),
        };
        let entry = wanted.entry(k).or_default();
        entry.0 += 1;
        entry.1 |= many;
    }
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    for k in keys {
        *found.entry(k.as_str()).or_default() += 1;
    }
    found.len() == wanted.len()
        && wanted.iter().all(|(k, (n, many))| {
            let got = found.get(k).copied().unwrap_or(0);
            if *many { got >= 1 } else { got == *n }
        })
}

/// A finding as the tests name it: `signal Kind/name <- OwnerKind/owner`. The generated names
/// of pods, ReplicaSets and a CronJob's Jobs (a hash, a suffix, an ordinal) are written
/// `<owner>-*`; a name that does not start with its owner's shows as itself and fails the
/// comparison.
pub fn key(f: &Finding) -> String {
    let generated = ["Pod", "ReplicaSet", "Job"].contains(&f.kind.as_str())
        && f.kind != f.owner_kind
        && f.name.starts_with(&format!("{}-", f.owner_name));
    let name = if generated {
        format!("{}-*", f.owner_name)
    } else {
        f.name.clone()
    };
    format!(
        "{} {}/{} <- {}/{}",
        f.signal, f.kind, name, f.owner_kind, f.owner_name
    )
}

/// The findings of one scan, looked up by [`key`].
#[derive(Debug)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// Every finding with this key.
    pub fn all(&self, k: &str) -> Vec<&Finding> {
        self.0.iter().filter(|f| key(f) == k).collect()
    }

    /// The one finding with this key.
    pub fn one(&self, k: &str) -> &Finding {
        match self.all(k).as_slice() {
            [f] => f,
            other => panic!("expected one finding {k}, found {other:#?}"),
        }
    }

    /// Asserts reason and message (exact) of the one finding with this key.
    pub fn says(&self, k: &str, reason: &str, message: &str) -> &Finding {
        let f = self.one(k);
        assert_eq!(
            (f.reason.as_str(), f.message.as_str()),
            (reason, message),
            "{f:#?}"
        );
        f
    }
}

/// The whole bot in-process, watching one test's namespace with fast detection, and the
/// latest version of every incident it announced: for what a finding does not show (a
/// signal's cause, its evidence counts).
pub struct Watcher {
    bot: Bot,
    incidents: BTreeMap<String, std::sync::Arc<Incident>>,
}

impl Watcher {
    pub async fn start(t: &SimTest) -> Self {
        let mut config = bot_config(&t.ns.name, &unique("signals"));
        config.detection = fast_detection();
        Self {
            bot: Bot::start(config).await,
            incidents: BTreeMap::new(),
        }
    }

    /// Waits until an open incident carries an active signal that `pick` accepts.
    pub async fn signal(&mut self, what: &str, pick: impl Fn(&Signal) -> bool) -> Signal {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self
                .incidents
                .values()
                .flat_map(|i| i.active_signals())
                .find(|s| pick(s));
            if let Some(s) = found {
                return s.clone();
            }
            match tokio::time::timeout_at(deadline, self.bot.events.recv()).await {
                Ok(Ok(e)) => {
                    self.incidents.insert(e.incident.id.clone(), e.incident);
                }
                Ok(Err(RecvError::Lagged(_))) => {}
                Ok(Err(e)) => panic!("bus closed waiting for {what}: {e}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; incidents: {:#?}",
                    self.incidents
                ),
            }
        }
    }

    pub async fn stop(self) {
        self.bot.stop().await;
    }
}

/// Whether `s` is `name` about an object of `kind` whose name starts with `prefix`.
pub fn is(s: &Signal, name: SignalName, kind: &str, prefix: &str) -> bool {
    s.name == name && s.object.kind == kind && s.object.name.starts_with(prefix)
}

/// Sets `value` at the JSON pointer `path` of `object`, creating objects on the way (for
/// adding a node selector or a probe to the builders' output).
pub fn set(
    mut object: serde_json::Value,
    path: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    let mut at = &mut object;
    for part in path.trim_start_matches('/').split('/') {
        if at.get(part).is_none_or(|v| v.is_null()) {
            at[part] = serde_json::json!({});
        }
        at = &mut at[part];
    }
    *at = value;
    object
}

/// Template annotations as a map, for readability at call sites.
pub fn annotations(pairs: &[(&str, &str)]) -> serde_json::Value {
    let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    serde_json::json!(map)
}
