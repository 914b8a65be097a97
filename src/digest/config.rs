//! The `digests:` section: a list of schedules, each with its channels, time zone, whether a
//! firing missed while the bot was down is sent on start, and whether the model writes a
//! summary paragraph. Validated at start with field-named errors.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::chat::routing::Target;

/// One scheduled digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// Names the digest in logs and its Redis keys. Unset: derived from the schedule, time zone
    /// and targets (so changing those starts a new history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When, as a cron expression: five fields `min hour day-of-month month day-of-week`
    /// (`0 9 * * Mon-Fri`), or six or seven with seconds first and an optional year.
    #[serde(alias = "cron")]
    pub schedule: String,
    /// Where it is posted: route targets as in `routing` (`slack:#k8s-alerts`, `console`).
    pub to: Vec<Target>,
    /// The time zone the schedule is read in (IANA name, e.g. `Europe/Berlin`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// A firing missed while the bot was down is sent once when it starts (only the latest
    /// one, covering the whole time since the last digest).
    #[serde(default = "yes")]
    pub include_missed: bool,
    /// A one-paragraph summary written by the language model on top (needs `llm`; the
    /// figures themselves are always computed, and redacted before the model sees them).
    #[serde(default)]
    pub llm_summary: bool,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

/// A digest's schedule, parsed.
#[derive(Debug, Clone)]
pub struct DigestSchedule {
    pub key: String,
    pub cron: cron::Schedule,
    pub tz: Tz,
}

impl DigestConfig {
    /// Field-named problems, `field` relative to this entry (`schedule`, `timezone`, `to`...).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Err(e) = parse_cron(&self.schedule) {
            out.push(("schedule".into(), e));
        }
        if let Err(e) = Tz::from_str(&self.timezone) {
            out.push((
                "timezone".into(),
                format!("`{}` is not an IANA time zone ({e})", self.timezone),
            ));
        }
        if self.to.is_empty() {
            out.push(("to".into(), "names no target".into()));
        }
        if let Some(n) = &self.name
            && (n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            out.push((
                "name".into(),
                format!("`{n}` must be letters, digits, `-` or `_`"),
            ));
        }
        out
    }

    /// The parsed schedule (after [`DigestConfig::validate`] passed).
    pub fn parsed(&self) -> Result<DigestSchedule, String> {
        Ok(DigestSchedule {
            key: self.key(),
            cron: parse_cron(&self.schedule)?,
            tz: Tz::from_str(&self.timezone).map_err(|e| e.to_string())?,
        })
    }

    /// The name, or a stable one derived from what the digest is.
    pub fn key(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let targets: Vec<String> = self.to.iter().map(Target::key).collect();
        let h = Sha256::digest(
            format!("{}|{}|{}", self.schedule, self.timezone, targets.join(",")).as_bytes(),
        );
        hex::encode(&h[..6])
    }
}

impl DigestSchedule {
    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&t.with_timezone(&self.tz))
            .next()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest firing at or before `t`.
    pub fn latest_until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.cron.includes(t.with_timezone(&self.tz)) {
            return Some(t);
        }
        self.cron
            .after(&t.with_timezone(&self.tz))
            .next_back()
            .map(|d| d.with_timezone(&Utc))
    }
}

/// The cron crate wants seconds first; the classic five fields get `0` seconds.
fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {}", text.trim()),
        6 | 7 => text.trim().to_string(),
        _ => {
            return Err(format!(
                "`{text}` has {fields} fields; use five (`0 9 * * Mon-Fri`) or six/seven with seconds first"
            ));
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("`{text}` is not a cron expression: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(yaml: &str) -> DigestConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn schedules_fire_in_their_time_zone() {
        let d = digest("{ schedule: '0 9 * * Mon-Fri', timezone: Europe/Berlin, to: [console] }");
        assert!(d.validate().is_empty(), "{:?}", d.validate());
        let s = d.parsed().unwrap();
        // Friday 2026-06-05 10:00 UTC is 12:00 in Berlin: the next is Monday 09:00 CEST.
        let t = DateTime::parse_from_rfc3339("2026-06-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s.next_after(t).unwrap().to_rfc3339(),
            "2026-06-08T07:00:00+00:00"
        );
        assert_eq!(
            s.latest_until(t).unwrap().to_rfc3339(),
            "2026-06-05T07:00:00+00:00"
        );
        let at = DateTime::parse_from_rfc3339("2026-06-05T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s.latest_until(at),
            Some(at),
            "a firing instant is its own latest"
        );
        assert!(d.include_missed && !d.llm_summary);
        assert_eq!(d.key().len(), 12);
    }

    #[test]
    fn problems_name_their_field() {
        let d = digest("{ cron: 'every morning', timezone: Mars/Olympus, to: [] }");
        let fields: Vec<String> = d.validate().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["schedule", "timezone", "to"]);
        let e: Result<DigestConfig, _> =
            serde_yaml_ng::from_str("{ schedule: '0 9 * * *', to: [console], color: red }");
        assert!(e.unwrap_err().to_string().contains("color"));
        let six = digest("{ schedule: '0 30 8 * * *', to: [console] }");
        assert!(six.validate().is_empty());
    }
}
