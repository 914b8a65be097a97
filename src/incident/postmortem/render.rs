//! How a postmortem reads: the handlebars template `templates/postmortem.hbs` (compiled in,
//! replaceable by `<dir>/postmortem.hbs`) renders its sections as plain, markdown-ish text,
//! and [`Postmortem::to_message`] wraps them in a neutral chat message with the key facts as
//! fields. Rendering is strict (a misspelt variable is an error, not an empty line) and does
//! no escaping: each chat platform escapes the text its own way.
//!
//! Nothing here redacts: a postmortem from [`super::write`] (or passed through
//! [`Postmortem::redacted`]) is already clean.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use handlebars::Handlebars;
use serde::Serialize;

use super::model::*;
use crate::chat::cards::human_duration;
use crate::chat::{Block, Field, Message, Text, Tone};

const NAME: &str = "postmortem";
const BUILTIN: &str = include_str!("../../../templates/postmortem.hbs");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("the postmortem template ({origin}) does not parse: {reason}")]
    Compile { origin: String, reason: String },
    #[error("the postmortem template ({origin}) cannot be rendered: {reason}")]
    Render { origin: String, reason: String },
}

/// The compiled postmortem template.
pub struct PostmortemTemplate {
    hbs: Handlebars<'static>,
    /// `built-in` or the overriding file's path.
    origin: String,
}

impl std::fmt::Debug for PostmortemTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostmortemTemplate")
            .field("origin", &self.origin)
            .finish()
    }
}

/// Compiled once; the built-in template's rendering of every shape is covered by tests.
static DEFAULT: LazyLock<Result<PostmortemTemplate, TemplateError>> =
    LazyLock::new(PostmortemTemplate::builtin);

impl PostmortemTemplate {
    pub fn builtin() -> Result<Self, TemplateError> {
        Self::compile(BUILTIN, "built-in".into())
    }

    /// `<dir>/postmortem.hbs` where that exists (the same directory as the prompt overrides,
    /// typically), else the built-in template.
    pub fn from_dir(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let Some(path) = dir.map(|d| d.join(format!("{NAME}.hbs"))) else {
            return Self::builtin();
        };
        if !path.exists() {
            return Self::builtin();
        }
        let text = std::fs::read_to_string(&path).map_err(|e| TemplateError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Self::compile(&text, path.display().to_string())
    }

    fn compile(text: &str, origin: String) -> Result<Self, TemplateError> {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        hbs.register_escape_fn(handlebars::no_escape);
        hbs.register_template_string(NAME, text)
            .map_err(|e| TemplateError::Compile {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self { hbs, origin })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The postmortem's sections as text, `## Heading` lines between them.
    pub fn render(&self, pm: &Postmortem) -> Result<String, TemplateError> {
        self.hbs
            .render(NAME, &View::of(pm))
            .map(|text| text.trim().to_string())
            .map_err(|e| TemplateError::Render {
                origin: self.origin.clone(),
                reason: e.to_string(),
            })
    }
}

impl Postmortem {
    /// The message posted in the incident's thread, rendered with the built-in template.
    pub fn to_message(&self) -> Message {
        match &*DEFAULT {
            Ok(template) => self.to_message_with(template),
            Err(e) => self.facts_message(Some(e)),
        }
    }

    /// The message rendered with `template`. Should the template fail, the message still
    /// carries the facts and says so: a postmortem is never lost to a template mistake.
    pub fn to_message_with(&self, template: &PostmortemTemplate) -> Message {
        let body = match template.render(self) {
            Ok(body) => body,
            Err(e) => return self.facts_message(Some(&e)),
        };
        let mut m = self.facts_message(None);
        let written_by = m.blocks.pop();
        for (heading, text) in sections(&body) {
            let block = match heading {
                Some(h) => Text::plain("").bold(h).and("\n").and(text),
                None => Text::plain(text),
            };
            m = m.paragraph(block);
        }
        m.blocks.extend(written_by);
        m
    }

    /// Header, title, facts as fields, and who wrote it (always the last block).
    fn facts_message(&self, error: Option<&TemplateError>) -> Message {
        let (badge, tone) = match self.outcome {
            Outcome::Resolved => ("RESOLVED", Tone::Good),
            Outcome::Escalated => ("ESCALATED", Tone::Danger),
            Outcome::Dismissed => ("DISMISSED", Tone::Neutral),
            Outcome::Merged => ("MERGED", Tone::Neutral),
            Outcome::Ongoing => ("ONGOING", Tone::Warning),
        };
        let field = |label: &str, value: String| Field {
            label: label.into(),
            value: Text::plain(value),
        };
        let fields = vec![
            field("Outcome", self.outcome.as_str().into()),
            field("Duration", human_duration(self.duration())),
            field(
                "Severity",
                format!("{} (score {})", self.impact.severity, self.impact.score),
            ),
            field("Resource", self.resource.clone()),
            field(
                "Affected",
                format!(
                    "{}, {}",
                    count(self.impact.workloads.len(), "workload"),
                    count(self.impact.pod_count, "pod")
                ),
            ),
            field(
                "Actions",
                format!(
                    "{} executed, {} rejected",
                    self.actions.len(),
                    self.rejected.len()
                ),
            ),
        ];
        let mut m = Message::default()
            .with_header(format!("Postmortem — {}", self.incident_id), badge, tone)
            .paragraph(Text::plain("").bold(&self.title))
            .block(Block::Fields { fields });
        if let Some(e) = error {
            m = m.paragraph(format!("The postmortem's text could not be rendered: {e}"));
        }
        let written_by = match &self.narrative.source {
            NarrativeSource::Model { model } => {
                format!("Narrative written by {model} from Lookout's record; facts by Lookout.")
            }
            NarrativeSource::Facts { .. } => {
                "Assembled by Lookout from the incident's record.".into()
            }
        };
        m.context(written_by)
    }
}

/// `1 pod`, `3 pods`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Splits the rendering at `## Heading` lines; text before the first heading has none.
fn sections(body: &str) -> Vec<(Option<&str>, String)> {
    let mut out: Vec<(Option<&str>, Vec<&str>)> = vec![(None, vec![])];
    for line in body.lines() {
        match line.strip_prefix("## ") {
            Some(heading) => out.push((Some(heading.trim()), vec![])),
            None => {
                if let Some((_, lines)) = out.last_mut() {
                    lines.push(line);
                }
            }
        }
    }
    out.into_iter()
        .map(|(h, lines)| (h, lines.join("\n").trim().to_string()))
        .filter(|(h, text)| h.is_some() || !text.is_empty())
        .collect()
}

/// What the template sees: ready-made strings, so templates stay simple.
#[derive(Serialize)]
struct View<'a> {
    id: &'a str,
    title: &'a str,
    resource: &'a str,
    outcome: &'static str,
    opened_at: String,
    ended_at: String,
    duration: String,
    severity: String,
    summary: &'a str,
    impact: &'a str,
    root_cause: &'a str,
    /// `model gpt-4o, 85% confidence`, when a diagnosis was recorded.
    diagnosis: Option<String>,
    evidence: &'a [String],
    workloads: String,
    pods: String,
    namespaces: String,
    nodes: String,
    signals: String,
    timeline: Vec<MomentView<'a>>,
    actions: Vec<ActionView<'a>>,
    rejected: Vec<RejectedView<'a>>,
    lessons: &'a [String],
    prevention: &'a [String],
}

#[derive(Serialize)]
struct MomentView<'a> {
    at: String,
    kind: &'static str,
    actor: Option<&'a str>,
    text: &'a str,
}

#[derive(Serialize)]
struct ActionView<'a> {
    action: &'a str,
    summary: &'a str,
    params: String,
    /// `approved by slack:U1 at 09:20:00 UTC on slack`, or `no approval recorded`.
    approved: String,
    result: String,
}

