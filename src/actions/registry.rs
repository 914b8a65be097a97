//! The catalogue by name. Everything that runs an action goes through the registry, which finds
//! the action, re-checks what a stored plan claims (its action still exists and applies to the
//! target's kind, the namespace is still unprotected), counts results in
//! `lookout_actions_total{action, result}` and logs with fields. A new action is one file plus
//! one `register` line in [`super::catalogue`].

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde_json::Value;
use tracing::{info, warn};

use super::action::{Action, ReadTool};
use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::guards;
use super::plan::{Execution, Plan, Verification};
use super::spec::{ActionSpec, LlmTool, ToolSpec, llm_name};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    action: String,
    result: &'static str,
}

/// Which tools to offer the model: fewer tools, fewer prompt tokens.
#[derive(Debug, Clone, Default)]
pub struct ToolFilter {
    /// Offer the read-only tools.
    pub read_only: bool,
    /// Offer mutating actions.
    pub mutating: bool,
    /// Only actions applying to one of these kinds (empty: any kind).
    pub kinds: Vec<String>,
}

impl ToolFilter {
    /// Every tool and action.
    pub fn all() -> Self {
        Self {
            read_only: true,
            mutating: true,
            kinds: Vec::new(),
        }
    }

    /// Read-only tools plus the actions for these kinds.
    pub fn for_kinds(kinds: &[&str]) -> Self {
        Self {
            read_only: true,
            mutating: true,
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
        }
    }
}

/// Actions and read-only tools by name. Cloning is cheap: clones share the actions and the
/// counters.
#[derive(Clone)]
pub struct Registry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
    tools: BTreeMap<&'static str, Arc<dyn ReadTool>>,
    results: Family<ResultLabels, Counter>,
}

impl Registry {
    /// An empty registry whose counters are registered on `metrics`.
    pub fn new(metrics: &mut prometheus_client::registry::Registry) -> Self {
        let results = Family::<ResultLabels, Counter>::default();
        metrics.register(
            "lookout_actions",
            "Action outcomes by action and result: planned, refused, invalid, plan_failed, \
             executed, stale, failed, verified, unverified, rolled_back, rollback_failed",
            results.clone(),
        );
        Self {
            actions: BTreeMap::new(),
            tools: BTreeMap::new(),
            results,
        }
    }

    /// The whole shipped catalogue.
    pub fn standard(metrics: &mut prometheus_client::registry::Registry) -> Self {
        let mut registry = Self::new(metrics);
        super::catalogue::register_all(&mut registry);
        registry
    }

    /// Adds an action. Names are unique, also as LLM function names: a clash is a programming
    /// error caught by the catalogue's unit test.
    pub fn register(&mut self, action: impl Action) {
        let name = action.spec().name;
        assert!(
            self.by_llm_name(&llm_name(name)).is_none(),
            "action {name} registered twice or clashes with another tool name"
        );
        self.actions.insert(name, Arc::new(action));
    }

    /// Adds a read-only tool.
    pub fn register_tool(&mut self, tool: impl ReadTool) {
        let name = tool.spec().name;
        assert!(
            self.by_llm_name(&llm_name(name)).is_none(),
            "tool {name} registered twice or clashes with another tool name"
        );
        self.tools.insert(name, Arc::new(tool));
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Action>> {
        self.actions.get(name).cloned()
    }

    pub fn tool(&self, name: &str) -> Option<Arc<dyn ReadTool>> {
        self.tools.get(name).cloned()
    }

    /// Every action's spec, by name.
    pub fn specs(&self) -> impl Iterator<Item = &'static ActionSpec> + '_ {
        self.actions.values().map(|a| a.spec())
    }

    /// Every read-only tool's spec, by name.
    pub fn tool_specs(&self) -> impl Iterator<Item = &'static ToolSpec> + '_ {
        self.tools.values().map(|t| t.spec())
    }

    /// The action or tool an LLM function name stands for (`deployment_scale` ->
    /// `deployment.scale`).
    pub fn by_llm_name(&self, function: &str) -> Option<&'static str> {
        self.specs()
            .map(|s| s.name)
            .chain(self.tool_specs().map(|s| s.name))
            .find(|n| llm_name(n) == function)
    }

    /// Function definitions for the model: read-only tools first, then actions, each by name.
    pub fn tools(&self, filter: &ToolFilter) -> Vec<LlmTool> {
        let mut out = Vec::new();
        if filter.read_only {
            out.extend(self.tool_specs().map(|s| LlmTool {
                name: llm_name(s.name),
                target: s.name.into(),
                description: format!("{} Read-only; runs at once.", s.summary),
                parameters: (s.params_schema)(),
                mutating: false,
                risk: None,
            }));
        }
        if filter.mutating {
            let fits = |s: &ActionSpec| {
                filter.kinds.is_empty()
                    || s.kinds
                        .iter()
                        .any(|k| filter.kinds.iter().any(|f| f.eq_ignore_ascii_case(k)))
            };
            out.extend(self.specs().filter(|s| fits(s)).map(|s| LlmTool {
                name: llm_name(s.name),
                target: s.name.into(),
                description: format!(
                    "{} Needs human approval ({} risk).",
                    s.summary,
                    s.risk.as_str()
                ),
                parameters: (s.params_schema)(),
                mutating: true,
                risk: Some(s.risk),
            }));
        }
        out
    }

