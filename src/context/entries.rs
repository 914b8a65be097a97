//! PURE: each section of a [`Context`] as entries (a line or a few lines each) with a rank
//! saying how long it survives trimming. The ranks encode what the model needs most: the
//! first unhealthy pod's failing containers (state, exit code, limits, restarts) and the
//! first log are `Essential` and never dropped; healthy things are `Low` and go first.

use super::model::*;
use super::render::ago;
use super::{Context, SectionKind};

/// How long an entry survives trimming; see `budget::PLAN` for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Low,
    Normal,
    High,
    Essential,
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub text: String,
    pub rank: Rank,
    /// What a dropped entry counts as in the `… (N more pods)` marker.
    pub noun: &'static str,
    /// A log excerpt that can shrink: (index into `Context::logs`, its current budget).
    pub log: Option<(usize, usize)>,
}

impl Entry {
    pub(super) fn new(text: String, rank: Rank, noun: &'static str) -> Self {
        Self {
            text,
            rank,
            noun,
            log: None,
        }
    }
}

/// The entries of one section, in display order.
pub fn entries(ctx: &Context, kind: SectionKind) -> Vec<Entry> {
    match kind {
        SectionKind::Resource => resource(ctx),
        SectionKind::Owners => owners(ctx),
        SectionKind::Pods => super::pod_entries::pods(ctx),
        SectionKind::Events => events(ctx),
        SectionKind::Logs => logs(ctx),
        SectionKind::Rollout => rollout(ctx),
        SectionKind::Nodes => nodes(ctx),
        SectionKind::Unavailable => unavailable(ctx),
    }
}

/// What could not be read, one item per reason: a missing permission usually blocks several
/// reads the same way (`events of Pod a; events of Pod b: forbidden: ...`).
fn unavailable(ctx: &Context) -> Vec<Entry> {
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for u in &ctx.unavailable {
        match groups.iter_mut().find(|g| g.1 == u.why) {
            Some(g) => g.0.push(&u.what),
            None => groups.push((vec![&u.what], &u.why)),
        }
    }
    groups
        .into_iter()
        .map(|(what, why)| Entry::new(format!("{}: {why}", what.join("; ")), Rank::High, "item"))
        .collect()
}

pub(super) fn condition_line(ctx: &Context, c: &ConditionFacts) -> String {
    let mut s = format!("{}={}", c.type_, c.status);
    if !c.reason.is_empty() {
        s += &format!(" {}", c.reason);
    }
    if !c.message.is_empty() {
        s += &format!(": {}", c.message);
    }
    if let Some(t) = c.since {
        s += &format!(" (since {})", ago(ctx.now, t));
    }
    s
}

fn resource(ctx: &Context) -> Vec<Entry> {
    let Some(r) = &ctx.resource else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, (label, value)) in r.facts.iter().enumerate() {
        let rank = if i == 0 { Rank::High } else { Rank::Normal };
        out.push(Entry::new(format!("{label}: {value}"), rank, "fact"));
    }
    let created = r.created.map(|t| ("created".to_string(), t));
    for (label, t) in created.iter().chain(&r.times) {
        out.push(Entry::new(
            format!("{label} {}", ago(ctx.now, *t)),
            Rank::Normal,
            "fact",
        ));
    }
    for c in r.conditions.iter().filter(|c| !c.healthy) {
        out.push(Entry::new(condition_line(ctx, c), Rank::High, "condition"));
    }
    let healthy: Vec<String> = r
        .conditions
        .iter()
        .filter(|c| c.healthy)
        .map(|c| {
            format!("{}={} {}", c.type_, c.status, c.reason)
                .trim_end()
                .to_string()
        })
        .collect();
    if !healthy.is_empty() {
        out.push(Entry::new(
            format!("conditions ok: {}", healthy.join(", ")),
            Rank::Low,
            "condition",
        ));
    }
    out
}

fn owners(ctx: &Context) -> Vec<Entry> {
    if ctx.owners.len() < 2 {
        return Vec::new();
    }
    let chain: Vec<String> = ctx
        .owners
        .iter()
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    vec![Entry::new(chain.join(" -> "), Rank::Normal, "owner")]
}

