//! `silence <scope> <duration>`, `silences` and `unsilence <id | scope>`. A silence is a record
//! in the store that expires with it (a day later, so `silences` can still say it ended); the
//! tracker is told at once and holds back what it covers.

use std::time::Duration;

use super::lifecycle::hhmm;
use super::{Caller, Commands};
use crate::chat::cards::human_duration;
use crate::chat::message::{Message, Text};
use crate::incident::silence::{self, SILENCE_SEQ, SILENCES, Scope, Silence};
use crate::store::StoreExt;

/// Records outlive their silence by this much.
const KEEP_AFTER: Duration = Duration::from_secs(86_400);

impl Commands {
    pub(super) async fn silence(&self, scope: &str, duration: &str, caller: &Caller) -> Message {
        if let Err(refusal) = self.authorize(caller, "silence").await {
            return refusal;
        }
        let scope = match self.scope(scope).await {
            Ok(s) => s,
            Err(m) => return m,
        };
        let duration = match silence::parse_duration(duration) {
            Ok(d) => d,
            Err(e) => return Message::text(e),
        };
        match self.add_silence(scope, duration, caller).await {
            Ok(s) => Message::text(
                Text::plain("Silenced ")
                    .code(s.scope.to_string())
                    .and(format!(
                        " until {} ({}) — ",
                        hhmm(s.until),
                        human_duration(s.until - s.created_at)
                    ))
                    .code(&s.id)
                    .and(". New incidents there stay closed; ")
                    .code(format!("unsilence {}", s.id))
                    .and(" ends it early."),
            ),
            Err(e) => Message::text(format!("Cannot silence: {e}")),
        }
    }

    /// A scope as typed: an incident id means what that incident is about.
    async fn scope(&self, text: &str) -> Result<Scope, Message> {
        if self.incident_id(text).is_ok() {
            let incident = self.find_incident(text).await?;
            return Ok(Scope::of_incident(&incident));
        }
        Scope::parse(text).map_err(Message::text)
    }

    /// Stores a silence, tells the tracker and audits it.
    pub(crate) async fn add_silence(
        &self,
        scope: Scope,
        duration: Duration,
        caller: &Caller,
    ) -> Result<Silence, String> {
        let now = self.clock.now();
        let n = self
            .store
            .incr(SILENCE_SEQ, 1, None)
            .await
            .map_err(|e| e.to_string())?;
        let silence = Silence {
            id: format!("S-{n}"),
            scope,
            created_at: now,
            until: now + chrono::Duration::from_std(duration).map_err(|e| e.to_string())?,
            by: caller.user.identity(),
            by_name: caller.user.name.clone(),
        };
        self.store
            .put_json(SILENCES, &silence.id, &silence, Some(duration + KEEP_AFTER))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(t) = &self.tracker {
            t.silences_changed().await;
        }
        let incident = match &silence.scope {
            Scope::Incident { id, .. } => Some(id.as_str()),
            _ => None,
        };
        self.audited(
            caller,
            "silence",
            format!(
                "silenced {} until {} ({})",
                silence.scope,
                silence.until.to_rfc3339(),
                silence.id
            ),
            incident,
        )
        .await;
        Ok(silence)
    }

    /// Active silences, soonest to end first.
    pub(crate) async fn active_silences(&self) -> Result<Vec<Silence>, String> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for id in self.store.list(SILENCES).await.map_err(|e| e.to_string())? {
            if let Ok(Some(s)) = self.store.get_json::<Silence>(SILENCES, &id).await
                && s.is_active(now)
            {
                out.push(s);
            }
        }
        out.sort_by_key(|s| s.until);
        Ok(out)
    }

    pub(super) async fn silences(&self) -> Message {
        let list = match self.active_silences().await {
            Ok(l) => l,
            Err(e) => return Message::text(format!("I cannot read the silences right now: {e}")),
        };
        if list.is_empty() {
            return Message::text("No active silences.");
        }
        let now = self.clock.now();
        let mut m = Message::text(Text::plain("").bold(format!(
            "{} active silence{}",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        )));
        for s in &list {
            m = m.paragraph(
                Text::plain("• ")
                    .code(&s.id)
                    .and(" ")
                    .code(s.scope.to_string())
                    .and(format!(
                        " until {} ({} left), by {}",
                        hhmm(s.until),
                        human_duration(s.until - now),
                        s.who()
                    )),
            );
        }
        m
    }

    pub(super) async fn unsilence(&self, what: &str, caller: &Caller) -> Message {
        if let Err(refusal) = self.authorize(caller, "unsilence").await {
            return refusal;
        }
        let list = match self.active_silences().await {
            Ok(l) => l,
            Err(e) => return Message::text(format!("I cannot read the silences right now: {e}")),
        };
        let wanted = Scope::parse(what).ok().map(|s| s.to_string());
        let incident = self.incident_id(what).ok();
        let matching: Vec<&Silence> = list
            .iter()
            .filter(|s| {
                s.id.eq_ignore_ascii_case(what)
                    || wanted.as_deref() == Some(s.scope.to_string().as_str())
                    || matches!((&s.scope, &incident), (Scope::Incident { id, .. }, Some(i)) if id == i)
            })
            .collect();
        if matching.is_empty() {
            return Message::text(
                Text::plain("No active silence matches ")
                    .code(what)
                    .and(". See ")
                    .code("silences")
                    .and("."),
            );
        }
        let mut ended = Vec::new();
        for s in matching {
            if let Err(e) = self.store.delete(SILENCES, &s.id).await {
                return Message::text(format!("Cannot end {}: {e}", s.id));
            }
            let incident = match &s.scope {
                Scope::Incident { id, .. } => Some(id.as_str()),
                _ => None,
            };
            self.audited(
                caller,
                "unsilence",
                format!("ended silence {} ({})", s.id, s.scope),
                incident,
            )
            .await;
            ended.push(format!("{} ({})", s.id, s.scope));
        }
        if let Some(t) = &self.tracker {
            t.silences_changed().await;
        }
        Message::text(format!(
            "Ended {}. Signals it held back that still fire open incidents now.",
            ended.join(", ")
        ))
    }
}
