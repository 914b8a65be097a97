//! The slow work of remediation, run as tasks that report back to the engine: investigating,
//! planning (guards and dry-run), executing (claimed once in the store), verifying, rolling back,
//! and one step of the model's loop.

use std::sync::Arc;

use serde_json::Value;

use super::engine::{Deps, Input};
use super::state::Remediation;
use crate::actions::{ActionError, Execution, Plan, ToolFilter, Verification};
use crate::agent::{Investigation, brief};
use crate::incident::Incident;
use crate::llm::{
    AgentStepVars, ChatRequest, Failure, Message, Rejection, ReplyKind, SystemVars, ToolChoice,
    ToolSet, ToolSpec, control, control_tools,
};
use crate::runbook::Facts;

/// What a job found.
pub(super) enum JobResult {
    Investigated(Box<Investigation>, Facts),
    Planned {
        source: String,
        why: String,
        action: String,
        params: Value,
        result: Result<Box<Plan>, String>,
    },
    Executed {
        approval: String,
        result: Result<Execution, ExecError>,
    },
    Verified {
        approval: String,
        result: Result<Verification, String>,
    },
    RolledBack {
        approval: String,
        result: Result<(), String>,
    },
    Moved(AgentMove),
}

pub(super) enum ExecError {
    /// Changed since it was approved: plan again.
    Stale(String),
    /// Another process executes it.
    Claimed,
    /// Automation is paused: nothing runs until it resumes.
    Paused,
    Failed(String),
}

/// The model's choice for one step.
pub(super) enum AgentMove {
    /// It looked at something; the line goes into the history.
    Looked(String),
    Act {
        action: String,
        params: Value,
        why: String,
    },
    Wait {
        seconds: u64,
        reason: String,
    },
    Resolved(String),
    Escalate(String),
    /// No usable move this step (invalid call, model error): try again next step.
    Nothing(String),
}

fn report(tx: &tokio::sync::mpsc::UnboundedSender<Input>, incident: &str, result: JobResult) {
    let _ = tx.send(Input::Job {
        incident: incident.to_string(),
        result,
    });
}

pub(super) fn investigate(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: Incident,
) {
    tokio::spawn(async move {
        let investigation = d.investigator.investigate(&incident).await;
        let facts = facts(&d, &incident).await;
        report(
            &tx,
            &incident.id,
            JobResult::Investigated(Box::new(investigation), facts),
        );
    });
}

/// What runbook conditions need from the cluster: when the root workload last rolled out.
async fn facts(d: &Deps, incident: &Incident) -> Facts {
    let owner = &incident.primary;
    if owner.kind != "Deployment" {
        return Facts::default();
    }
    let Some(ns) = owner.namespace.as_deref() else {
        return Facts::default();
    };
    let api: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        kube::Api::namespaced(d.actions.client.clone(), ns);
    let Ok(list) = api.list(&Default::default()).await else {
        return Facts::default();
    };
    // The newest ReplicaSet owned by the Deployment is its latest rollout.
    let rolled_out_at = list
        .items
        .iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "Deployment" && o.name == owner.name)
        })
        .filter_map(|rs| {
            rs.metadata
                .creation_timestamp
                .as_ref()
                .map(crate::model::meta::to_chrono)
        })
        .max();
    Facts { rolled_out_at }
}

pub(super) fn plan(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: String,
    action: String,
    params: Value,
    why: String,
    source: String,
) {
    tokio::spawn(async move {
        // Through the registry: its counters and logs see every step of the loop.
        let result = d
            .registry
            .plan(&d.actions, &action, &params)
            .await
            .map(Box::new)
            .map_err(|e| e.to_string());
        report(
            &tx,
            &incident,
            JobResult::Planned {
                source,
                why,
                action,
                params,
                result,
            },
        );
    });
}

pub(super) fn execute(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: String,
    approval: String,
    plan: Plan,
    reconciling: bool,
) {
    tokio::spawn(async move {
        let result = execute_once(&d, &approval, &plan, reconciling).await;
        report(&tx, &incident, JobResult::Executed { approval, result });
    });
}

async fn execute_once(
    d: &Deps,
    approval: &str,
    plan: &Plan,
    reconciling: bool,
) -> Result<Execution, ExecError> {
    if d.registry.get(&plan.action).is_none() {
        return Err(ExecError::Failed(format!(
            "unknown action `{}`",
            plan.action
        )));
    }
    if super::engine::paused(d).await {
        return Err(ExecError::Paused);
    }
    let claim = format!("execute:{approval}");
    let ttl = std::time::Duration::from_secs(24 * 3600);
    if reconciling {
        // A crash between claiming and recording: did the change land? Never run it twice.
        if d.registry.landed(&d.actions, plan).await.unwrap_or(false) {
            return Ok(Execution {
                executed_at: d.clock.now(),
                resource_version: String::new(),
                generation: None,
                details: Value::Null,
            });
        }
        let _ = d.store.release(&claim).await;
    }
    match d.store.claim(&claim, ttl).await {
        Ok(true) => {}
        Ok(false) => return Err(ExecError::Claimed),
        Err(e) => {
            return Err(ExecError::Failed(format!(
                "cannot claim the execution: {e}"
            )));
        }
    }
    match d.registry.execute(&d.actions, plan).await {
        Ok(e) => Ok(e),
        Err(ActionError::Stale { reason }) => {
            // Nothing ran: the claim is released so the fresh approval can run.
            let _ = d.store.release(&claim).await;
            Err(ExecError::Stale(reason))
        }
        Err(e) => Err(ExecError::Failed(e.to_string())),
    }
}

