//! `pause` and `resume`: the global automation switch (`remediation.PAUSED` in the store, which
//! the remediation engine reads before it proposes anything). Who switched it, and when, is
//! kept beside it and audited.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle::hhmm;
use super::{Caller, Commands};
use crate::chat::message::{Message, Text};
use crate::remediation::{AUTOMATION, PAUSED};
use crate::store::StoreExt;

/// Who last switched automation, beside the switch itself.
const SWITCHED: &str = "switched";
/// The switch does not expire with the record retention: ten years is "until resumed".
const FOREVER: Duration = Duration::from_secs(10 * 365 * 86_400);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Switched {
    paused: bool,
    by: String,
    at: DateTime<Utc>,
}

impl Commands {
    /// Whether automation is paused at runtime (the switch in the store).
    pub(crate) async fn paused(&self) -> bool {
        matches!(self.store.get(AUTOMATION, PAUSED).await, Ok(Some(v)) if v == "true")
    }

    pub(super) async fn automation(&self, pause: bool, caller: &Caller) -> Message {
        let command = if pause { "pause" } else { "resume" };
        if let Err(refusal) = self.authorize(caller, command).await {
            return refusal;
        }
        let last: Option<Switched> = self
            .store
            .get_json(AUTOMATION, SWITCHED)
            .await
            .ok()
            .flatten();
        if self.paused().await == pause {
            let since = last
                .filter(|s| s.paused == pause)
                .map(|s| format!(" (since {} by {})", hhmm(s.at), s.by))
                .unwrap_or_default();
            return Message::text(format!(
                "Automation is already {}{since}.",
                if pause { "paused" } else { "running" }
            ));
        }
        let written = if pause {
            self.store
                .put(AUTOMATION, PAUSED, "true", Some(FOREVER))
                .await
        } else {
            self.store.delete(AUTOMATION, PAUSED).await
        };
        if let Err(e) = written {
            return Message::text(format!("Cannot {command} automation: {e}"));
        }
        let switched = Switched {
            paused: pause,
            by: caller.who(),
            at: self.clock.now(),
        };
        let _ = self
            .store
            .put_json(AUTOMATION, SWITCHED, &switched, Some(FOREVER))
            .await;
        self.audited(
            caller,
            command,
            format!("automation {}", if pause { "paused" } else { "resumed" }),
            None,
        )
        .await;
        let mut m = if pause {
            Message::text(
                Text::plain("")
                    .bold("Automation paused")
                    .and(format!(
                        " by {}: no new diagnoses or proposals until someone says ",
                        caller.who()
                    ))
                    .code("resume")
                    .and(". Pending approvals still work."),
            )
        } else {
            Message::text(
                Text::plain("")
                    .bold("Automation resumed")
                    .and(format!(" by {}.", caller.who())),
            )
        };
        if !pause && self.paused_by_config {
            m = m.context(
                "It stays paused all the same: the configuration says remediation.paused: true.",
            );
        }
        m
    }
}
