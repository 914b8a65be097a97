//! What a sim is told: its nodes, the namespaces it runs, the images that "do not exist" and how
//! fast time goes. Real-kubelet timings are the defaults; tests use [`SimTiming::fast`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::images::ImageRules;
use super::quantity;
use super::{Result, SimError};

/// Everything a [`super::Sim`] needs besides a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// The fake nodes to register (each gets a kubelet, a heartbeat and a log endpoint).
    pub nodes: Vec<NodeConfig>,
    /// Namespaces whose pods this sim schedules and runs. Two sims must not share one.
    pub namespaces: NamespaceScope,
    /// Images that "do not exist". A rule is an exact image (`nginx:1.99`, also matched against
    /// the normalised `docker.io/library/nginx:1.99`), a prefix ending in `/` or `*`
    /// (`ghcr.io/acme/`), or a bare registry host without `/` (`registry.invalid`).
    pub missing_images: Vec<String>,
    /// Memory a container is taken to use when it declares no `sim.lookout.dev/memory-need`;
    /// shows in eviction messages.
    pub default_memory_usage: String,
    /// Delete the nodes (and force-delete the pods bound to them) when the sim stops. Tests
    /// want this; a long-running demo cluster may prefer to keep its nodes.
    pub delete_nodes_on_stop: bool,
    /// How fast the simulated world moves.
    pub timing: SimTiming,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            nodes: NodeConfig::numbered("sim-node", 3),
            namespaces: NamespaceScope::default(),
            missing_images: vec!["registry.invalid".into()],
            default_memory_usage: "32Mi".into(),
            delete_nodes_on_stop: false,
            timing: SimTiming::default(),
        }
    }
}

impl SimConfig {
    /// A sim for one namespace with `nodes` nodes named `<prefix>-1..n`, fast timing and node
    /// cleanup on stop: the shape every integration test wants.
    pub fn for_test(namespace: &str, prefix: &str, nodes: usize) -> Self {
        Self {
            nodes: NodeConfig::numbered(prefix, nodes),
            namespaces: NamespaceScope::Only(vec![namespace.to_string()]),
            delete_nodes_on_stop: true,
            timing: SimTiming::fast(),
            ..Self::default()
        }
    }

    /// Checks what serde cannot: quantities parse, names are usable, timings are non-zero.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(SimError::Config(m));
        if self.nodes.is_empty() {
            return bad("nodes: at least one node is needed".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.name.is_empty() || n.name.len() > 253 || !n.name.bytes().all(dns_char) {
                return bad(format!("nodes[{i}].name: {:?} is not a DNS name", n.name));
            }
            if !seen.insert(&n.name) {
                return bad(format!("nodes[{i}].name: {} appears twice", n.name));
            }
            if quantity::parse_cpu_millis(&n.cpu).is_none() {
                return bad(format!("nodes[{i}].cpu: {:?} is not a quantity", n.cpu));
            }
            if quantity::parse_bytes(&n.memory).is_none() {
                return bad(format!(
                    "nodes[{i}].memory: {:?} is not a quantity",
                    n.memory
                ));
            }
        }
        if let NamespaceScope::Only(list) = &self.namespaces
            && list.is_empty()
        {
            return bad("namespaces.only: name at least one namespace".into());
        }
        if quantity::parse_bytes(&self.default_memory_usage).is_none() {
            return bad(format!(
                "default_memory_usage: {:?} is not a quantity",
                self.default_memory_usage
            ));
        }
        self.timing.validate()
    }

    pub(crate) fn image_rules(&self) -> ImageRules {
        ImageRules::new(&self.missing_images)
    }
}

fn dns_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// One fake node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The Node's name (also its `kubernetes.io/hostname` label).
    pub name: String,
    /// CPU capacity and allocatable, as a Kubernetes quantity.
    #[serde(default = "default_cpu")]
    pub cpu: String,
    /// Memory capacity and allocatable, as a Kubernetes quantity.
    #[serde(default = "default_memory")]
    pub memory: String,
    /// How many pods fit.
    #[serde(default = "default_pods")]
    pub pods: u32,
    /// Extra labels (for nodeSelector tests and demos).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_cpu() -> String {
    "4".into()
}
fn default_memory() -> String {
    "8Gi".into()
}
fn default_pods() -> u32 {
    110
}

impl NodeConfig {
    /// A node with the default size: 4 CPUs, 8Gi, 110 pods.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cpu: default_cpu(),
            memory: default_memory(),
            pods: default_pods(),
            labels: BTreeMap::new(),
        }
    }

    /// `<prefix>-1` .. `<prefix>-n`, default size.
    pub fn numbered(prefix: &str, n: usize) -> Vec<Self> {
        (1..=n)
            .map(|i| Self::new(format!("{prefix}-{i}")))
            .collect()
    }

    pub fn with_cpu(mut self, cpu: &str) -> Self {
        self.cpu = cpu.into();
        self
    }

    pub fn with_memory(mut self, memory: &str) -> Self {
        self.memory = memory.into();
        self
    }

    pub fn with_pods(mut self, pods: u32) -> Self {
        self.pods = pods;
        self
    }

    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// Which namespaces' pods a sim schedules and runs. In YAML: `{only: [a, b]}` or
/// `{all_except: [kube-system]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "ScopeRepr", into = "ScopeRepr")]
pub enum NamespaceScope {
    /// Exactly these namespaces.
    Only(Vec<String>),
    /// Every namespace except these.
    AllExcept(Vec<String>),
}

/// The YAML shape of [`NamespaceScope`]: exactly one of the two keys.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    only: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all_except: Option<Vec<String>>,
}

