//! Commands, card buttons, the Propose button, reminders and scheduled digests: the command
//! suite on the console and on the fake Slack, Discord and Telegram, reminders and digests with
//! time on a manual clock.

mod app;
mod digests;
mod reminders;
pub mod rig;
pub mod suite;
mod summary;

/// The suite as `#[tokio::test]`s for one harness.
#[macro_export]
macro_rules! command_suite {
    ($module:ident, $harness:expr) => {
        mod $module {
            use std::sync::Arc;
            use $crate::chat::harness::ChatHarness;
            use $crate::commands::suite as s;

            async fn h() -> Arc<dyn ChatHarness> {
                Arc::new($harness)
            }

            #[tokio::test]
            async fn read_only_commands_answer_anyone() {
                s::read_only_commands_answer_anyone(h().await).await
            }
            #[tokio::test]
            async fn changes_need_the_operator_role() {
                s::changes_need_the_operator_role(h().await).await
            }
            #[tokio::test]
            async fn operators_move_incidents_along() {
                s::operators_move_incidents_along(h().await).await
            }
            #[tokio::test]
            async fn silences_hold_incidents_back_until_they_end() {
                s::silences_hold_incidents_back_until_they_end(h().await).await
            }
            #[tokio::test]
            async fn card_buttons_ack_and_silence() {
                s::card_buttons_ack_and_silence(h().await).await
            }
            #[tokio::test]
            async fn propose_hands_a_suggestion_to_remediation() {
                s::propose_hands_a_suggestion_to_remediation(h().await).await
            }
        }
    };
}

crate::command_suite!(console, crate::chat::console::ConsoleHarness::new().await);
crate::command_suite!(slack, crate::chat::slack::SlackHarness::new().await);
crate::command_suite!(discord, crate::chat::discord::DiscordHarness::new().await);
crate::command_suite!(
    telegram,
    crate::chat::telegram::TelegramHarness::new().await
);
