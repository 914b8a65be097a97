//! Chat adapters against fakes of their services, and the conformance suite every adapter
//! passes unchanged.

pub mod conformance;
pub mod console;
pub mod discord;
mod discord_tests;
pub mod harness;
mod incidents;
pub mod slack;
mod slack_events_tests;
mod slack_tests;
pub mod telegram;
mod telegram_tests;