pub(super) fn verify(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: String,
    approval: String,
    plan: Plan,
    execution: Execution,
) {
    tokio::spawn(async move {
        let result = d
            .registry
            .verify(&d.actions, &plan, &execution)
            .await
            .map_err(|e| e.to_string());
        report(&tx, &incident, JobResult::Verified { approval, result });
    });
}

pub(super) fn rollback(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: String,
    approval: String,
    plan: Plan,
) {
    tokio::spawn(async move {
        let result = d
            .registry
            .rollback(&d.actions, &plan)
            .await
            .map_err(|e| e.to_string());
        report(&tx, &incident, JobResult::RolledBack { approval, result });
    });
}

/// One step of the observe-decide-act loop: fresh context, the history, exactly one tool call.
pub(super) fn agent_step(
    d: Arc<Deps>,
    tx: tokio::sync::mpsc::UnboundedSender<Input>,
    incident: Incident,
    r: Remediation,
) {
    tokio::spawn(async move {
        let m = agent_move(&d, &incident, &r).await;
        report(&tx, &incident.id, JobResult::Moved(m));
    });
}

async fn agent_move(d: &Deps, incident: &Incident, r: &Remediation) -> AgentMove {
    let Some(llm) = d.llm.as_ref().filter(|l| l.enabled()) else {
        return AgentMove::Escalate("no language model is configured for the agentic loop".into());
    };
    let context = match d.investigator.context.build(incident).await {
        Ok(c) => c.render(),
        Err(e) => format!("(the cluster could not be read: {e})"),
    };
    let context = d.investigator.redactor.redact(&context).into_owned();
    let kinds: Vec<String> = incident
        .signals
        .values()
        .map(|e| e.signal.owner.kind.clone())
        .collect();
    let offered = d.registry.tools(&ToolFilter {
        read_only: true,
        mutating: true,
        kinds,
    });
    let mut specs: Vec<ToolSpec> = offered
        .iter()
        .map(|t| ToolSpec::new(t.name.clone(), t.description.clone(), t.parameters.clone()))
        .collect();
    specs.extend(control_tools());
    let Ok(tools) = ToolSet::new(specs) else {
        return AgentMove::Escalate("the action schemas are invalid".into());
    };
    let vars = AgentStepVars {
        incident: brief(incident),
        diagnosis: r.diagnosis.as_ref().map(|d| d.one_line()),
        context,
        step: r.steps + 1,
        max_steps: d.config.max_steps,
        attempt: r.attempt,
        max_attempts: d.config.max_attempts,
        history: r.history.clone(),
        rejections: r
            .rejections
            .iter()
            .map(|x| Rejection {
                action: x.action.clone(),
                params: x.params.as_object().cloned().unwrap_or_default(),
                by: x.by.clone(),
                reason: x.reason.clone(),
            })
            .collect(),
        failures: r
            .failures
            .iter()
            .map(|x| Failure {
                action: x.action.clone(),
                params: x.params.as_object().cloned().unwrap_or_default(),
                error: x.error.clone(),
            })
            .collect(),
    };
    let (system, user) = match (
        d.prompts.system(&SystemVars {
            cluster: d.cluster.clone(),
        }),
        d.prompts.agent_step(&vars),
    ) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => return AgentMove::Escalate(format!("prompt: {e}")),
    };
    let request = ChatRequest {
        purpose: "agent_step",
        system,
        messages: vec![Message::user(user)],
        tools: tools.specs(),
        tool_choice: ToolChoice::Required,
    };
    let reply = match llm.chat(&request).await {
        Ok(r) => r,
        Err(e) => return AgentMove::Nothing(format!("model call failed: {e}")),
    };
    let ReplyKind::ToolCalls(calls) = &reply.kind else {
        return AgentMove::Nothing(
            "the model answered in prose instead of calling one tool".into(),
        );
    };
    let Some(call) = calls.first() else {
        return AgentMove::Nothing("the model called no tool".into());
    };
    if calls.len() > 1 {
        return AgentMove::Nothing(format!(
            "the model called {} tools at once; exactly one is allowed",
            calls.len()
        ));
    }
    let valid = match tools.validate(call) {
        Ok(v) => v,
        Err(e) => return AgentMove::Nothing(e.to_string()),
    };
    let args = Value::Object(valid.arguments.clone());
    let text = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match valid.name.as_str() {
        control::WAIT => AgentMove::Wait {
            seconds: args.get("seconds").and_then(Value::as_u64).unwrap_or(60),
            reason: text("reason"),
        },
        control::RESOLVED => AgentMove::Resolved(text("summary")),
        control::ESCALATE => AgentMove::Escalate(text("reason")),
        function => {
            let Some(name) = d.registry.by_llm_name(function) else {
                return AgentMove::Nothing(format!("unknown tool `{function}`"));
            };
            if let Some(tool) = d.registry.tool(name) {
                let out = match tool.run(&d.actions, &args).await {
                    Ok(t) => d.investigator.redactor.redact(&t).into_owned(),
                    Err(e) => format!("error: {e}"),
                };
                return AgentMove::Looked(format!("{name} {args}: {out}"));
            }
            AgentMove::Act {
                action: name.to_string(),
                params: args,
                why: reply.text().unwrap_or("proposed by the model").to_string(),
            }
        }
    }
}
