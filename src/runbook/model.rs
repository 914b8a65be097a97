//! The runbook file format.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::correlate::Severity;
use crate::detect::SignalName;

/// One runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Unique name (a file in a configured directory replaces a shipped runbook of this name).
    pub name: String,
    /// What it does, for people (shown with its proposals and by `runbooks <name>`).
    pub description: String,
    pub trigger: Trigger,
    /// Ordered steps, each proposed for approval in turn. Empty: observe and explain only.
    #[serde(default)]
    pub steps: Vec<StepTemplate>,
    /// Posted in the incident's thread when the runbook matches (a handlebars template over
    /// the incident, like step parameters). Required when there are no steps.
    #[serde(default)]
    pub explain: Option<String>,
}

/// When a runbook applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Any of these signals (the first tier of matching). Empty: a generic runbook, matched
    /// by severity and kind only when no signal-specific one matches.
    #[serde(default)]
    pub signals: Vec<SignalName>,
    /// The incident is at least this severe.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// The root owner is one of these kinds (`Deployment`, `Node`, `Job`,
    /// `HorizontalPodAutoscaler` target kinds...).
    pub kinds: Vec<String>,
    /// Which namespaces; patterns may end in `*`.
    #[serde(default)]
    pub namespaces: NamespaceSelector,
    /// Further conditions; all must hold.
    #[serde(default)]
    pub conditions: Conditions,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSelector {
    /// Only these (empty: all).
    #[serde(default)]
    pub include: Vec<String>,
    /// Never these.
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The workload's newest revision rolled out within this long (the failure follows a
    /// rollout, so rolling back is the fix).
    #[serde(
        default,
        with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub rolled_out_within: Option<Duration>,
    /// The workload has not been rolled out within this long (a failure of a stable version).
    #[serde(
        default,
        with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_rolled_out_within: Option<Duration>,
    /// The triggering signal's count (restarts, failures) is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
}

/// A step: an action and its parameters (string values are handlebars templates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTemplate {
    /// A registered action (`deployment.adjust_resources`).
    pub action: String,
    /// Its parameters; strings are templates over the incident.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Why this step, for the approval message (a template too).
    pub why: String,
}

impl Runbook {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "name `{}` must be lowercase letters, digits and `-`",
                self.name
            ));
        }
        if self.trigger.kinds.is_empty() {
            return Err("trigger.kinds: name at least one kind".into());
        }
        if self.steps.is_empty() && self.explain.as_deref().is_none_or(str::is_empty) {
            return Err("a runbook without steps must `explain`".into());
        }
        if let (Some(a), Some(b)) = (
            self.trigger.conditions.rolled_out_within,
            self.trigger.conditions.not_rolled_out_within,
        ) && a > b
        {
            return Err(
                "trigger.conditions: rolled_out_within and not_rolled_out_within cannot both hold"
                    .into(),
            );
        }
        Ok(())
    }

    /// How specific the trigger is (more specific runbooks are tried first within a tier).
    pub fn specificity(&self) -> usize {
        let c = &self.trigger.conditions;
        [
            c.rolled_out_within.is_some(),
            c.not_rolled_out_within.is_some(),
            c.min_count.is_some(),
            self.trigger.min_severity.is_some(),
            !self.trigger.namespaces.include.is_empty(),
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }
}

mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::config::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                humantime::parse_duration(&t)
                    .map_err(|e| serde::de::Error::custom(format!("`{t}` is not a duration ({e})")))
            })
            .transpose()
    }
}
