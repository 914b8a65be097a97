//! PURE: what a simulated container prints. A workload declares its lines with
//! `sim.lookout.dev/logs`; crashes add what such a process would print on the way down (a JVM
//! `OutOfMemoryError`, a Go `fatal error: runtime: out of memory`, ...), so an investigator
//! reading `kubectl logs --previous` finds the story the objects tell.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::annotations::{self as ann, ContainerKind};
use super::container::Ending;
use super::logs::LogLine;
use super::quantity;

/// Runtime families with recognisable crash output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Jvm,
    Go,
    Node,
    Python,
}

impl Style {
    /// From `sim.lookout.dev/runtime`, else guessed from the image name, else Go.
    pub fn of(pod: &Pod, container: &str, kind: ContainerKind, image: &str) -> Self {
        let declared = ann::for_container(pod, ann::RUNTIME, container, kind).unwrap_or("");
        let hint = if declared.is_empty() { image } else { declared };
        let hint = hint.to_ascii_lowercase();
        if [
            "jvm", "java", "jdk", "jre", "temurin", "spring", "kotlin", "scala",
        ]
        .iter()
        .any(|k| hint.contains(k))
        {
            Style::Jvm
        } else if hint.contains("node") || hint.contains("javascript") {
            Style::Node
        } else if hint.contains("python") || hint.contains("django") || hint.contains("flask") {
            Style::Python
        } else {
            Style::Go
        }
    }
}

/// The lines an instance prints when it starts: the declared ones, or a short generic banner.
pub fn startup(
    pod: &Pod,
    container: &str,
    kind: ContainerKind,
    image: &str,
    at: Timestamp,
) -> Vec<LogLine> {
    let texts: Vec<String> = match ann::for_container(pod, ann::LOGS, container, kind) {
        Some(text) => text.lines().map(str::to_string).collect(),
        None => vec![
            format!("starting {container} (image {image})"),
            format!("{container} ready"),
        ],
    };
    stamp(at, texts)
}

/// What an instance prints as it ends this way.
pub fn ending(
    pod: &Pod,
    container: &str,
    kind: ContainerKind,
    image: &str,
    how: Ending,
    limit: Option<i64>,
    at: Timestamp,
) -> Vec<LogLine> {
    let texts = match how {
        Ending::OomKilled => oom(Style::of(pod, container, kind, image), limit),
        Ending::Exit(0) => vec![format!("{container} finished")],
        Ending::Exit(code) => vec![format!(
            "level=error msg=\"{container} exiting with an error\" exit_code={code}"
        )],
    };
    // Just before the end, so sinceTime/timestamps order stays right.
    let start = at
        .checked_sub(SignedDuration::from_millis(texts.len() as i64))
        .unwrap_or(at);
    stamp(start, texts)
}

fn oom(style: Style, limit: Option<i64>) -> Vec<String> {
    let limit = limit
        .map(quantity::format_bytes)
        .unwrap_or_else(|| "the limit".into());
    let lines: &[&str] = match style {
        Style::Jvm => &[
            "WARN  c.e.cache.WarmUp - heap usage above 90%, GC overhead rising",
            "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
            "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
            "\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)",
            "\tat com.example.cache.WarmUp.load(WarmUp.java:88)",
            "\tat com.example.Application.main(Application.java:41)",
        ],
        Style::Go => &[
            "fatal error: runtime: out of memory",
            "",
            "runtime stack:",
            "runtime.throw({0x9c5e2b?, 0x2000?})",
            "\t/usr/local/go/src/runtime/panic.go:1077 +0x5c",
            "runtime.sysMap(0xc000400000, 0x4000000, 0xd5f9b8?)",
            "\t/usr/local/go/src/runtime/mem_linux.go:187 +0x11b",
            "runtime.(*mheap).grow(0xd4f3a0, 0x2000?)",
            "\t/usr/local/go/src/runtime/mheap.go:1491 +0x225",
        ],
        Style::Node => &[
            "<--- Last few GCs --->",
            "[1:0x5d1c2e0]    41234 ms: Mark-sweep 251.3 (258.9) -> 250.8 (259.4) MB, 812.2 / 0.0 ms  allocation failure; GC in old space requested",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        ],
        Style::Python => &[
            "Traceback (most recent call last):",
            "  File \"/app/main.py\", line 42, in <module>",
            "    cache = load_everything()",
            "MemoryError",
        ],
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(
        0,
        format!("memory usage approaching container limit of {limit}"),
    );
    out
}

fn stamp(start: Timestamp, texts: Vec<String>) -> Vec<LogLine> {
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| LogLine {
            at: start
                .checked_add(SignedDuration::from_millis(i as i64))
                .unwrap_or(start),
            text,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"annotations": annotations}}))
            .unwrap()
    }

    #[test]
    fn declared_lines_come_first() {
        let p =
            pod(serde_json::json!({"sim.lookout.dev/logs": "listening on :8080\nconnected to db"}));
        let lines = startup(&p, "app", ContainerKind::App, "shop:1", Timestamp::now());
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["listening on :8080", "connected to db"]);
        assert!(lines[0].at < lines[1].at);
    }

    #[test]
    fn oom_trace_fits_the_runtime() {
        let p = pod(serde_json::json!({}));
        let at = Timestamp::now();
        let jvm = ending(
            &p,
            "app",
            ContainerKind::App,
            "eclipse-temurin:21",
            Ending::OomKilled,
            Some(128 << 20),
            at,
        );
        assert!(
            jvm.iter()
                .any(|l| l.text.contains("java.lang.OutOfMemoryError"))
        );
        assert!(jvm[0].text.contains("128Mi"));
        let go = ending(
            &p,
            "app",
            ContainerKind::App,
            "shop/cart:2",
            Ending::OomKilled,
            None,
            at,
        );
        assert!(
            go.iter()
                .any(|l| l.text == "fatal error: runtime: out of memory")
        );
        let p = pod(serde_json::json!({"sim.lookout.dev/runtime": "python"}));
        let py = ending(
            &p,
            "app",
            ContainerKind::App,
            "shop/cart:2",
            Ending::OomKilled,
            None,
            at,
        );
        assert_eq!(py.last().unwrap().text, "MemoryError");
        assert!(py.last().unwrap().at <= at);
    }
}
