//! The card's buttons: Ack and Silence 1h. Clicks are authorised like the commands (operator
//! or admin; a refusal is private and audited) and do what `ack <id>` and `silence <id> 1h`
//! do; the card then shows who acked or silenced it.

use std::time::Duration;

use async_trait::async_trait;

use super::{Caller, Commands};
use crate::chat::action::Action;
use crate::chat::event::Click;
use crate::chat::handler::{ClickHandler, ClickReply};
use crate::incident::silence::Scope;

/// Button verbs; the argument is the incident's short id (`INC-7`, the cluster is in the
/// action id's tag), which keeps Telegram's 64-byte callback data enough for long cluster names.
pub const ACK: &str = "ack";
pub const SILENCE: &str = "silence";
/// How long Silence 1h silences.
pub const SILENCE_FOR: Duration = Duration::from_secs(3600);

/// Answers Ack and Silence 1h clicks.
pub struct CardButtons(pub Commands);

#[async_trait]
impl ClickHandler for CardButtons {
    async fn click(&self, click: &Click, action: &Action) -> ClickReply {
        let c = &self.0;
        let caller = Caller {
            user: click.user.clone(),
            channel: click.channel.clone(),
            via: "button",
        };
        let command = if action.verb == ACK { "ack" } else { "silence" };
        if let Err(refusal) = c.authorize(&caller, command).await {
            return ClickReply::Private(refusal.to_plain());
        }
        let incident = match c.find_incident(&action.arg).await {
            Ok(i) if i.is_open() => i,
            Ok(i) => return ClickReply::Private(format!("{} is already {}.", i.id, i.state)),
            Err(m) => return ClickReply::Private(m.to_plain()),
        };
        let answer = if action.verb == ACK {
            c.ack(&incident, &caller).await.to_plain()
        } else {
            match c
                .add_silence(Scope::of_incident(&incident), SILENCE_FOR, &caller)
                .await
            {
                Ok(s) => format!(
                    "Silenced {} for 1h ({}); `unsilence {}` ends it early.",
                    incident.id, s.id, s.id
                ),
                Err(e) => format!("Cannot silence {}: {e}", incident.id),
            }
        };
        ClickReply::Private(answer)
    }
}
