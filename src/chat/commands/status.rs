//! `status`: cluster health read live (nodes ready, pods not running by namespace), open
//! incidents by severity, and whether automation runs.

use super::Commands;
use crate::chat::message::{Message, Text};
use crate::correlate::Severity;

/// Namespaces listed by `status` (worst first).
const MAX_NAMESPACES: usize = 10;

impl Commands {
    pub(super) async fn status(&self) -> Message {
        let mut m = Message::text(Text::plain("").bold(format!("Status of {}", self.cluster)));
        match &self.cluster_view {
            Some(view) => match view.read().await {
                Ok(h) => {
                    for line in h.lines(MAX_NAMESPACES) {
                        m = m.paragraph(line);
                    }
                }
                Err(e) => {
                    m = m.paragraph(format!("The API server did not answer: {e}"));
                }
            },
            None => m = m.paragraph("Cluster state is not available here."),
        }
        match self.open_incidents().await {
            Ok(open) => {
                let mut counts = Vec::new();
                for s in [
                    Severity::Critical,
                    Severity::High,
                    Severity::Medium,
                    Severity::Low,
                ] {
                    let n = open.iter().filter(|i| i.severity == s).count();
                    if n > 0 {
                        counts.push(format!("{n} {s}"));
                    }
                }
                let unacked = open
                    .iter()
                    .filter(|i| i.severity >= Severity::High && i.acked.is_none())
                    .count();
                let mut line = Text::plain("")
                    .bold("Open incidents: ")
                    .and(if open.is_empty() {
                        "none".to_string()
                    } else {
                        counts.join(", ")
                    });
                if unacked > 0 {
                    line = line.and(format!(" ({unacked} high or critical not acknowledged)"));
                }
                m = m.paragraph(line);
            }
            Err(e) => m = m.paragraph(format!("I cannot read the incidents right now: {e}")),
        }
        let silences = self.active_silences().await.map(|s| s.len()).unwrap_or(0);
        let paused = self.paused_by_config || self.paused().await;
        m.context(format!(
            "Automation {}{}.",
            if paused { "paused" } else { "running" },
            match silences {
                0 => String::new(),
                1 => " · 1 active silence".to_string(),
                n => format!(" · {n} active silences"),
            }
        ))
    }
}
