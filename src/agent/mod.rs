//! The agent: diagnosis (from the model or from rules), and — as it grows — the investigation
//! and the observe-decide-act loop that turn an incident into proposed actions.

pub mod diagnosis;
