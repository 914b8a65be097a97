//! `incidents` (open ones, with links to their threads) and `incident <id>` (the card and a
//! timeline summary).

use super::Commands;
use crate::chat::cards;
use crate::chat::message::{Block, Message, Span, Text};
use crate::chat::notifier::{ROUTES, card_key};
use crate::chat::routing::Target;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::incident::{Incident, TimelineEntry, TimelineKind};
use crate::store::StoreExt;

/// Timeline entries shown by `incident <id>` (the latest; the postmortem has them all).
const TIMELINE_LINES: usize = 15;

impl Commands {
    /// Open, announced incidents, most severe first.
    pub(crate) async fn open_incidents(&self) -> Result<Vec<Incident>, String> {
        let ids = self
            .store
            .list(OPEN_INCIDENTS)
            .await
            .map_err(|e| e.to_string())?;
        let mut open: Vec<Incident> = Vec::new();
        for id in ids {
            if let Ok(Some(i)) = self.store.get_json::<Incident>(INCIDENTS, &id).await
                && i.is_open()
                && i.is_announced()
            {
                open.push(i);
            }
        }
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.number.cmp(&b.number)));
        Ok(open)
    }

    pub(super) async fn incidents(&self, platform: &str) -> Message {
        let open = match self.open_incidents().await {
            Ok(open) => open,
            Err(e) => return Message::text(format!("I cannot read the incidents right now: {e}")),
        };
        if open.is_empty() {
            return Message::text(format!("No open incidents on {}.", self.cluster));
        }
        let mut m = Message::text(Text::plain("").bold(format!(
            "{} open incident{} on {}",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            self.cluster
        )));
        for i in &open {
            let mut line = Text::plain("• ")
                .bold(format!("[{}]", i.severity.as_str().to_uppercase()))
                .and(" ")
                .code(&i.id)
                .and(format!(
                    " {} ({})",
                    self.redact.redact(&i.title),
                    i.state.as_str().replace('_', " ")
                ));
            if let Some(a) = &i.acked {
                line = line.and(format!(
                    " · acked by {}",
                    a.name.as_deref().unwrap_or(&a.by)
                ));
            }
            if let Some(link) = self.thread_link(i, platform).await {
                line = line.and(" · ").push(Span::Link {
                    label: "thread".into(),
                    url: link,
                });
            }
            m = m.paragraph(line);
        }
        m
    }

    pub(super) async fn incident(&self, text: &str, platform: &str) -> Message {
        let incident = match self.find_incident(text).await {
            Ok(i) => i,
            Err(m) => return m,
        };
        let now = self.clock.now();
        let mut m = cards::card(&incident, now, self.redact.as_ref());
        // The buttons belong to the card in the incident's thread; here it is a copy.
        m.buttons.clear();
        let entries: Vec<TimelineEntry> = self
            .store
            .timeline(&incident.id)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|j| crate::incident::postmortem::parse_entry(j))
            .filter(|e| e.kind != TimelineKind::Chat)
            .collect();
        m = m.block(Block::Divider).paragraph(
            Text::plain("")
                .bold(format!("Timeline ({} entries", entries.len()))
                .bold(if entries.len() > TIMELINE_LINES {
                    format!(", the last {TIMELINE_LINES})")
                } else {
                    ")".to_string()
                }),
        );
        let skip = entries.len().saturating_sub(TIMELINE_LINES);
        let lines: Vec<String> = entries
            .iter()
            .skip(skip)
            .map(|e| {
                let who = e
                    .actor
                    .as_deref()
                    .map(|a| format!(" [{a}]"))
                    .unwrap_or_default();
                format!(
                    "{}{who} {}",
                    e.at.format("%m-%d %H:%M:%S"),
                    one_line(&e.text, 160)
                )
            })
            .collect();
        if !lines.is_empty() {
            m = m.code(self.redact.redact(&lines.join("\n")));
        }
        if let Some(link) = self.thread_link(&incident, platform).await {
            m = m.paragraph(Text::plain("").push(Span::Link {
                label: "Open the incident's thread".into(),
                url: link,
            }));
        }
        m
    }

    /// A link to the incident's card on this platform, when it was posted there.
    async fn thread_link(&self, incident: &Incident, platform: &str) -> Option<String> {
        let routes: Vec<Target> = self.store.get_json(ROUTES, &incident.id).await.ok()??;
        let target = routes.iter().find(|t| t.platform == platform)?;
        let sent = self
            .outbound
            .sent(&card_key(&incident.id, target))
            .await
            .ok()??;
        self.outbound.platform(platform)?.permalink(&sent.message)
    }
}

/// The first line of `text`, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        return line.to_string();
    }
    let cut: String = line.chars().take(max).collect();
    format!("{cut}…")
}
