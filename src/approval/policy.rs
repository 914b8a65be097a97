//! Who may decide what: roles made of platform identities, and per risk level the roles that
//! may approve and how many distinct people must. Pure; the click handler asks it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::actions::Risk;
use crate::chat::ChatUser;

/// The `approvals:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// A proposal not decided within this long expires (its message says so, and the loop is
    /// told).
    #[serde(with = "crate::config::duration")]
    pub expires_after: Duration,
    /// Roles by name; each lists members per platform: user ids (`U0123ABCD`, a Discord or
    /// Telegram user id, the console user) or groups (`role:<id>` for Discord roles,
    /// `group:<id>` for groups a platform reports).
    pub roles: BTreeMap<String, RoleMembers>,
    /// Per risk level, which roles may approve and how many distinct approvers are needed.
    pub policy: Policy,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            expires_after: Duration::from_secs(15 * 60),
            roles: BTreeMap::new(),
            policy: Policy::default(),
        }
    }
}

/// Members of a role on each platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleMembers {
    pub slack: Vec<Member>,
    pub discord: Vec<Member>,
    pub telegram: Vec<Member>,
    pub console: Vec<Member>,
}

/// A user id or group, as text or (Telegram ids) a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Member {
    Text(String),
    Number(i64),
}

impl Member {
    fn as_string(&self) -> String {
        match self {
            Member::Text(s) => s.clone(),
            Member::Number(n) => n.to_string(),
        }
    }
}

/// Who may approve per risk level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub low: Rule,
    pub medium: Rule,
    pub high: Rule,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            low: Rule::Roles(vec!["operator".into(), "admin".into()]),
            medium: Rule::Roles(vec!["operator".into(), "admin".into()]),
            high: Rule::Quorum {
                any_of: vec!["admin".into()],
                approvers: 1,
            },
        }
    }
}

/// `[operator, admin]`, or `{ any_of: [admin], approvers: 2 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    Roles(Vec<String>),
    Quorum { any_of: Vec<String>, approvers: u32 },
}

impl Rule {
    pub fn roles(&self) -> &[String] {
        match self {
            Rule::Roles(r) => r,
            Rule::Quorum { any_of, .. } => any_of,
        }
    }

    /// Distinct approvers needed (at least one).
    pub fn approvers(&self) -> usize {
        match self {
            Rule::Roles(_) => 1,
            Rule::Quorum { approvers, .. } => (*approvers).max(1) as usize,
        }
    }
}

/// Why someone may not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you are not in a role allowed to approve {risk}-risk actions ({roles})")]
    NotAllowed { risk: &'static str, roles: String },
}

impl ApprovalsConfig {
    pub fn rule(&self, risk: Risk) -> &Rule {
        match risk {
            Risk::Low => &self.policy.low,
            Risk::Medium => &self.policy.medium,
            Risk::High => &self.policy.high,
        }
    }

