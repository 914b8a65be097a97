//! The agent: investigation and diagnosis (from the model, or from rules), and — as it grows —
//! the observe-decide-act loop that turns an incident into proposed actions.

pub mod diagnosis;
pub mod investigate;

pub use investigate::{Investigation, Investigator, brief};
