//! Events API requests as Slack sends them: `x-slack-request-timestamp` and
//! `x-slack-signature = v0=hex(HMAC-SHA256(signing secret, "v0:{ts}:{body}"))`, or
//! deliberately wrong, stale or missing ones. HMAC is computed here from SHA-256, apart from
//! the verifier under test.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// How a request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Valid,
    /// Signed with another secret.
    WrongSecret,
    /// Correctly signed, six minutes ago.
    Stale,
    /// No signature headers at all.
    Missing,
}

/// Posts signed requests to a bot's Events API endpoint.
#[derive(Clone)]
pub struct SignedPoster {
    url: String,
    secret: String,
    http: reqwest::Client,
}

impl SignedPoster {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            http: reqwest::Client::new(),
        }
    }

    /// An event (or `url_verification`) as JSON. Returns the status and body.
    pub async fn post_json(&self, body: &Value, signature: Signature) -> (u16, String) {
        self.post(body.to_string(), "application/json", signature)
            .await
    }

    /// An interactive payload, as the `payload` field of a form.
    pub async fn post_interactive(&self, payload: &Value, signature: Signature) -> (u16, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.post(body, "application/x-www-form-urlencoded", signature)
            .await
    }

    async fn post(&self, body: String, content_type: &str, signature: Signature) -> (u16, String) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", content_type);
        let signed = |secret: &str, ts: u64| (ts.to_string(), sign(secret, &ts.to_string(), &body));
        let headers = match signature {
            Signature::Valid => Some(signed(&self.secret, now)),
            Signature::WrongSecret => Some(signed("not-the-signing-secret", now)),
            Signature::Stale => Some(signed(&self.secret, now - 6 * 60)),
            Signature::Missing => None,
        };
        if let Some((ts, sig)) = headers {
            req = req
                .header("x-slack-request-timestamp", ts)
                .header("x-slack-signature", sig);
        }
        let res = req.body(body).send().await.expect("post to the bot");
        let status = res.status().as_u16();
        (status, res.text().await.unwrap_or_default())
    }
}

/// Slack's request signature.
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("v0:{timestamp}:{body}").as_bytes(),
    );
    format!("v0={}", hex::encode(mac))
}

/// HMAC (RFC 2104) over SHA-256.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn signature_matches_a_known_slack_signature() {
    // The vector slack-morphism's own verifier tests with.
    assert_eq!(
        sign(
            "fa2c05deeef5a4077494e89f54394de0",
            "1531420618",
            "test-body"
        ),
        "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666"
    );
}