    fn count(&self, action: &str, result: &'static str) {
        self.results
            .get_or_create(&ResultLabels {
                action: action.to_string(),
                result,
            })
            .inc();
    }

    fn action(&self, name: &str) -> Result<Arc<dyn Action>> {
        self.get(name)
            .ok_or_else(|| ActionError::Unknown(name.to_string()))
    }

    /// The action a stored plan names, after checking the plan still fits it and the config.
    fn action_for(&self, ctx: &ActionContext, plan: &Plan) -> Result<Arc<dyn Action>> {
        let action = self.action(&plan.action)?;
        if !action.spec().kinds.contains(&plan.target.kind.as_str()) {
            return Err(ActionError::BadPlan(format!(
                "{} does not apply to {}",
                plan.action, plan.target.kind
            )));
        }
        guards::namespace_allowed(&ctx.config, plan.namespace())?;
        Ok(action)
    }

    /// Plans `name` with `params`.
    pub async fn plan(&self, ctx: &ActionContext, name: &str, params: &Value) -> Result<Plan> {
        let action = self.action(name)?;
        let result = action.plan(ctx, params).await;
        match &result {
            Ok(plan) => {
                self.count(name, "planned");
                info!(action = name, target = %plan.target, summary = %plan.summary, "planned");
            }
            Err(e @ ActionError::Refused { guard, .. }) => {
                self.count(name, "refused");
                info!(action = name, guard, error = %e, "refused");
            }
            Err(e @ ActionError::InvalidParams { .. }) => {
                self.count(name, "invalid");
                info!(action = name, error = %e, "invalid parameters");
            }
            Err(e) => {
                self.count(name, "plan_failed");
                warn!(action = name, error = %e, "planning failed");
            }
        }
        result
    }

    /// Executes an approved plan.
    pub async fn execute(&self, ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
        let result = match self.action_for(ctx, plan) {
            Ok(action) => action.execute(ctx, plan).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) => self.count(&plan.action, "executed"),
            Err(ActionError::Stale { .. }) => self.count(&plan.action, "stale"),
            Err(ActionError::Refused { .. }) => self.count(&plan.action, "refused"),
            Err(_) => self.count(&plan.action, "failed"),
        }
        if let Err(e) = &result {
            warn!(action = %plan.action, target = %plan.target, error = %e, "not executed");
        }
        result
    }

    /// Whether a plan's change is in place.
    pub async fn landed(&self, ctx: &ActionContext, plan: &Plan) -> Result<bool> {
        self.action(&plan.action)?.landed(ctx, plan).await
    }

    /// Watches for the executed plan's "healthy again".
    pub async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification> {
        let result = self
            .action(&plan.action)?
            .verify(ctx, plan, execution)
            .await;
        match &result {
            Ok(v) if v.healthy() => self.count(&plan.action, "verified"),
            Ok(_) => self.count(&plan.action, "unverified"),
            Err(_) => self.count(&plan.action, "failed"),
        }
        match &result {
            Ok(v) => {
                info!(action = %plan.action, target = %plan.target, outcome = ?v.outcome, detail = %v.detail, "verified")
            }
            Err(e) => {
                warn!(action = %plan.action, target = %plan.target, error = %e, "verification failed")
            }
        }
        result
    }

    /// Restores the plan's snapshot.
    pub async fn rollback(&self, ctx: &ActionContext, plan: &Plan) -> Result<()> {
        let action = self.action(&plan.action)?;
        let result = if action.spec().reversible {
            action.rollback(ctx, plan).await
        } else {
            Err(ActionError::NotReversible {
                action: plan.action.clone(),
                reason: "the action has no snapshot to restore".into(),
            })
        };
        match &result {
            Ok(()) => self.count(&plan.action, "rolled_back"),
            Err(e) => {
                self.count(&plan.action, "rollback_failed");
                warn!(action = %plan.action, target = %plan.target, error = %e, "rollback failed");
            }
        }
        result
    }

    /// Runs a read-only tool.
    pub async fn run_tool(
        &self,
        ctx: &ActionContext,
        name: &str,
        params: &Value,
    ) -> Result<String> {
        let tool = self
            .tool(name)
            .ok_or_else(|| ActionError::Unknown(name.to_string()))?;
        tool.run(ctx, params).await
    }
}
