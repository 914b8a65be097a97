//! Routing: which channels see an incident. Rules are tried in order and the first that
//! matches decides; a rule may list several targets on several platforms. A rule without a
//! `match` matches everything (the default). When an incident's severity rises into a rule it
//! did not match before, its card is posted there too (the notifier remembers where it posted).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::correlate::Severity;
use crate::detect::SignalName;
use crate::incident::Incident;

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// What the incident must look like; omitted: everything.
    #[serde(default, rename = "match")]
    pub matches: RouteMatch,
    /// Where its card goes: `slack:#channel`, `discord:<channel id>`, `telegram:<chat id>`,
    /// `console`.
    pub to: Vec<Target>,
}

/// Conditions of a rule; all given ones must hold; an empty list holds for anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteMatch {
    /// The bot's cluster name must be one of these.
    pub clusters: Vec<String>,
    /// One of the incident's namespaces must be one of these (`team-*` matches a prefix).
    pub namespaces: Vec<String>,
    /// The incident must be at least this severe.
    pub min_severity: Option<Severity>,
    /// One of the incident's signals must be one of these.
    pub signals: Vec<SignalName>,
}

/// A channel on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub platform: String,
    pub channel: String,
}

impl Target {
    /// `platform:channel`, for keys.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.channel)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "console" {
            return Ok(Self {
                platform: "console".into(),
                channel: "console".into(),
            });
        }
        let (platform, channel) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not `platform:channel` (e.g. slack:#alerts)"))?;
        let known = ["slack", "discord", "telegram", "console"];
        if !known.contains(&platform) {
            return Err(format!("`{platform}` is not one of {}", known.join(", ")));
        }
        if channel.is_empty() {
            return Err(format!("`{s}` names no channel"));
        }
        Ok(Self {
            platform: platform.into(),
            channel: channel.into(),
        })
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl RouteMatch {
    fn holds(&self, cluster: &str, incident: &Incident) -> bool {
        if !self.clusters.is_empty() && !self.clusters.iter().any(|c| c == cluster) {
            return false;
        }
        if let Some(min) = self.min_severity
            && incident.severity < min
        {
            return false;
        }
        if !self.namespaces.is_empty() {
            let namespaces = incident.namespaces();
            let hit = self.namespaces.iter().any(|pattern| {
                namespaces.iter().any(|ns| match pattern.strip_suffix('*') {
                    Some(prefix) => ns.starts_with(prefix),
                    None => ns == pattern,
                })
            });
            if !hit {
                return false;
            }
        }
        if !self.signals.is_empty() {
            let hit = incident
                .signals
                .values()
                .any(|e| self.signals.contains(&e.signal.name));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// The targets of an incident: those of the first rule that matches.
pub fn targets(rules: &[RouteRule], cluster: &str, incident: &Incident) -> Vec<Target> {
    rules
        .iter()
        .find(|r| r.matches.holds(cluster, incident))
        .map(|r| r.to.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
