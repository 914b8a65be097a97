//! Configuration: defaults, then an optional YAML file (`LOOKOUT_CONFIG`), then environment
//! variables for secrets and basics. Unknown keys and invalid values fail at start with the
//! field named; `lookout check` prints the effective result with secrets masked.

pub(crate) mod duration;
mod env;
mod load;
mod model;
mod secret;
mod validate;

pub use env::{ENV_VARS, EnvVar};
pub use load::{ConfigError, load, load_from};
pub use model::*;
pub use secret::{Secret, SecretUrl};

#[cfg(test)]
mod tests;
