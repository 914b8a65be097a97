//! What the simulated containers printed, per container instance, and how the kubelet's
//! `/containerLogs` endpoint answers from it: which instance "current" and `previous=true`
//! mean (the kubelet's `validateContainerLogStatus` rules, with its error messages), and the
//! `tailLines`, `sinceSeconds`, `sinceTime`, `timestamps`, `limitBytes` options.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::ContainerStatus;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Lines kept per container instance; older ones are dropped.
const MAX_LINES: usize = 2000;

/// One printed line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: Timestamp,
    pub text: String,
}

/// The options of a log request, as the kubelet receives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<Timestamp>,
    pub limit_bytes: Option<i64>,
}

impl LogQuery {
    /// From a query string (`previous=true&tailLines=10`); unknown keys are ignored.
    pub fn parse(query: &str) -> Self {
        let mut q = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "previous" => q.previous = v == "true" || v == "1",
                "timestamps" => q.timestamps = v == "true" || v == "1",
                "tailLines" => q.tail_lines = v.parse().ok(),
                "sinceSeconds" => q.since_seconds = v.parse().ok(),
                "sinceTime" => q.since_time = v.parse().ok(),
                "limitBytes" => q.limit_bytes = v.parse().ok(),
                _ => {}
            }
        }
        q
    }
}

/// Why a log request cannot be answered: the HTTP status and the kubelet's text.
#[derive(Debug, Clone, PartialEq)]
pub struct LogError {
    pub status: u16,
    pub message: String,
}

#[derive(Debug, Default)]
struct PodLogs {
    uid: String,
    statuses: Vec<ContainerStatus>,
    instances: HashMap<String, Vec<LogLine>>,
}

/// Every pod's container logs on this sim's nodes.
#[derive(Debug, Default)]
pub struct LogBook {
    pods: HashMap<(String, String), PodLogs>,
}

impl LogBook {
    fn pod(&mut self, ns: &str, pod: &str, uid: &str) -> &mut PodLogs {
        let entry = self
            .pods
            .entry((ns.to_string(), pod.to_string()))
            .or_default();
        if entry.uid != uid {
            // A new pod with the same name (StatefulSet): the old one's logs are gone.
            *entry = PodLogs {
                uid: uid.to_string(),
                ..PodLogs::default()
            };
        }
        entry
    }

    /// A new container instance with the lines it prints when it starts.
    pub fn start(&mut self, ns: &str, pod: &str, uid: &str, id: &str, lines: Vec<LogLine>) {
        let logs = self.pod(ns, pod, uid);
        logs.instances.insert(id.to_string(), lines);
        trim(logs.instances.get_mut(id));
    }

    /// More lines from an instance (its crash output).
    pub fn append(&mut self, ns: &str, pod: &str, uid: &str, id: &str, lines: Vec<LogLine>) {
        let logs = self.pod(ns, pod, uid);
        let instance = logs.instances.entry(id.to_string()).or_default();
        instance.extend(lines);
        trim(Some(instance));
    }

    /// The statuses just reported for the pod: they decide what "current" and "previous"
    /// mean. Instances no status refers to any more are dropped.
    pub fn record_statuses(
        &mut self,
        ns: &str,
        pod: &str,
        uid: &str,
        statuses: Vec<ContainerStatus>,
    ) {
        let logs = self.pod(ns, pod, uid);
        let live: Vec<String> = statuses
            .iter()
            .flat_map(|s| [s.container_id.clone(), last_id(s)])
            .flatten()
            .collect();
        logs.instances.retain(|id, _| live.contains(id));
        logs.statuses = statuses;
    }

    /// Keeps only the pods (namespace, name) for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(&(String, String)) -> bool) {
        self.pods.retain(|key, _| keep(key));
    }

    /// The response body for `GET /containerLogs/{ns}/{pod}/{container}`.
    pub fn query(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        q: &LogQuery,
        now: Timestamp,
    ) -> Result<String, LogError> {
        let not_found = |message: String| LogError {
            status: 404,
            message,
        };
        let bad = |message: String| LogError {
            status: 400,
            message,
        };
        let logs = self
            .pods
            .get(&(ns.to_string(), pod.to_string()))
            .ok_or_else(|| not_found(format!("pod \"{pod}\" does not exist\n")))?;
        let status = logs
            .statuses
            .iter()
            .find(|s| s.name == container)
            .ok_or_else(|| {
                not_found(format!(
                    "container \"{container}\" not found in pod \"{pod}\"\n"
                ))
            })?;
        let id = instance_for(status, pod, q.previous).map_err(bad)?;
        let lines = logs.instances.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        Ok(render(lines, q, now))
    }
}

fn trim(lines: Option<&mut Vec<LogLine>>) {
    if let Some(lines) = lines
        && lines.len() > MAX_LINES
    {
        let excess = lines.len() - MAX_LINES;
        lines.drain(..excess);
    }
}

fn last_id(s: &ContainerStatus) -> Option<String> {
    s.last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .and_then(|t| t.container_id.clone())
}

