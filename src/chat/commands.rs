//! Commands people give by mentioning the bot: `help` and `incidents` (more arrive with
//! conversations). Case-insensitive; unknown words get a pointer to `help`.

use super::event::Inbound;
use super::message::{Message, Span, Text};
use super::notifier::{ROUTES, card_key};
use super::outbound::Outbound;
use super::routing::Target;
use crate::incident::Incident;
use crate::incident::tracker::{INCIDENTS, OPEN_INCIDENTS};
use crate::store::{SharedStore, StoreExt};

pub struct Commands {
    pub store: SharedStore,
    pub outbound: Outbound,
    pub cluster: String,
}

impl Commands {
    /// The answer to a mention that starts with a command word; `None` when it does not, so
    /// the mention can be taken as a question.
    pub async fn answer(&self, m: &Inbound) -> Option<Message> {
        let text = m.text.trim();
        let word = text.split_whitespace().next().unwrap_or("").to_lowercase();
        Some(match word.as_str() {
            "" | "help" => help(&self.cluster),
            "incidents" => self.incidents(&m.platform).await,
            _ => return None,
        })
    }

    async fn incidents(&self, platform: &str) -> Message {
        let ids = match self.store.list(OPEN_INCIDENTS).await {
            Ok(ids) => ids,
            Err(e) => return Message::text(format!("I cannot read the incidents right now: {e}")),
        };
        let mut open: Vec<Incident> = Vec::new();
        for id in ids {
            if let Ok(Some(i)) = self.store.get_json::<Incident>(INCIDENTS, &id).await
                && i.is_announced()
            {
                open.push(i);
            }
        }
        if open.is_empty() {
            return Message::text(format!("No open incidents on {}.", self.cluster));
        }
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.number.cmp(&b.number)));
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
                    i.title,
                    i.state.as_str().replace('_', " ")
                ));
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

/// What a mention that is no command gets when nothing else answers it.
pub fn unknown(text: &str) -> Message {
    let word = text.split_whitespace().next().unwrap_or("");
    Message::text(
        Text::plain("I don't know ")
            .code(word)
            .and(". Try ")
            .code("help")
            .and("."),
    )
}

fn help(cluster: &str) -> Message {
    Message::text(Text::plain("").bold(format!("Lookout for {cluster}")))
        .paragraph(Text::plain("Mention me with one of:"))
        .paragraph(Text::plain("• ").code("help").and(" — this list"))
        .paragraph(
            Text::plain("• ")
                .code("incidents")
                .and(" — open incidents, with links to their threads"),
        )
        .context("Each incident has a card that I keep up to date, and a thread with the details.")
}