#[derive(Serialize)]
struct RejectedView<'a> {
    action: &'a str,
    summary: &'a str,
    params: String,
    verdict: &'a str,
    by: Option<&'a str>,
    at: String,
    reason: Option<&'a str>,
}

impl<'a> View<'a> {
    fn of(pm: &'a Postmortem) -> Self {
        let i = &pm.impact;
        let pods = match i.pod_count.saturating_sub(i.pods.len()) {
            0 => i.pods.join(", "),
            more => format!("{} and {more} more", i.pods.join(", ")),
        };
        let day = pm.opened_at.date_naive();
        let clock = |at: DateTime<Utc>| {
            if at.date_naive() == day {
                at.format("%H:%M:%S").to_string()
            } else {
                at.format("%m-%d %H:%M:%S").to_string()
            }
        };
        View {
            id: &pm.incident_id,
            title: &pm.title,
            resource: &pm.resource,
            outcome: pm.outcome.as_str(),
            opened_at: pm.opened_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ended_at: pm.ended_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            duration: human_duration(pm.duration()),
            severity: format!("{} (score {})", i.severity, i.score),
            summary: &pm.narrative.summary,
            impact: &pm.narrative.impact,
            root_cause: &pm.narrative.root_cause,
            diagnosis: pm.diagnosis.as_ref().map(|d| match d.confidence {
                Some(c) => format!("{}, {:.0}% confidence", d.source, c * 100.0),
                None => d.source.clone(),
            }),
            evidence: pm.diagnosis.as_ref().map_or(&[], |d| &d.evidence),
            workloads: i.workloads.join(", "),
            pods,
            namespaces: i.namespaces.join(", "),
            nodes: i.nodes.join(", "),
            signals: i
                .signals
                .iter()
                .map(|s| match s.count {
                    1 => s.name.to_string(),
                    n => format!("{} ×{n}", s.name),
                })
                .collect::<Vec<_>>()
                .join(", "),
            timeline: pm
                .timeline
                .iter()
                .map(|m| MomentView {
                    at: clock(m.at),
                    kind: m.kind.as_str(),
                    actor: m.actor.as_deref(),
                    text: &m.text,
                })
                .collect(),
            actions: pm
                .actions
                .iter()
                .map(|a| ActionView {
                    action: &a.action,
                    summary: &a.summary,
                    params: params(&a.params),
                    approved: approved(a, &clock),
                    result: a.result_line(),
                })
                .collect(),
            rejected: pm
                .rejected
                .iter()
                .map(|r| RejectedView {
                    action: &r.action,
                    summary: &r.summary,
                    params: params(&r.params),
                    verdict: &r.verdict,
                    by: r.by.as_deref(),
                    at: clock(r.at),
                    reason: r.reason.as_deref(),
                })
                .collect(),
            lessons: &pm.narrative.lessons_learned,
            prevention: &pm.narrative.prevention,
        }
    }
}

/// Compact JSON, or nothing for absent parameters.
fn params(p: &serde_json::Value) -> String {
    match p {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        other => other.to_string(),
    }
}

fn approved(a: &ActionTaken, clock: &dyn Fn(DateTime<Utc>) -> String) -> String {
    if a.approved_by.is_empty() {
        return "no approval recorded".into();
    }
    let mut s = format!("approved by {}", a.approved_by.join(" and "));
    if let Some(at) = a.approved_at {
        s.push_str(&format!(" at {}", clock(at)));
    }
    if let Some(p) = &a.platform {
        s.push_str(&format!(" on {p}"));
    }
    s
}