fn events(ctx: &Context) -> Vec<Entry> {
    let mut warnings = 0;
    ctx.events
        .iter()
        .map(|e| {
            let mut s = match e.last {
                Some(t) => format!("{} ", ago(ctx.now, t)),
                None => String::new(),
            };
            s += &format!(
                "{} {} {}: {}",
                e.type_,
                e.reason,
                objects(&e.objects),
                e.message
            );
            if e.count > 1 {
                s += &format!(" (x{}", e.count);
                if let Some(first) = e.first {
                    s += &format!(" since {}", ago(ctx.now, first));
                }
                s += ")";
            }
            let rank = if e.type_ == "Normal" {
                Rank::Low
            } else {
                warnings += 1;
                if warnings <= 3 {
                    Rank::High
                } else {
                    Rank::Normal
                }
            };
            Entry::new(s, rank, "event")
        })
        .collect()
}

/// `pod/web-1`, or `pod/web-1 +2 more` when merged events span several objects.
fn objects(objects: &[String]) -> String {
    match objects {
        [] => "-".into(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} +{} more", rest.len()),
    }
}

fn logs(ctx: &Context) -> Vec<Entry> {
    ctx.logs
        .iter()
        .enumerate()
        .map(|(i, _)| Entry {
            text: String::new(),
            rank: if i == 0 {
                Rank::Essential
            } else {
                Rank::Normal
            },
            noun: "log",
            log: Some((i, ctx.budget.log_chars)),
        })
        .collect()
}

/// The heading line of a log entry (its excerpt follows).
pub fn log_heading(l: &LogFacts) -> String {
    let which = if l.previous {
        "previous instance"
    } else {
        "current instance"
    };
    format!(
        "pod {} container {}, {which} ({}):",
        l.pod, l.container, l.instance
    )
}

fn rollout(ctx: &Context) -> Vec<Entry> {
    let Some(r) = &ctx.rollout else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let [current, previous, ..] = r.revisions.as_slice() {
        let changes = super::rollout_diff::diff(previous, current);
        let when = current
            .created
            .map(|t| format!(", rolled out {}", ago(ctx.now, t)))
            .unwrap_or_default();
        let what = if changes.is_empty() {
            "no image or resource change".to_string()
        } else {
            changes.join("; ")
        };
        out.push(Entry::new(
            format!(
                "revision {} -> {}{when}: {what}",
                previous.revision, current.revision
            ),
            Rank::High,
            "change",
        ));
    }
    for (i, rev) in r.revisions.iter().enumerate() {
        let mut s = format!("revision {}", rev.revision);
        if i == 0 {
            s += " (current)";
        }
        s += &format!(" {}: {}/{} ready", rev.replicaset, rev.ready, rev.replicas);
        if let Some(t) = rev.created {
            s += &format!(", created {}", ago(ctx.now, t));
        }
        let images: Vec<String> = rev.images.iter().map(|(c, i)| format!("{c}={i}")).collect();
        s += &format!(", images {}", images.join(" "));
        if let Some(cause) = &rev.change_cause {
            s += &format!(", change-cause: {cause}");
        }
        let rank = if i < 2 { Rank::Normal } else { Rank::Low };
        out.push(Entry::new(s, rank, "revision"));
    }
    out
}

fn nodes(ctx: &Context) -> Vec<Entry> {
    ctx.nodes
        .iter()
        .map(|n| {
            if n.healthy && !n.unschedulable {
                return Entry::new(format!("node {}: healthy", n.name), Rank::Low, "node");
            }
            let mut s = format!("node {}:", n.name);
            if n.unschedulable {
                s += " cordoned (unschedulable);";
            }
            for c in n.conditions.iter().filter(|c| !c.healthy) {
                s += &format!("\n  {}", condition_line(ctx, c));
            }
            if !n.taints.is_empty() {
                s += &format!("\n  taints: {}", n.taints.join(", "));
            }
            Entry::new(s, Rank::High, "node")
        })
        .collect()
}
