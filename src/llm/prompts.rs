//! Prompt templates: handlebars files in `prompts/`, compiled into the binary, each replaceable
//! by a same-named file in `llm.prompts_dir`. Rendering is strict (a misspelt variable is an
//! error, not an empty string) and does no HTML escaping; the only thing escaped is a `<data`
//! or `</data` tag inside a value, so quoted cluster text cannot close the `<data>` block the
//! system prompt tells the model to treat as untrusted.
//!
//! Helpers: `{{json value}}` (compact JSON) and `{{join list ", "}}`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde::Serialize;

use super::config::LlmConfig;
use super::prompt_samples::sample_vars;
use super::prompt_vars::*;

/// The templates Lookout renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// Who Lookout is and its safety rules; the system message of every call.
    System,
    /// Root cause, confidence, evidence, recommendations and suggested actions, as JSON.
    Diagnosis,
    /// One observe-decide-act step of the agent loop: exactly one tool call.
    AgentStep,
    /// The narrative parts of a postmortem, as JSON.
    Postmortem,
    /// Answering a question with read-only tools.
    Conversation,
}

impl Template {
    pub const ALL: [Template; 5] = [
        Template::System,
        Template::Diagnosis,
        Template::AgentStep,
        Template::Postmortem,
        Template::Conversation,
    ];

    /// The file name without `.hbs`.
    pub fn name(self) -> &'static str {
        match self {
            Template::System => "system",
            Template::Diagnosis => "diagnosis",
            Template::AgentStep => "agent_step",
            Template::Postmortem => "postmortem",
            Template::Conversation => "conversation",
        }
    }

    fn builtin(self) -> &'static str {
        match self {
            Template::System => include_str!("../../prompts/system.hbs"),
            Template::Diagnosis => include_str!("../../prompts/diagnosis.hbs"),
            Template::AgentStep => include_str!("../../prompts/agent_step.hbs"),
            Template::Postmortem => include_str!("../../prompts/postmortem.hbs"),
            Template::Conversation => include_str!("../../prompts/conversation.hbs"),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read the prompt directory {}: {source}", dir.display())]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: `{name}` is not a prompt template (known: system, diagnosis, agent_step, \
         postmortem, conversation)",
        path.display()
    )]
    Unknown { path: PathBuf, name: String },
    #[error("prompt `{template}` ({origin}) does not parse: {reason}")]
    Compile {
        template: &'static str,
        origin: String,
        reason: String,
    },
    #[error("prompt `{template}` ({origin}) cannot be rendered: {reason}")]
    Render {
        template: &'static str,
        origin: String,
        reason: String,
    },
}

/// One template rendered by [`Prompts::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPrompt {
    pub template: Template,
    /// `built-in` or the overriding file's path.
    pub origin: String,
    /// Length of the rendering with the sample data.
    pub chars: usize,
}

/// The compiled templates.
pub struct Prompts {
    hbs: Handlebars<'static>,
    origins: HashMap<Template, String>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("origins", &self.origins)
            .finish()
    }
}

const BUILTIN: &str = "built-in";

impl Prompts {
    /// The built-in templates with the overrides of `llm.prompts_dir`, if set.
    pub fn load(config: &LlmConfig) -> Result<Self, PromptError> {
        Self::from_dir(config.prompts_dir.as_deref())
    }

    /// The built-in templates, each replaced by `<dir>/<name>.hbs` where that exists. Other
    /// `.hbs` files in `dir` are errors (a misspelt name would otherwise be silently unused);
    /// files with other extensions are ignored.
    pub fn from_dir(dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut sources: HashMap<Template, (String, String)> = Template::ALL
            .into_iter()
            .map(|t| (t, (t.builtin().to_string(), BUILTIN.to_string())))
            .collect();
        if let Some(dir) = dir {
            let read_dir = |source| PromptError::ReadDir {
                dir: dir.to_path_buf(),
                source,
            };
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(read_dir)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(read_dir)?;
            paths.sort();
            for path in paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "hbs"))
            {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let Some(template) = Template::from_name(&name) else {
                    return Err(PromptError::Unknown { path, name });
                };
                let text = std::fs::read_to_string(&path).map_err(|source| PromptError::Read {
                    path: path.clone(),
                    source,
                })?;
                sources.insert(template, (text, path.display().to_string()));
            }
        }

        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        hbs.register_escape_fn(neutralise_data_tags);
        hbs.register_helper("json", Box::new(helpers::json));
        hbs.register_helper("join", Box::new(helpers::join));
        let mut origins = HashMap::new();
        for template in Template::ALL {
            let (text, origin) = &sources[&template];
            hbs.register_template_string(template.name(), text)
                .map_err(|e| PromptError::Compile {
                    template: template.name(),
                    origin: origin.clone(),
                    reason: e.to_string(),
                })?;
            origins.insert(template, origin.clone());
        }
        Ok(Self { hbs, origins })
    }

    /// Renders a template with any serializable data (prefer the typed methods below).
    pub fn render<T: Serialize>(
        &self,
        template: Template,
        data: &T,
    ) -> Result<String, PromptError> {
        self.hbs
            .render(template.name(), data)
            .map(|text| text.trim().to_string())
            .map_err(|e| PromptError::Render {
                template: template.name(),
                origin: self.origin(template).to_string(),
                reason: e.to_string(),
            })
    }

    pub fn system(&self, vars: &SystemVars) -> Result<String, PromptError> {
        self.render(Template::System, vars)
    }

    pub fn diagnosis(&self, vars: &DiagnosisVars) -> Result<String, PromptError> {
        self.render(Template::Diagnosis, vars)
    }

    pub fn agent_step(&self, vars: &AgentStepVars) -> Result<String, PromptError> {
        self.render(Template::AgentStep, vars)
    }

    pub fn postmortem(&self, vars: &PostmortemVars) -> Result<String, PromptError> {
        self.render(Template::Postmortem, vars)
    }

    pub fn conversation(&self, vars: &ConversationVars) -> Result<String, PromptError> {
        self.render(Template::Conversation, vars)
    }

    /// Where a template came from: `built-in` or a file path.
    pub fn origin(&self, template: Template) -> &str {
        self.origins
            .get(&template)
            .map(String::as_str)
            .unwrap_or(BUILTIN)
    }

    /// Renders every template with realistic sample data (`lookout check`): an override that
    /// uses a variable Lookout does not provide fails here rather than at the first incident.
    pub fn check(&self) -> Result<Vec<CheckedPrompt>, PromptError> {
        Template::ALL
            .into_iter()
            .map(|template| {
                let text = self.render(template, &sample_vars(template))?;
                Ok(CheckedPrompt {
                    template,
                    origin: self.origin(template).to_string(),
                    chars: text.chars().count(),
                })
            })
            .collect()
    }
}

mod helpers {
    use handlebars::handlebars_helper;
    use serde_json::Value;

    handlebars_helper!(json: |value: Json| value.to_string());
    handlebars_helper!(join: |list: array, separator: str| list
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(separator));
}

/// Replaces the `<` of any `<data` / `</data` (any case) with `‹`, so a value cannot open or
/// close a `<data>` block. Everything else passes unchanged (prompts are not HTML).
pub(super) fn neutralise_data_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let tag = after.strip_prefix('/').unwrap_or(after);
        let is_data = tag.get(..4).is_some_and(|t| t.eq_ignore_ascii_case("data"));
        out.push(if is_data { '‹' } else { '<' });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "prompts_tests.rs"]
mod tests;
