//! Incidents: the model, its state machine, its timeline, the bus that announces changes, and
//! the tracker that turns signals into incidents.

mod bus;
mod model;
pub mod postmortem;
pub mod silence;
mod state;
mod timeline;
pub mod tracker;

pub use bus::{IncidentBus, IncidentEvent, IncidentEventKind};
pub use model::*;
pub use state::{IncidentState, TransitionError};
pub use timeline::{TimelineEntry, TimelineKind};
