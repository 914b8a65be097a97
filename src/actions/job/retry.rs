//! `job.retry`: run a failed Job again as a fresh Job from its template, under a new name
//! (`<job>-retry-<time>`); the failed Job stays for its logs and events. Refused for a Job
//! that has not failed, and when an earlier retry of it is still running or succeeded.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{created, template};
use crate::actions::action::Action;
use crate::actions::context::ActionContext;
use crate::actions::error::{ActionError, Result};
use crate::actions::guards;
use crate::actions::plan::{Execution, Plan, Verification};
use crate::actions::spec::{ActionSpec, Risk, parse_params, schema_for};
use crate::actions::suspend::finished;
use crate::detect::ObjectRef;

pub static SPEC: ActionSpec = ActionSpec {
    name: "job.retry",
    summary: "Run a failed Job again: a fresh Job from its template under a new name (the \
              failed Job stays).",
    risk: Risk::Medium,
    kinds: &["Job"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Parameters of `job.retry`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the failed Job.
    pub namespace: String,
    /// Name of the failed Job.
    pub name: String,
}

pub struct Retry;

#[async_trait]
impl Action for Retry {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(SPEC.name, params)?;
        let source = ObjectRef::namespaced("Job", &p.namespace, &p.name);
        let live = ctx.fetch_target(&source).await?;
        match finished(&live) {
            Some("Failed") => {}
            Some(state) => {
                return Err(ActionError::refused(
                    guards::TARGET,
                    format!("{source} has not failed ({state}); only a failed Job is retried"),
                ));
            }
            None => {
                return Err(ActionError::refused(
                    guards::TARGET,
                    format!(
                        "{source} has not failed (it is still running); only a failed Job is retried"
                    ),
                ));
            }
        }
        let retries = ctx.list("Job", Some(&p.namespace), None).await?;
        if let Some(earlier) = retries.iter().find(|j| {
            j.pointer(&format!(
                "/metadata/annotations/{}",
                template::RETRY_OF.replace('/', "~1")
            ))
            .and_then(Value::as_str)
                == Some(&p.name)
                && finished(j) != Some("Failed")
        }) {
            let name = earlier["metadata"]["name"].as_str().unwrap_or("?");
            let state = if finished(earlier).is_some() {
                "succeeded"
            } else {
                "is still running"
            };
            return Err(ActionError::refused(
                guards::NO_CHANGE,
                format!("{source} was already retried: Job {name} {state}"),
            ));
        }
        let suffix = template::time_suffix(ctx.clock.now().timestamp_millis());
        let name = template::generated_name(&p.name, "retry", &suffix);
        let job = template::retry_of(&live, &name);
        let summary = format!("retry failed {source} as Job {name} (the failed Job stays)");
        created::plan(
            ctx,
            created::NewJob {
                spec: &SPEC,
                params,
                source: &source,
                live: &live,
                pointers: &["/spec/template"],
                job,
                summary,
            },
        )
        .await
    }

    async fn execute(&self, ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
        created::execute(ctx, plan).await
    }

    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        _execution: &Execution,
    ) -> Result<Verification> {
        created::verify(ctx, plan).await
    }

    async fn rollback(&self, ctx: &ActionContext, plan: &Plan) -> Result<()> {
        created::rollback(ctx, plan).await
    }
}
