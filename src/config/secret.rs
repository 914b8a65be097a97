//! Values that must never be printed: tokens, passwords, URLs with credentials. They serialize
//! masked, so `lookout check` and debug logs can show the effective config safely.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MASK: &str = "********";

/// A secret string. `Debug` and `Serialize` show it masked; only [`Secret::expose`] reveals it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (an HTTP header, a client config).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { MASK })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { MASK })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A URL that may carry credentials (`redis://:password@host/0`). Shown with the password
/// masked and everything else intact, so an operator can still see which server is used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password (if any) replaced by a mask.
    pub fn masked(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Only fails for URLs that cannot have credentials, which this one has.
                let _ = url.set_password(Some(MASK));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            // Unparseable: show nothing of it rather than risk printing a password.
            Err(_) => MASK.to_string(),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretUrl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{MASK}\""));
        assert_eq!(s.expose(), "xoxb-very-secret");
        assert_eq!(format!("{:?}", Secret::default()), "\"\"");
    }

    #[test]
    fn url_password_is_masked_and_the_rest_kept() {
        let u = SecretUrl::new("rediss://lookout:hunter2@redis.internal:6380/3");
        assert_eq!(
            u.masked(),
            format!("rediss://lookout:{MASK}@redis.internal:6380/3")
        );
        assert!(!format!("{u:?}").contains("hunter2"));
        let plain = SecretUrl::new("redis://127.0.0.1:6379/0");
        assert_eq!(plain.masked(), "redis://127.0.0.1:6379/0");
        assert_eq!(SecretUrl::new("::not a url hunter2").masked(), MASK);
    }
}
