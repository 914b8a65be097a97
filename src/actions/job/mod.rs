//! Job actions: retry a failed Job (a fresh Job from its template; the failed one stays),
//! suspend and resume. The Job-creating machinery ([`created`]) and the Job templates
//! ([`template`]) also serve `cronjob.trigger`.

pub(crate) mod created;
mod retry;
pub mod template;

use super::registry::Registry;
use super::spec::{ActionSpec, Risk, schema_for};
use super::suspend::{Params as ToggleParams, Toggle};

pub use retry::Retry;

pub static SUSPEND: ActionSpec = ActionSpec {
    name: "job.suspend",
    summary: "Suspend a running Job: its pods are stopped and none start until it is resumed \
              (Kubernetes 1.21 and later).",
    risk: Risk::Medium,
    kinds: &["Job"],
    reversible: true,
    params_schema: schema_for::<ToggleParams>,
};

pub static RESUME: ActionSpec = ActionSpec {
    name: "job.resume",
    summary: "Resume a suspended Job: its pods start again.",
    risk: Risk::Medium,
    kinds: &["Job"],
    reversible: true,
    params_schema: schema_for::<ToggleParams>,
};

/// Registers the Job family.
pub fn register(registry: &mut Registry) {
    registry.register(Retry);
    registry.register(Toggle {
        spec: &SUSPEND,
        kind: "Job",
        suspend: true,
    });
    registry.register(Toggle {
        spec: &RESUME,
        kind: "Job",
        suspend: false,
    });
}
