//! CronJob actions: suspend, resume, trigger now. CronJob is batch/v1 on current clusters and
//! batch/v1beta1 on older ones (the 1.20 test server); both have the same `spec.suspend` and
//! `spec.jobTemplate`, so every action reads and writes it as JSON through the API discovery
//! found. `cronjob.trigger` creates what `kubectl create job --from=cronjob/x` creates: a Job
//! from the `jobTemplate`, controlled by the CronJob.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::Action;
use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::guards;
use super::job::{created, template};
use super::plan::{Execution, Plan, Verification};
use super::registry::Registry;
use super::spec::{ActionSpec, Risk, parse_params, schema_for};
use super::suspend::{Params as ToggleParams, Toggle, finished};
use crate::detect::ObjectRef;

pub static SUSPEND: ActionSpec = ActionSpec {
    name: "cronjob.suspend",
    summary: "Suspend a CronJob: no new Jobs start until it is resumed (running ones go on).",
    risk: Risk::Medium,
    kinds: &["CronJob"],
    reversible: true,
    params_schema: schema_for::<ToggleParams>,
};

pub static RESUME: ActionSpec = ActionSpec {
    name: "cronjob.resume",
    summary: "Resume a suspended CronJob: Jobs start again on its schedule.",
    risk: Risk::Medium,
    kinds: &["CronJob"],
    reversible: true,
    params_schema: schema_for::<ToggleParams>,
};

pub static TRIGGER: ActionSpec = ActionSpec {
    name: "cronjob.trigger",
    summary: "Run a CronJob now: a Job from its jobTemplate, owned by the CronJob \
              (kubectl create job --from=cronjob/x).",
    risk: Risk::Medium,
    kinds: &["CronJob"],
    reversible: true,
    params_schema: schema_for::<Params>,
};

/// Registers the CronJob family.
pub fn register(registry: &mut Registry) {
    registry.register(Toggle {
        spec: &SUSPEND,
        kind: "CronJob",
        suspend: true,
    });
    registry.register(Toggle {
        spec: &RESUME,
        kind: "CronJob",
        suspend: false,
    });
    registry.register(Trigger);
}

/// Parameters of `cronjob.trigger`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the CronJob.
    pub namespace: String,
    /// Name of the CronJob.
    pub name: String,
}

pub struct Trigger;

#[async_trait]
impl Action for Trigger {
    fn spec(&self) -> &'static ActionSpec {
        &TRIGGER
    }

    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan> {
        let p: Params = parse_params(TRIGGER.name, params)?;
        let source = ObjectRef::namespaced("CronJob", &p.namespace, &p.name);
        let live = ctx.fetch_target(&source).await?;
        if live
            .pointer("/spec/concurrencyPolicy")
            .and_then(Value::as_str)
            == Some("Forbid")
        {
            let running = running_jobs(ctx, &live).await?;
            if let Some(job) = running.first() {
                return Err(ActionError::refused(
                    guards::TARGET,
                    format!("{source} forbids concurrent runs and Job {job} is still running"),
                ));
            }
        }
        let api_version = ctx.resource("CronJob")?.api_version;
        let suffix = template::time_suffix(ctx.clock.now().timestamp_millis());
        let name = template::generated_name(&p.name, "manual", &suffix);
        let job = template::from_cronjob(&live, &api_version, &name);
        let note = if live.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
            " (the CronJob itself stays suspended)"
        } else {
            ""
        };
        created::plan(
            ctx,
            created::NewJob {
                spec: &TRIGGER,
                params,
                source: &source,
                live: &live,
                pointers: &["/spec/jobTemplate"],
                job,
                summary: format!("run {source} now as Job {name}{note}"),
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

/// Names of the unfinished Jobs the CronJob controls.
async fn running_jobs(ctx: &ActionContext, cronjob: &Value) -> Result<Vec<String>> {
    let ns = cronjob
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    let uid = cronjob.pointer("/metadata/uid").and_then(Value::as_str);
    let jobs = ctx.list("Job", ns, None).await?;
    let mut names: Vec<String> = jobs
        .iter()
        .filter(|j| {
            j.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|os| {
                    os.iter()
                        .any(|o| o["controller"] == true && o["uid"].as_str() == uid)
                })
                && finished(j).is_none()
        })
        .filter_map(|j| j["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
