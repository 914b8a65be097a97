//! PURE: the pods section's entries. The first unhealthy pod is shown in full — its failing
//! containers' state, last state, exit code, limits and restarts are `Essential` — other
//! failing pods in a line when they fail alike, healthy pods in a line each (`Low`).

use super::Context;
use super::entries::{Entry, Rank, condition_line};
use super::model::*;
use super::render::{age, ago, duration_between};

fn state_line(ctx: &Context, s: &StateFacts) -> String {
    match s {
        StateFacts::Running { since } => match since {
            Some(t) => format!("running since {}", ago(ctx.now, *t)),
            None => "running".into(),
        },
        StateFacts::Waiting { reason, message } => {
            let mut line = format!("waiting {reason}");
            if !message.is_empty() {
                line += &format!(": {message}");
            }
            line
        }
        StateFacts::Terminated {
            reason,
            exit_code,
            signal,
            message,
            started,
            finished,
        } => {
            let mut line = format!("terminated {reason} exit {exit_code}");
            if let Some(sig) = signal {
                line += &format!(" signal {sig}");
            }
            if let Some(f) = finished {
                line += &format!(", finished {}", ago(ctx.now, *f));
            }
            if let (Some(s), Some(f)) = (started, finished) {
                line += &format!(" after running {}", duration_between(*s, *f));
            }
            if !message.is_empty() {
                line += &format!(": {message}");
            }
            line
        }
    }
}

/// A container in a few lines: what it runs with, how it is, how it ended last time.
fn container_text(ctx: &Context, c: &ContainerFacts) -> String {
    let kind = if c.init {
        "init container"
    } else {
        "container"
    };
    let mut s = format!("  {kind} {}: image {}", c.name, c.image);
    let resources = c.resources_line();
    if !resources.is_empty() {
        s += &format!("; {resources}");
    }
    s += &format!("; restarts {}; ready {}", c.restarts, c.ready);
    if let Some(state) = &c.state {
        s += &format!("\n    state: {}", state_line(ctx, state));
    }
    if let Some(last) = &c.last_state {
        s += &format!("\n    last state: {}", state_line(ctx, last));
    }
    s
}

fn pod_header(ctx: &Context, p: &PodFacts) -> String {
    let mut s = format!("pod {}: {}", p.name, p.phase);
    if p.deleting {
        s += " (terminating)";
    }
    if !p.reason.is_empty() {
        s += &format!(" {}", p.reason);
    }
    if !p.message.is_empty() {
        s += &format!(": {}", p.message);
    }
    let restarts: i32 = p.containers.iter().map(|c| c.restarts).sum();
    s += &format!(", restarts {restarts}");
    if let Some(n) = &p.node {
        s += &format!(", node {n}");
    }
    if let Some(t) = p.created {
        s += &format!(", age {}", age(ctx.now, t));
    }
    s
}

/// What a failing pod's failure looks like, to spot pods failing alike: per failing
/// container, how it last ended (or why it waits, if it never ended). Not the current state,
/// which flips between running and back-off in a crash loop.
fn failure_signature(p: &PodFacts) -> Vec<String> {
    let reason = |s: &StateFacts| match s {
        StateFacts::Waiting { reason, .. } => reason.clone(),
        StateFacts::Terminated {
            reason, exit_code, ..
        } => format!("{reason} exit {exit_code}"),
        StateFacts::Running { .. } => "running".into(),
    };
    p.containers
        .iter()
        .filter(|c| c.failing)
        .map(|c| {
            let how = c.last_state.as_ref().or(c.state.as_ref()).map(reason);
            format!("{}: {}", c.name, how.unwrap_or_default())
        })
        .collect()
}

pub(super) fn pods(ctx: &Context) -> Vec<Entry> {
    let mut out = Vec::new();
    let first = ctx.pods.iter().find(|p| p.trouble > 0);
    for p in &ctx.pods {
        if p.trouble == 0 {
            out.push(Entry::new(
                format!("{} (healthy)", pod_header(ctx, p)),
                Rank::Low,
                "pod",
            ));
            continue;
        }
        if first.is_some_and(|f| std::ptr::eq(f, p)) {
            out.push(Entry::new(pod_header(ctx, p), Rank::Essential, "pod"));
            if !p.conditions.is_empty() {
                let conditions = merged_conditions(ctx, &p.conditions);
                out.push(Entry::new(
                    format!("  not true: {}", conditions.join("; ")),
                    Rank::Normal,
                    "pod detail",
                ));
            }
            for c in &p.containers {
                let rank = if c.failing {
                    Rank::Essential
                } else {
                    Rank::Low
                };
                out.push(Entry::new(container_text(ctx, c), rank, "container"));
            }
            continue;
        }
        let rank = if p.trouble >= 2 {
            Rank::High
        } else {
            Rank::Normal
        };
        // Pods of one workload usually fail alike: say so instead of repeating it.
        if let Some(f) = first
            && failure_signature(p) == failure_signature(f)
        {
            out.push(Entry::new(
                format!("{}; fails like {}", pod_header(ctx, p), f.name),
                rank,
                "pod",
            ));
            continue;
        }
        let mut text = pod_header(ctx, p);
        for c in p.containers.iter().filter(|c| c.failing) {
            text += "\n";
            text += &container_text(ctx, c);
        }
        out.push(Entry::new(text, rank, "pod"));
    }
    out
}

/// Conditions that say the same thing (`Ready=False` and `ContainersReady=False` with one
/// reason and message) as one item: `Ready=False, ContainersReady=False ContainersNotReady: ...`.
fn merged_conditions(ctx: &Context, conditions: &[ConditionFacts]) -> Vec<String> {
    let mut groups: Vec<(Vec<String>, &ConditionFacts)> = Vec::new();
    for c in conditions {
        let name = format!("{}={}", c.type_, c.status);
        let same = |g: &(Vec<String>, &ConditionFacts)| {
            g.1.reason == c.reason && g.1.message == c.message && g.1.since == c.since
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.0.push(name),
            None => groups.push((vec![name], c)),
        }
    }
    groups
        .into_iter()
        .map(|(names, c)| {
            let line = condition_line(ctx, c);
            let own = format!("{}={}", c.type_, c.status);
            format!("{}{}", names.join(", "), &line[own.len()..])
        })
        .collect()
}