impl TryFrom<ScopeRepr> for NamespaceScope {
    type Error = String;
    fn try_from(r: ScopeRepr) -> std::result::Result<Self, String> {
        match (r.only, r.all_except) {
            (Some(only), None) => Ok(Self::Only(only)),
            (None, Some(except)) => Ok(Self::AllExcept(except)),
            _ => Err("give exactly one of `only` or `all_except`".into()),
        }
    }
}

impl From<NamespaceScope> for ScopeRepr {
    fn from(s: NamespaceScope) -> Self {
        match s {
            NamespaceScope::Only(l) => Self {
                only: Some(l),
                all_except: None,
            },
            NamespaceScope::AllExcept(l) => Self {
                only: None,
                all_except: Some(l),
            },
        }
    }
}

impl Default for NamespaceScope {
    fn default() -> Self {
        Self::AllExcept(vec![
            "kube-system".into(),
            "kube-public".into(),
            "kube-node-lease".into(),
        ])
    }
}

/// How fast the simulated world moves. Defaults are a real kubelet's; [`SimTiming::fast`]
/// compresses minutes into milliseconds for tests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SimTiming {
    /// How often a node's Ready condition is refreshed.
    #[serde(with = "humantime_str")]
    pub heartbeat: Duration,
    /// The loops look at every pod at least this often, even without a watch event.
    #[serde(with = "humantime_str")]
    pub resync: Duration,
    /// How soon the kubelet looks at a pod again after a failed attempt (a config error, a
    /// failed mount, showing ErrImagePull before ImagePullBackOff).
    #[serde(with = "humantime_str")]
    pub sync: Duration,
    /// How long a bound pod's containers show `ContainerCreating` before they start.
    #[serde(with = "humantime_str")]
    pub start_delay: Duration,
    /// How long a container whose memory need exceeds its limit runs before the OOM killer
    /// strikes; also how long a Job container runs when it declares no `run-for`.
    #[serde(with = "humantime_str")]
    pub crash_after: Duration,
    /// First crash-loop and image-pull back-off; doubles per failure.
    #[serde(with = "humantime_str")]
    pub backoff_base: Duration,
    /// Back-off cap.
    #[serde(with = "humantime_str")]
    pub backoff_max: Duration,
    /// How often a failing readiness probe reports `Unhealthy`.
    #[serde(with = "humantime_str")]
    pub probe_period: Duration,
    /// How soon an unschedulable pod is tried again.
    #[serde(with = "humantime_str")]
    pub schedule_retry: Duration,
    /// Under memory pressure the kubelet evicts one pod per interval.
    #[serde(with = "humantime_str")]
    pub eviction_interval: Duration,
}

impl Default for SimTiming {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(10),
            resync: Duration::from_secs(10),
            sync: Duration::from_secs(2),
            start_delay: Duration::from_secs(1),
            crash_after: Duration::from_secs(5),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            probe_period: Duration::from_secs(10),
            schedule_retry: Duration::from_secs(5),
            eviction_interval: Duration::from_secs(10),
        }
    }
}

impl SimTiming {
    /// Milliseconds instead of seconds: crash loops, back-offs and retries that a test can
    /// watch happen several times within a second or two.
    pub fn fast() -> Self {
        let ms = Duration::from_millis;
        Self {
            heartbeat: ms(500),
            resync: ms(500),
            sync: ms(100),
            start_delay: ms(50),
            crash_after: ms(150),
            backoff_base: ms(200),
            backoff_max: ms(1_600),
            probe_period: ms(200),
            schedule_retry: ms(200),
            eviction_interval: ms(200),
        }
    }

    fn validate(&self) -> Result<()> {
        let fields = [
            ("heartbeat", self.heartbeat),
            ("resync", self.resync),
            ("sync", self.sync),
            ("backoff_base", self.backoff_base),
            ("backoff_max", self.backoff_max),
            ("probe_period", self.probe_period),
            ("schedule_retry", self.schedule_retry),
            ("eviction_interval", self.eviction_interval),
        ];
        for (name, d) in fields {
            if d.is_zero() {
                return Err(SimError::Config(format!(
                    "timing.{name}: must be above zero"
                )));
            }
        }
        if self.backoff_max < self.backoff_base {
            return Err(SimError::Config(
                "timing.backoff_max: must not be below backoff_base".into(),
            ));
        }
        Ok(())
    }
}

/// Durations as humantime strings (`10s`, `200ms`) in YAML.
mod humantime_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_round_trips_through_yaml() {
        let config = SimConfig::default();
        config.validate().unwrap();
        let yaml = serde_yaml_ng::to_string(&config).unwrap();
        let back: SimConfig = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back.nodes, config.nodes);
        assert_eq!(back.timing, config.timing);
    }

    #[test]
    fn yaml_names_namespaces_and_rejects_unknown_keys() {
        let config: SimConfig =
            serde_yaml_ng::from_str("namespaces: {only: [demo]}\ntiming: {sync: 300ms}\n").unwrap();
        assert_eq!(config.namespaces, NamespaceScope::Only(vec!["demo".into()]));
        assert_eq!(config.timing.sync, Duration::from_millis(300));
        assert!(serde_yaml_ng::from_str::<SimConfig>("nodez: []").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut config = SimConfig::for_test("ns", "n", 1);
        config.nodes[0].memory = "lots".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("nodes[0].memory"), "{err}");
        config.nodes[0].memory = "1Gi".into();
        config.timing.backoff_base = Duration::ZERO;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("backoff_base")
        );
    }
}