/// Which instance a request means, by the kubelet's rules.
fn instance_for(s: &ContainerStatus, pod: &str, previous: bool) -> Result<String, String> {
    let name = &s.name;
    let state = s.state.clone().unwrap_or_default();
    let last = last_id(s);
    if previous {
        return last.ok_or_else(|| {
            format!("previous terminated container \"{name}\" in pod \"{pod}\" not found")
        });
    }
    if state.running.is_some() {
        return s
            .container_id
            .clone()
            .ok_or_else(|| format!("container \"{name}\" in pod \"{pod}\" is not available"));
    }
    if let Some(t) = &state.terminated {
        return t
            .container_id
            .clone()
            .or(last)
            .ok_or_else(|| format!("container \"{name}\" in pod \"{pod}\" is terminated"));
    }
    if let Some(id) = last {
        return Ok(id);
    }
    let reason = state
        .waiting
        .and_then(|w| w.reason)
        .unwrap_or_else(|| "ContainerCreating".into());
    let why = match reason.as_str() {
        "ErrImagePull" => "image can't be pulled".to_string(),
        "ImagePullBackOff" => "trying and failing to pull image".to_string(),
        other => other.to_string(),
    };
    Err(format!(
        "container \"{name}\" in pod \"{pod}\" is waiting to start: {why}"
    ))
}

fn render(lines: &[LogLine], q: &LogQuery, now: Timestamp) -> String {
    let since = match (q.since_time, q.since_seconds) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => now.checked_sub(SignedDuration::from_secs(s)).ok(),
        (None, None) => None,
    };
    let selected: Vec<&LogLine> = lines
        .iter()
        .filter(|l| since.is_none_or(|s| l.at >= s))
        .collect();
    let skip = match q.tail_lines {
        Some(n) if n >= 0 => selected.len().saturating_sub(n as usize),
        _ => 0,
    };
    let mut out = String::new();
    for line in &selected[skip..] {
        if q.timestamps {
            out.push_str(&line.at.to_string());
            out.push(' ');
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    if let Some(limit) = q.limit_bytes.filter(|l| *l >= 0) {
        let mut cut = (limit as usize).min(out.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> ContainerStatus {
        serde_json::from_value(json).unwrap()
    }

    fn lines(at: Timestamp, texts: &[&str]) -> Vec<LogLine> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| LogLine {
                at: at + SignedDuration::from_secs(i as i64),
                text: t.to_string(),
            })
            .collect()
    }

    fn book() -> (LogBook, Timestamp) {
        let t0: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let mut b = LogBook::default();
        b.start("ns", "web", "u", "c://1", lines(t0, &["boot 1", "crash 1"]));
        b.start(
            "ns",
            "web",
            "u",
            "c://2",
            lines(
                t0 + SignedDuration::from_secs(60),
                &["boot 2", "serving", "ok"],
            ),
        );
        b.record_statuses(
            "ns",
            "web",
            "u",
            vec![status(serde_json::json!({
                "name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
                "containerID": "c://2",
                "state": {"running": {"startedAt": "2024-05-01T10:01:00Z"}},
                "lastState": {"terminated": {"exitCode": 137, "containerID": "c://1"}}
            }))],
        );
        (b, t0 + SignedDuration::from_secs(70))
    }

    #[test]
    fn current_and_previous_instances() {
        let (b, now) = book();
        let q = LogQuery::default();
        assert_eq!(
            b.query("ns", "web", "app", &q, now).unwrap(),
            "boot 2\nserving\nok\n"
        );
        let prev = LogQuery::parse("previous=true");
        assert_eq!(
            b.query("ns", "web", "app", &prev, now).unwrap(),
            "boot 1\ncrash 1\n"
        );
    }

    #[test]
    fn tail_since_timestamps_limit() {
        let (b, now) = book();
        let q = LogQuery::parse("tailLines=1&timestamps=true");
        assert_eq!(
            b.query("ns", "web", "app", &q, now).unwrap(),
            "2024-05-01T10:01:02Z ok\n"
        );
        let q = LogQuery::parse("sinceSeconds=9");
        assert_eq!(
            b.query("ns", "web", "app", &q, now).unwrap(),
            "serving\nok\n"
        );
        let q = LogQuery::parse("limitBytes=4");
        assert_eq!(b.query("ns", "web", "app", &q, now).unwrap(), "boot");
    }

    #[test]
    fn errors_follow_the_kubelet() {
        let mut b = LogBook::default();
        b.record_statuses(
            "ns",
            "web",
            "u",
            vec![status(serde_json::json!({
                "name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff"}}
            }))],
        );
        let now = Timestamp::now();
        let err = b
            .query("ns", "web", "app", &LogQuery::default(), now)
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(
            err.message,
            "container \"app\" in pod \"web\" is waiting to start: trying and failing to pull image"
        );
        let err = b
            .query("ns", "web", "app", &LogQuery::parse("previous=true"), now)
            .unwrap_err();
        assert_eq!(
            err.message,
            "previous terminated container \"app\" in pod \"web\" not found"
        );
        assert_eq!(
            b.query("ns", "gone", "app", &LogQuery::default(), now)
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn old_instances_are_dropped() {
        let (mut b, _) = book();
        b.start("ns", "web", "u", "c://3", vec![]);
        b.record_statuses(
            "ns",
            "web",
            "u",
            vec![status(serde_json::json!({
                "name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 2,
                "containerID": "c://3",
                "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 137, "containerID": "c://2"}}
            }))],
        );
        let logs = &b.pods[&("ns".to_string(), "web".to_string())];
        assert!(!logs.instances.contains_key("c://1"));
        assert_eq!(logs.instances.len(), 2);
    }
}
