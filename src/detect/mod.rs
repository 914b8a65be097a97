//! Detection: pure functions from cluster objects to [`Signal`]s. No IO here.

mod signal;

pub use signal::*;
