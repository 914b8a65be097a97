//! `logs`: a container's log through the API server (the previous instance for a crash loop),
//! bounded. When more lines exist than asked for, the newest are kept and, from the older
//! ones, the error lines and stack traces too: the exception that explains a crash is often
//! printed well before the last lines.

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::format;
use crate::actions::action::ReadTool;
use crate::actions::context::{ActionContext, typed};
use crate::actions::error::{ActionError, Result, status_code};
use crate::actions::spec::{ToolSpec, parse_params, schema_for};
use crate::detect::ObjectRef;

pub static SPEC: ToolSpec = ToolSpec {
    name: "logs",
    summary: "Last lines of a pod container's log (previous=true: the instance before the last \
              restart, for crash loops); older error lines and stack traces are kept.",
    params_schema: schema_for::<Params>,
};

/// Parameters of `logs`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub pod: String,
    /// Container; by default the only one, else the first that is not ready.
    #[serde(default)]
    pub container: Option<String>,
    /// The previous (crashed) instance of the container.
    #[serde(default)]
    pub previous: bool,
    /// How many of the last lines (bounded by the configured maximum).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub tail_lines: Option<u32>,
}

pub struct Logs;

#[async_trait]
impl ReadTool for Logs {
    fn spec(&self) -> &'static ToolSpec {
        &SPEC
    }

    async fn run(&self, ctx: &ActionContext, params: &Value) -> Result<String> {
        let p: Params = parse_params(SPEC.name, params)?;
        let target = ObjectRef::namespaced("Pod", &p.namespace, &p.pod);
        let pod: Pod = typed(&ctx.get(&target).await?, &target)?;
        let container = pick_container(&pod, p.container.as_deref())
            .map_err(|e| ActionError::invalid(SPEC.name, e))?;
        let read = &ctx.config.read;
        let wanted = p
            .tail_lines
            .unwrap_or(read.default_log_lines)
            .min(read.max_log_lines) as usize;
        let lp = LogParams {
            container: Some(container.clone()),
            previous: p.previous,
            tail_lines: Some(i64::from(read.max_log_lines)),
            ..LogParams::default()
        };
        let instance = if p.previous {
            "previous instance of "
        } else {
            ""
        };
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &p.namespace);
        let text = match api.logs(&p.pod, &lp).await {
            Ok(t) => t,
            Err(e) if status_code(&e) == Some(400) => {
                let why = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    other => other.to_string(),
                };
                return Ok(format!(
                    "no log for the {instance}container {container} of {target}: {why}\n"
                ));
            }
            Err(e) => return Err(ActionError::kube("read logs of", &target, e)),
        };
        let lines: Vec<&str> = text.lines().collect();
        let body = trim_log(&lines, wanted);
        let header = format!(
            "log of the {instance}container {container} of {target}: {} of {}{} lines\n",
            lines.len().min(wanted),
            lines.len(),
            if lines.len() >= read.max_log_lines as usize {
                "+"
            } else {
                ""
            },
        );
        let budget = read.max_output_chars.saturating_sub(header.len());
        Ok(header + &format::bounded_tail(&body, budget))
    }
}

/// The named container, or the only one, or the first one not ready.
fn pick_container(pod: &Pod, wanted: Option<&str>) -> std::result::Result<String, String> {
    let names: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| c.name.clone())
        .collect();
    if let Some(w) = wanted {
        let inits = pod
            .spec
            .iter()
            .flat_map(|s| s.init_containers.iter().flatten());
        if names.iter().any(|n| n == w) || inits.into_iter().any(|c| c.name == w) {
            return Ok(w.to_string());
        }
        return Err(format!(
            "pod has no container {w} (containers: {})",
            names.join(", ")
        ));
    }
    let unready = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .find(|c| !c.ready)
        .map(|c| c.name.clone());
    unready
        .or_else(|| names.first().cloned())
        .ok_or_else(|| "pod has no containers".into())
}

/// Whether a line reports an error (or starts a stack trace).
fn is_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error",
        "exception",
        "fatal",
        "panic",
        "traceback",
        "caused by",
        "failed",
        "outofmemory",
        "oomkilled",
        "segfault",
    ]
    .iter()
    .any(|w| l.contains(w))
}

/// Whether a line continues a stack trace (`\tat ...`, `  File "..."`, `goroutine 1`, `...`).
fn continues_trace(line: &str) -> bool {
    let t = line.trim_start();
    (line.starts_with([' ', '\t']) && !t.is_empty())
        || t.starts_with("at ")
        || t.starts_with("Caused by")
        || t.starts_with("goroutine ")
        || t.starts_with("...")
}

/// PURE: the last `wanted` lines, preceded by the error lines and stack traces among the older
/// lines (at most `wanted` of them), with markers where lines were left out.
pub fn trim_log(lines: &[&str], wanted: usize) -> String {
    if lines.len() <= wanted {
        return lines.iter().map(|l| format!("{l}\n")).collect();
    }
    let split = lines.len() - wanted;
    let (older, newest) = lines.split_at(split);
    let mut keep = vec![false; older.len()];
    let mut in_trace = false;
    for (i, line) in older.iter().enumerate() {
        in_trace = is_error(line) || (in_trace && continues_trace(line));
        keep[i] = in_trace;
    }
    let mut budget = wanted;
    let mut out = String::new();
    let mut skipped = 0;
    for (line, k) in older.iter().zip(keep) {
        if k && budget > 0 {
            if skipped > 0 {
                out += &format!("[... {skipped} lines omitted ...]\n");
                skipped = 0;
            }
            out += line;
            out.push('\n');
            budget -= 1;
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        out += &format!("[... {skipped} lines omitted ...]\n");
    }
    for line in newest {
        out += line;
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_logs_pass_unchanged() {
        assert_eq!(trim_log(&["a", "b"], 5), "a\nb\n");
    }

    #[test]
    fn trimming_keeps_the_newest_lines_and_older_errors_with_their_traces() {
        let mut lines: Vec<String> = (0..40).map(|i| format!("INFO request {i} ok")).collect();
        lines.insert(
            5,
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space".into(),
        );
        lines.insert(6, "\tat com.shop.Catalog.load(Catalog.java:42)".into());
        lines.insert(7, "\tat com.shop.Main.main(Main.java:9)".into());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let out = trim_log(&refs, 3);
        assert_eq!(
            out,
            "[... 5 lines omitted ...]\n\
             Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\
             \tat com.shop.Catalog.load(Catalog.java:42)\n\
             \tat com.shop.Main.main(Main.java:9)\n\
             [... 32 lines omitted ...]\n\
             INFO request 37 ok\nINFO request 38 ok\nINFO request 39 ok\n"
        );
    }

    #[test]
    fn the_older_part_is_bounded_too() {
        let lines: Vec<String> = (0..100).map(|i| format!("ERROR {i}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let out = trim_log(&refs, 10);
        assert_eq!(out.lines().filter(|l| l.starts_with("ERROR")).count(), 20);
        assert!(out.ends_with("ERROR 99\n"));
    }
}