    /// The roles `user` holds.
    pub fn roles_of(&self, user: &ChatUser) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(_, members)| {
                let list = match user.platform.as_str() {
                    "slack" => &members.slack,
                    "discord" => &members.discord,
                    "telegram" => &members.telegram,
                    "console" => &members.console,
                    _ => return false,
                };
                list.iter().map(Member::as_string).any(|m| {
                    m == user.id
                        || user
                            .groups
                            .iter()
                            .any(|g| m == format!("role:{g}") || m == format!("group:{g}"))
                })
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether `user` holds `role`.
    pub fn has_role(&self, user: &ChatUser, role: &str) -> bool {
        self.roles_of(user).contains(&role)
    }

    /// Whether `user` may decide an action of this risk (approve or reject).
    pub fn authorize(&self, user: &ChatUser, risk: Risk) -> Result<(), Refusal> {
        let rule = self.rule(risk);
        let held = self.roles_of(user);
        if rule.roles().iter().any(|r| held.contains(&r.as_str())) {
            Ok(())
        } else {
            Err(Refusal::NotAllowed {
                risk: risk.as_str(),
                roles: rule.roles().join(", "),
            })
        }
    }

    /// "operator or admin" / "2 of admin", for approval messages.
    pub fn who_may_approve(&self, risk: Risk) -> String {
        let rule = self.rule(risk);
        let roles = rule.roles().join(" or ");
        match rule.approvers() {
            1 => roles,
            n => format!("{n} distinct people with {roles}"),
        }
    }

    /// Field-named problems.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.expires_after.is_zero() {
            out.push((
                "approvals.expires_after".into(),
                "must be longer than zero".into(),
            ));
        }
        for (level, rule) in [
            ("low", &self.policy.low),
            ("medium", &self.policy.medium),
            ("high", &self.policy.high),
        ] {
            for r in rule.roles() {
                if !self.roles.contains_key(r) && !self.roles.is_empty() {
                    out.push((
                        format!("approvals.policy.{level}"),
                        format!("role `{r}` is not defined in approvals.roles"),
                    ));
                }
            }
            if let Rule::Quorum { approvers: 0, .. } = rule {
                out.push((
                    format!("approvals.policy.{level}.approvers"),
                    "must be at least 1".into(),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ApprovalsConfig {
        serde_yaml_ng::from_str(
            r#"
expires_after: 15m
roles:
  operator: { slack: [U0123ABCD], discord: ["role:SRE"], telegram: [111111111], console: [operator] }
  admin: { slack: [U0456EFGH, U0789IJKL] }
policy:
  low: [operator, admin]
  medium: [operator, admin]
  high: { any_of: [admin], approvers: 2 }
"#,
        )
        .expect("config parses")
    }

    fn user(platform: &str, id: &str, groups: &[&str]) -> ChatUser {
        ChatUser {
            platform: platform.into(),
            id: id.into(),
            name: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn roles_come_from_ids_and_groups_per_platform() {
        let c = config();
        assert_eq!(c.roles_of(&user("slack", "U0123ABCD", &[])), ["operator"]);
        assert_eq!(c.roles_of(&user("discord", "42", &["SRE"])), ["operator"]);
        assert_eq!(
            c.roles_of(&user("telegram", "111111111", &[])),
            ["operator"]
        );
        assert!(c.roles_of(&user("telegram", "222", &[])).is_empty());
        // The same id on another platform is someone else.
        assert!(c.roles_of(&user("discord", "U0123ABCD", &[])).is_empty());
        assert_eq!(c.roles_of(&user("slack", "U0456EFGH", &[])), ["admin"]);
    }

    #[test]
    fn risk_levels_decide_who_and_how_many() {
        let c = config();
        let operator = user("slack", "U0123ABCD", &[]);
        let admin = user("slack", "U0456EFGH", &[]);
        assert!(c.authorize(&operator, Risk::Low).is_ok());
        assert!(c.authorize(&operator, Risk::Medium).is_ok());
        let refusal = c.authorize(&operator, Risk::High).unwrap_err();
        assert!(refusal.to_string().contains("high-risk"), "{refusal}");
        assert!(c.authorize(&admin, Risk::High).is_ok());
        assert_eq!(c.rule(Risk::High).approvers(), 2);
        assert_eq!(c.rule(Risk::Low).approvers(), 1);
        assert_eq!(
            c.who_may_approve(Risk::High),
            "2 distinct people with admin"
        );
        assert_eq!(c.who_may_approve(Risk::Low), "operator or admin");
        let stranger = user("slack", "U999", &[]);
        assert!(c.authorize(&stranger, Risk::Low).is_err());
    }

    #[test]
    fn undefined_roles_are_reported() {
        let mut c = config();
        c.policy.low = Rule::Roles(vec!["oncall".into()]);
        let problems = c.validate();
        assert_eq!(problems[0].0, "approvals.policy.low");
        assert!(problems[0].1.contains("oncall"));
    }

    #[test]
    fn with_no_roles_nobody_may_approve() {
        let c = ApprovalsConfig::default();
        assert!(c.authorize(&user("slack", "U1", &[]), Risk::Low).is_err());
        assert!(c.validate().is_empty());
    }
}
