//! Button action ids. A button carries `<cluster tag>:<verb>:<argument>`: the tag is the first
//! 8 hex digits of SHA-256(cluster name), so a bot refuses buttons of another cluster's bot
//! (each cluster has its own chat app, but a forwarded message or a shared channel must not
//! cross). Kept short because Telegram allows 64 bytes of callback data.

use sha2::{Digest, Sha256};

/// A decoded action id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub verb: String,
    pub arg: String,
}

/// Why an action id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("not a Lookout button")]
    Malformed,
    #[error("this button belongs to another cluster's Lookout")]
    ForeignCluster,
}

/// Encodes and decodes the action ids of one cluster.
#[derive(Debug, Clone)]
pub struct ActionCodec {
    tag: String,
}

impl ActionCodec {
    pub fn new(cluster: &str) -> Self {
        Self {
            tag: hex::encode(&Sha256::digest(cluster.as_bytes())[..4]),
        }
    }

    /// `verb` and `arg` must not contain `:` in the verb; the argument may.
    pub fn encode(&self, verb: &str, arg: &str) -> String {
        format!("{}:{verb}:{arg}", self.tag)
    }

    pub fn decode(&self, id: &str) -> Result<Action, ActionError> {
        let mut parts = id.splitn(3, ':');
        let (Some(tag), Some(verb), Some(arg)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ActionError::Malformed);
        };
        if tag.len() != 8 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) || verb.is_empty() {
            return Err(ActionError::Malformed);
        }
        if tag != self.tag {
            return Err(ActionError::ForeignCluster);
        }
        Ok(Action {
            verb: verb.to_string(),
            arg: arg.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let prod = ActionCodec::new("prod-eu-1");
        let id = prod.encode("approve", "A-2041");
        assert!(id.len() <= 64, "fits Telegram callback data: {id}");
        assert_eq!(
            prod.decode(&id),
            Ok(Action {
                verb: "approve".into(),
                arg: "A-2041".into()
            })
        );
        let staging = ActionCodec::new("staging");
        assert_eq!(staging.decode(&id), Err(ActionError::ForeignCluster));
        assert_eq!(prod.decode("approve"), Err(ActionError::Malformed));
        assert_eq!(
            prod.decode("zzzzzzzz:approve:x"),
            Err(ActionError::Malformed)
        );
        assert_eq!(
            prod.decode(&prod.encode("ack", "prod/INC-1")).unwrap().arg,
            "prod/INC-1"
        );
    }
}
