//! Fake chat services that speak the real protocols, so the real client libraries run
//! against them unmodified.

pub mod discord;
pub mod openai;
pub mod slack;
pub mod telegram;
