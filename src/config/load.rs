//! Loading: defaults, then the YAML file, then environment variables, then validation. Errors
//! name the field (a YAML path or a variable) and say why.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::env::ENV_VARS;
use super::model::Config;
use super::validate::validate;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where: `redis.url`, `LOOKOUT_STORE`, or the file itself.
    pub field: String,
    /// Why it is wrong.
    pub reason: String,
}

/// The configuration cannot be used. Carries every problem found, not only the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<FieldError>,
}

impl ConfigError {
    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError {
                field: field.into(),
                reason: reason.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration")?;
        for e in &self.errors {
            write!(f, "\n  {}: {}", e.field, e.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Loads the configuration from the process environment (and the file it names).
pub fn load() -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    load_from(&env)
}

/// Loads the configuration from the given environment, for tests and tools.
pub fn load_from(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
    let mut config = match env.get("LOOKOUT_CONFIG").filter(|p| !p.is_empty()) {
        Some(path) => from_file(Path::new(path))?,
        None => Config::default(),
    };
    apply_env(&mut config, env)?;
    validate(&config)?;
    Ok(config)
}

/// Parses a YAML file; an empty file means all defaults.
pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(
            format!("LOOKOUT_CONFIG ({})", path.display()),
            format!("cannot read file: {e}"),
        )
    })?;
    from_yaml(&text).map_err(|mut e| {
        for fe in &mut e.errors {
            fe.field = format!("{}: {}", path.display(), fe.field);
        }
        e
    })
}

/// Parses YAML text into a config, naming the offending field on error.
pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // serde_path_to_error writes a map key it could not parse as `?`.
        let path = e.path().to_string().trim_end_matches(".?").to_string();
        let field = if path == "." {
            "(top level)".to_string()
        } else {
            path
        };
        ConfigError::single(field, e.into_inner().to_string())
    })
}

fn apply_env(config: &mut Config, env: &HashMap<String, String>) -> Result<(), ConfigError> {
    let mut errors = Vec::new();
    for var in ENV_VARS {
        let Some(value) = env.get(var.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Err(reason) = (var.apply)(config, value) {
            errors.push(super::load::FieldError {
                field: var.name.to_string(),
                reason,
            });
        }
    }
    // RUST_LOG is the ecosystem's habit; LOOKOUT_LOG wins when both are set.
    if !env.contains_key("LOOKOUT_LOG")
        && let Some(filter) = env.get("RUST_LOG").filter(|v| !v.is_empty())
    {
        config.log.filter = filter.clone();
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { errors })
    }
}
