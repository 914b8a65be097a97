//! Kubernetes IO: which APIs the server serves, and watch streams that feed the observer.
//! Nothing here decides anything; detection and correlation are elsewhere.

pub mod discovery;
pub mod watch;

pub use discovery::{ServedApis, discover};
pub use watch::{Change, Observed, WatchMetrics, spawn_watch};
