//! The two traits of the catalogue. An [`Action`] mutates and goes through approval: plan (with
//! a dry-run and a diff), execute (only what was approved), tell whether it landed, verify the
//! outcome, roll back. A [`ReadTool`] only reads and runs at once.
//!
//! Most actions are patches of one object: they implement `plan` (parse, guard, propose a
//! patch, [`super::change::plan_patch`]) and `verify`, and inherit the rest.

use async_trait::async_trait;
use serde_json::Value;

use super::change;
use super::context::ActionContext;
use super::error::Result;
use super::plan::{Execution, Plan, Verification};
use super::spec::{ActionSpec, ToolSpec};

/// A mutating action of the catalogue.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    fn spec(&self) -> &'static ActionSpec;

    /// Parses the parameters strictly, runs the guards, reads the object, snapshots what will
    /// change, dry-runs the change on the server and renders the diff. Changes nothing.
    async fn plan(&self, ctx: &ActionContext, params: &Value) -> Result<Plan>;

    /// Carries out an approved plan: repeats the dry-run against the live object (with its
    /// resourceVersion as precondition) and applies it only if the object still matches the
    /// snapshot and the diff is the approved one; otherwise `Stale` (the approval is void).
    async fn execute(&self, ctx: &ActionContext, plan: &Plan) -> Result<Execution> {
        change::execute(ctx, plan).await
    }

    /// Whether the planned change is in place: after a crash between executing and recording,
    /// this tells whether to record success or execute again.
    async fn landed(&self, ctx: &ActionContext, plan: &Plan) -> Result<bool> {
        change::landed(ctx, plan).await
    }

    /// Watches, with `verify_timeout` as deadline, for what "healthy again" means for this
    /// action, and requires it to hold for `verify_settle`.
    async fn verify(
        &self,
        ctx: &ActionContext,
        plan: &Plan,
        execution: &Execution,
    ) -> Result<Verification>;

    /// Restores the snapshot (dry-run first).
    async fn rollback(&self, ctx: &ActionContext, plan: &Plan) -> Result<()> {
        change::restore(ctx, plan).await
    }
}

/// A read-only tool: no approval, bounded and deterministic output.
#[async_trait]
pub trait ReadTool: Send + Sync + 'static {
    fn spec(&self) -> &'static ToolSpec;

    /// Runs the tool; the text is bounded by `config.read.max_output_chars`.
    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String>;
}
