//! Runbook steps made concrete: parameters and explanations are handlebars templates over the
//! incident and the signal that matched, rendered in strict mode.

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde_json::{Value, json};

use super::model::Runbook;
use crate::detect::Signal;
use crate::incident::Incident;

/// A step ready to be planned: an action and concrete parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: String,
    pub params: Value,
    pub why: String,
}

fn registry() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    // Parameters are data, not HTML.
    h.register_escape_fn(handlebars::no_escape);
    h.register_helper("times", Box::new(times));
    h.register_helper("add", Box::new(add));
    h
}

/// `{{times "64Mi" 2}}` -> `128Mi`: a quantity multiplied (actions bound the factor).
fn times(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let q = h.param(0).and_then(|p| p.value().as_str()).ok_or_else(|| {
        RenderError::from(RenderErrorReason::Other(
            "times: the first argument must be a quantity like 64Mi".into(),
        ))
    })?;
    let f = h.param(1).and_then(|p| p.value().as_f64()).ok_or_else(|| {
        RenderError::from(RenderErrorReason::Other(
            "times: the second argument must be a number".into(),
        ))
    })?;
    let split = q
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let v: f64 = n.parse().map_err(|_| {
        RenderError::from(RenderErrorReason::Other(format!(
            "times: `{q}` is not a quantity"
        )))
    })?;
    let r = v * f;
    let text = if r.fract() == 0.0 {
        format!("{}{unit}", r as u64)
    } else {
        format!("{}{unit}", (r * 1000.0).round() / 1000.0)
    };
    out.write(&text)?;
    Ok(())
}

/// `{{add 10 2}}` -> `12`.
fn add(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let num = |i: usize| -> Result<i64, RenderError> {
        let v = h.param(i).map(|p| p.value().clone()).unwrap_or(Value::Null);
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| {
                RenderError::from(RenderErrorReason::Other(format!(
                    "add: argument {} is not a whole number",
                    i + 1
                )))
            })
    };
    out.write(&(num(0)? + num(1)?).to_string())?;
    Ok(())
}

/// What templates see.
pub fn context(incident: &Incident, signal: &Signal) -> Value {
    json!({
        "incident": {
            "id": incident.id, "title": incident.title, "cluster": incident.cluster,
            "severity": incident.severity.as_str(), "state": incident.state.as_str(),
        },
        "owner": signal.owner,
        "signal": {
            "name": signal.name.as_str(),
            "object": signal.object,
            "node": signal.node,
            "evidence": {
                "reason": signal.evidence.reason, "message": signal.evidence.message,
                "container": signal.evidence.container, "count": signal.evidence.count,
                "details": signal.evidence.details,
            },
        },
    })
}

/// Renders a string template; other JSON values pass as they are. A rendered whole number or
/// boolean becomes that JSON type (`"{{add ...}}"` for an integer parameter).
fn render_value(h: &Handlebars, v: &Value, ctx: &Value) -> Result<Value, String> {
    match v {
        Value::String(t) => {
            let out = h.render_template(t, ctx).map_err(|e| e.to_string())?;
            if let Ok(n) = out.parse::<i64>() {
                return Ok(json!(n));
            }
            match out.as_str() {
                "true" => Ok(json!(true)),
                "false" => Ok(json!(false)),
                _ => Ok(Value::String(out)),
            }
        }
        Value::Array(items) => items
            .iter()
            .map(|i| render_value(h, i, ctx))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), render_value(h, v, ctx)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// The runbook's steps for this incident and signal.
pub fn instantiate(
    book: &Runbook,
    incident: &Incident,
    signal: &Signal,
) -> Result<Vec<Step>, String> {
    let h = registry();
    let ctx = context(incident, signal);
    book.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let params = s
                .params
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        render_value(&h, v, &ctx)
                            .map_err(|e| format!("steps[{i}].params.{k}: {e}"))?,
                    ))
                })
                .collect::<Result<serde_json::Map<_, _>, String>>()?;
            let why = h
                .render_template(&s.why, &ctx)
                .map_err(|e| format!("steps[{i}].why: {e}"))?;
            Ok(Step {
                action: s.action.clone(),
                params: Value::Object(params),
                why,
            })
        })
        .collect()
}

/// The runbook's explanation for this incident, if it has one.
pub fn explain(
    book: &Runbook,
    incident: &Incident,
    signal: &Signal,
) -> Result<Option<String>, String> {
    let Some(t) = &book.explain else {
        return Ok(None);
    };
    registry()
        .render_template(t, &context(incident, signal))
        .map(Some)
        .map_err(|e| format!("explain: {e}"))
}

/// Renders every template against a representative incident, so a typo or an unknown field
/// fails `lookout check` rather than a live incident. Evidence details differ per signal; the
/// sample carries the ones runbooks use.
pub(super) fn check_templates(book: &Runbook) -> Result<(), String> {
    let h = registry();
    let mut ctx = json!({
        "incident": {"id": "c/INC-1", "title": "t", "cluster": "c", "severity": "high", "state": "detected"},
        "owner": {"kind": "Deployment", "namespace": "shop", "name": "web"},
        "signal": {
            "name": "oom_killed",
            "object": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
            "node": "node-1",
            "evidence": {"reason": "r", "message": "m", "container": "app", "count": 3, "details": {}},
        },
    });
    let details = [
        ("memory_limit", "64Mi"),
        ("memory_request", "64Mi"),
        ("exit_code", "137"),
        ("image", "i:1"),
        ("min", "1"),
        ("max", "10"),
        ("current", "10"),
        ("desired", "12"),
        ("target", "Deployment/web"),
        ("pods", "3"),
        ("job", "j"),
        ("missing", "Secret shop/x"),
        ("key", "k"),
        ("ready", "False"),
        ("pressures", "MemoryPressure"),
        ("cordoned", "false"),
        ("failed_pods", "1"),
        ("succeeded_pods", "0"),
        ("images", "app=i:1"),
    ];
    for (k, v) in details {
        ctx["signal"]["evidence"]["details"][k] = json!(v);
    }
    for (i, s) in book.steps.iter().enumerate() {
        for (k, v) in &s.params {
            render_value(&h, v, &ctx).map_err(|e| format!("steps[{i}].params.{k}: {e}"))?;
        }
        h.render_template(&s.why, &ctx)
            .map_err(|e| format!("steps[{i}].why: {e}"))?;
    }
    if let Some(t) = &book.explain {
        h.render_template(t, &ctx)
            .map_err(|e| format!("explain: {e}"))?;
    }
    Ok(())
}
