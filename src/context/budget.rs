//! PURE: deterministic truncation. The same context always trims to the same text.
//!
//! First every section is held to its own cap (`context.sections.*`), dropping its least
//! important entries first. Then, while the whole is over `context.max_chars`, the steps of
//! [`PLAN`] run in order, each until it has nothing left to take or the whole fits:
//!
//! 1. healthy things: healthy nodes, Normal events, old revisions, healthy pods and
//!    containers, healthy conditions;
//! 2. supporting detail: older warnings, further logs, other pods' details and
//!    conditions, the two last revisions, the owner chain, resource facts;
//! 3. log excerpts shrink to half their size (errors and last lines stay);
//! 4. strong evidence about the rest: other failing pods, the newest warnings, unhealthy
//!    nodes, the resource's bad conditions, what could not be read, the rollout diff
//!    (what changed is the first suspect);
//! 5. log excerpts shrink to `log_floor_chars`.
//!
//! Never dropped: the first unhealthy pod's header and failing containers (state, exit
//! code, limits, restart count) and the first log's excerpt at its floor — the evidence the
//! model needs most. Within a step, entries go from the end of their section (the oldest
//! event, the last pod). Every section that lost entries says so: `… (3 more events)`; one
//! that lost them all keeps only that line. If even that is over the budget, the text is
//! cut at the last whole line within it, with a marker.

use std::collections::BTreeMap;

use super::Context;
use super::SectionKind::{self, *};
use super::entries::{Entry, Rank};
use super::excerpt::excerpt;
use super::render::len;

/// A section being fitted.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: SectionKind,
    pub heading: String,
    pub entries: Vec<Entry>,
    /// What was left out, by noun.
    pub dropped: BTreeMap<&'static str, usize>,
    /// The current rendering.
    pub text: String,
}

/// One trimming step.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Drop entries of this rank from the end of this section.
    Drop(SectionKind, Rank),
    /// Shrink log excerpts to this share (percent) of `log_chars`, not below the floor.
    ShrinkLogs(usize),
}

use Step::{Drop, ShrinkLogs};

/// The order in which the whole is trimmed; see the module docs.
const PLAN: &[Step] = &[
    Drop(Nodes, Rank::Low),
    Drop(Events, Rank::Low),
    Drop(Rollout, Rank::Low),
    Drop(Pods, Rank::Low),
    Drop(Resource, Rank::Low),
    Drop(Events, Rank::Normal),
    Drop(Logs, Rank::Normal),
    Drop(Pods, Rank::Normal),
    Drop(Rollout, Rank::Normal),
    Drop(Owners, Rank::Normal),
    Drop(Resource, Rank::Normal),
    ShrinkLogs(50),
    Drop(Pods, Rank::High),
    Drop(Events, Rank::High),
    Drop(Nodes, Rank::High),
    Drop(Resource, Rank::High),
    Drop(Unavailable, Rank::High),
    Drop(Rollout, Rank::High),
    ShrinkLogs(0),
];

/// Fits `drafts` (rendered in order after `fixed` characters of header) into the budget.
pub fn fit(ctx: &Context, drafts: &mut [Draft], fixed: usize) {
    for d in drafts.iter_mut() {
        let cap = cap(ctx, d.kind);
        while len(&d.text) > cap && trim_section(ctx, d) {}
    }
    let total = |drafts: &[Draft]| fixed + drafts.iter().map(|d| len(&d.text) + 1).sum::<usize>();
    for step in PLAN {
        while total(drafts) > ctx.budget.max_chars && apply(ctx, drafts, *step) {}
    }
}

/// The text, cut at `max` characters with a marker if it is still longer.
pub fn hard_cut(text: String, max: usize) -> String {
    if len(&text) <= max {
        return text;
    }
    const MARK: &str = "\n… (cut at the size budget)";
    let keep = max.saturating_sub(len(MARK));
    let mut out: String = text.chars().take(keep).collect();
    if let Some(end) = out.rfind('\n') {
        out.truncate(end);
    }
    out.push_str(MARK);
    out
}

fn cap(ctx: &Context, kind: SectionKind) -> usize {
    let s = &ctx.budget.sections;
    match kind {
        Resource => s.resource,
        Owners => s.owners,
        Pods => s.pods,
        Events => s.events,
        Logs => s.logs,
        Rollout => s.rollout,
        Nodes => s.nodes,
        Unavailable => s.unavailable,
    }
}

/// One step towards a section's own cap: a smaller log excerpt (down to half), else its
/// lowest-ranked droppable entry, else a log excerpt down to its floor. False when nothing is left to take.
fn trim_section(ctx: &Context, d: &mut Draft) -> bool {
    // Two halves of two logs say more than one whole log.
    if d.kind == Logs && shrink_log(ctx, d, 50) {
        return true;
    }
    for rank in [Rank::Low, Rank::Normal, Rank::High] {
        if drop_last(ctx, d, rank) {
            return true;
        }
    }
    shrink_log(ctx, d, 0)
}

fn apply(ctx: &Context, drafts: &mut [Draft], step: Step) -> bool {
    match step {
        Drop(kind, rank) => drafts
            .iter_mut()
            .find(|d| d.kind == kind)
            .is_some_and(|d| drop_last(ctx, d, rank)),
        ShrinkLogs(share) => drafts
            .iter_mut()
            .find(|d| d.kind == Logs)
            .is_some_and(|d| shrink_log(ctx, d, share)),
    }
}

fn drop_last(ctx: &Context, d: &mut Draft, rank: Rank) -> bool {
    let Some(i) = d.entries.iter().rposition(|e| e.rank == rank) else {
        return false;
    };
    let e = d.entries.remove(i);
    *d.dropped.entry(e.noun).or_insert(0) += 1;
    d.text = ctx.render_draft(d);
    true
}

/// Shrinks the last log excerpt still above `share`% of `log_chars` (never below the
/// floor) by a fifth of its size. False when every excerpt is at that size.
fn shrink_log(ctx: &Context, d: &mut Draft, share: usize) -> bool {
    let b = &ctx.budget;
    let target = (b.log_chars * share / 100).max(b.log_floor_chars);
    for i in (0..d.entries.len()).rev() {
        let Some((log, chars)) = d.entries[i].log else {
            continue;
        };
        // What the excerpt really takes; a short log has less to give than its budget.
        let used = ctx
            .logs
            .get(log)
            .map_or(0, |l| chars.min(len(&excerpt(&l.text, chars))));
        if used <= target {
            continue;
        }
        let smaller = used.saturating_sub((used / 5).max(50)).max(target);
        d.entries[i].log = Some((log, smaller));
        d.text = ctx.render_draft(d);
        return true;
    }
    false
}
