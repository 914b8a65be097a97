//! `get`: one object as compact YAML (no managedFields, no last-applied annotation), bounded.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::format;
use crate::actions::action::ReadTool;
use crate::actions::context::ActionContext;
use crate::actions::error::Result;
use crate::actions::spec::{ToolSpec, parse_params, schema_for};
use crate::detect::ObjectRef;

pub static SPEC: ToolSpec = ToolSpec {
    name: "get",
    summary: "Get one Kubernetes object as YAML (status included, machine fields dropped).",
    params_schema: schema_for::<Params>,
};

/// Parameters of `get`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[schemars(schema_with = "super::kind_schema")]
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Namespace (required for namespaced kinds).
    #[serde(default)]
    pub namespace: Option<String>,
}

pub struct Get;

#[async_trait]
impl ReadTool for Get {
    fn spec(&self) -> &'static ToolSpec {
        &SPEC
    }

    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String> {
        let p: Params = parse_params(SPEC.name, params)?;
        let kind = super::read_kind(SPEC.name, &p.kind)?;
        let ns = super::namespace_for(SPEC.name, kind, p.namespace.as_deref())?;
        let object = ctx.get(&ObjectRef::new(kind.kind, ns, &p.name)).await?;
        Ok(super::bounded(ctx, &format::compact_yaml(&object)))
    }
}
