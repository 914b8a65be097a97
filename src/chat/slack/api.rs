//! The Web API calls Lookout makes, on slack-morphism's client, each bounded by a timeout and
//! with its failure classified for the outbound queue ([`SendError`]). slack-morphism's own
//! rate control is left off, so a 429 reaches the queue with its Retry-After.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::{debug, warn};

use super::render::Rendered;
use crate::chat::platform::SendError;

/// The client type, the same against Slack and against a plain-HTTP test server.
pub type Client = SlackClient<SlackClientHyperHttpsConnector>;

/// `event_type` of the metadata carrying a message's idempotency key.
pub const METADATA_EVENT_TYPE: &str = "lookout_message";

/// Wait suggested when a 429 comes without Retry-After (Slack always sends one).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How many channel messages `find_sent` reads, and how many recent threads it opens.
const HISTORY_PAGE: u16 = 200;
const HISTORY_PAGES: usize = 5;
const THREADS_CHECKED: usize = 20;

/// Builds a client for `api_url`. The connector speaks HTTPS with the system's roots, and
/// plain HTTP too (`https_or_http`), so a local test server uses the production type.
pub fn client(api_url: &str) -> std::io::Result<Arc<Client>> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
    Ok(Arc::new(SlackClient::new(connector)))
}

/// A token as slack-morphism wants it.
pub fn token(value: &str, kind: SlackApiTokenType) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue::new(value.to_string())).with_token_type(kind)
}

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub user_id: String,
    pub bot_id: Option<String>,
}

/// The Web API with the bot token.
pub struct Api {
    client: Arc<Client>,
    bot: SlackApiToken,
    timeout: Duration,
}

impl Api {
    pub fn new(client: Arc<Client>, bot_token: &str, timeout: Duration) -> Self {
        Self {
            client,
            bot: token(bot_token, SlackApiTokenType::Bot),
            timeout,
        }
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// `chat.postMessage`; returns the channel id (Slack resolves `#name`) and the `ts`.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Rendered,
        key: Option<&str>,
    ) -> Result<(String, String), SendError> {
        let mut content = content(message);
        if let Some(key) = key {
            content = content.with_metadata(
                SlackMessageMetadata::new(METADATA_EVENT_TYPE.into())
                    .with_event_payload(HashMap::from([("key".to_string(), key.to_string())])),
            );
        }
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content)
            .with_unfurl_links(false)
            .with_unfurl_media(false);
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(ts.into());
        }
        let session = self.client.open_session(&self.bot);
        let res = self
            .timed("chat.postMessage", session.chat_post_message(&req))
            .await?;
        Ok((res.channel.0, res.ts.0))
    }

    /// `chat.update`: replaces text and blocks; the metadata stays.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        message: &Rendered,
    ) -> Result<(), SendError> {
        let req = SlackApiChatUpdateRequest::new(channel.into(), content(message), ts.into());
        let session = self.client.open_session(&self.bot);
        self.timed("chat.update", session.chat_update(&req)).await?;
        Ok(())
    }

    /// `chat.postEphemeral`: a note only `user` sees, in `thread_ts` when given.
    pub async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> Result<(), SendError> {
        let content = SlackMessageContent::new().with_text(super::render::escape(text));
        let mut req = SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content);
        if let Some(ts) = thread_ts {
            req = req.with_thread_ts(ts.into());
        }
        let session = self.client.open_session(&self.bot);
        self.timed("chat.postEphemeral", session.chat_post_ephemeral(&req))
            .await?;
        Ok(())
    }

    /// `auth.test`: the bot's own user id, to recognise its mention and its own messages.
    pub async fn auth_test(&self) -> Result<BotIdentity, SendError> {
        let session = self.client.open_session(&self.bot);
        let res = self.timed("auth.test", session.auth_test()).await?;
        Ok(BotIdentity {
            user_id: res.user_id.0,
            bot_id: res.bot_id.map(|b| b.0),
        })
    }

    /// `apps.connections.open` with the app token: proves the token before Socket Mode starts.
    pub async fn connections_open(&self, app_token: &SlackApiToken) -> Result<(), SendError> {
        let session = self.client.open_session(app_token);
        self.timed(
            "apps.connections.open",
            session.apps_connections_open(&SlackApiAppsConnectionOpenRequest::new()),
        )
        .await?;
        Ok(())
    }

    /// The message whose metadata carries `key`, posted in `channel` since `since`: first among
    /// the channel's messages, then in the threads of the most recent ones with a reply since
    /// then (where approvals and details go). Best effort: a message in an older, quieter
    /// thread is not found, and may then be sent again.
    pub async fn find_sent(
        &self,
        channel: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, SendError> {
        let oldest = to_ts(since);
        let session = self.client.open_session(&self.bot);
        let mut threads = Vec::new();
        let mut cursor = None;
        for _ in 0..HISTORY_PAGES {
            let mut req = SlackApiConversationsHistoryRequest::new()
                .with_channel(channel.into())
                .with_limit(HISTORY_PAGE)
                .with_include_all_metadata(true);
            if let Some(c) = cursor.take() {
                req = req.with_cursor(c);
            }
            let page = self
                .timed("conversations.history", session.conversations_history(&req))
                .await?;
            for m in &page.messages {
                let newer = ts_after(&m.origin.ts.0, &oldest);
                if newer && has_key(&m.content.metadata, key) {
                    return Ok(Some(m.origin.ts.0.clone()));
                }
                let active = m
                    .parent
                    .latest_reply
                    .as_ref()
                    .is_some_and(|r| ts_after(&r.0, &oldest));
                if active && m.parent.reply_count.unwrap_or(0) > 0 {
                    threads.push(m.origin.ts.0.clone());
                }
            }
            let oldest_seen = page.messages.last().map(|m| m.origin.ts.0.clone());
            cursor = page
                .response_metadata
                .and_then(|r| r.next_cursor)
                .filter(|c| !c.0.is_empty());
            let reached_since = oldest_seen.is_some_and(|ts| !ts_after(&ts, &oldest));
            if cursor.is_none() || reached_since {
                break;
            }
        }
        for parent in threads.into_iter().take(THREADS_CHECKED) {
            // slack-morphism's replies request has no include_all_metadata: ask by hand.
            let params = [
                ("channel", Some(channel.to_string())),
                ("ts", Some(parent)),
                ("oldest", Some(oldest.clone())),
                ("limit", Some("200".to_string())),
                ("include_all_metadata", Some("true".to_string())),
            ];
            let replies: SlackApiConversationsRepliesResponse = self
                .timed(
                    "conversations.replies",
                    session
                        .http_session_api
                        .http_get("conversations.replies", &params, None),
                )
                .await?;
            if let Some(m) = replies
                .messages
                .iter()
                .find(|m| ts_after(&m.origin.ts.0, &oldest) && has_key(&m.content.metadata, key))
            {
                return Ok(Some(m.origin.ts.0.clone()));
            }
        }
        Ok(None)
    }

    async fn timed<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, SlackClientError>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let err = classify(&e);
                debug!(method, error = %err, "slack api call failed");
                Err(err)
            }
            Err(_) => {
                warn!(method, timeout = ?self.timeout, "slack api call timed out");
                Err(SendError::Transient(format!(
                    "{method} timed out after {:?}",
                    self.timeout
                )))
            }
        }
    }
}

fn content(message: &Rendered) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(message.text.clone())
        .with_blocks(message.blocks.clone())
}

fn has_key(metadata: &Option<SlackMessageMetadata>, key: &str) -> bool {
    metadata.as_ref().is_some_and(|m| {
        m.event_type == METADATA_EVENT_TYPE
            && m.event_payload
                .as_ref()
                .and_then(|p| p.get("key"))
                .is_some_and(|k| k == key)
    })
}

/// A time as a Slack `ts` (`seconds.micros`).
pub fn to_ts(t: DateTime<Utc>) -> String {
    format!("{}.{:06}", t.timestamp(), t.timestamp_subsec_micros())
}

/// Whether `ts` is at or after `since` (both Slack timestamps).
fn ts_after(ts: &str, since: &str) -> bool {
    let micros = |s: &str| -> Option<(i64, i64)> {
        let (a, b) = s.split_once('.').unwrap_or((s, "0"));
        let frac: String = b.chars().chain(std::iter::repeat('0')).take(6).collect();
        Some((a.parse().ok()?, frac.parse().ok()?))
    };
    match (micros(ts), micros(since)) {
        (Some(a), Some(b)) => a >= b,
        _ => false,
    }
}

/// Error codes after which the same request will never succeed.
const TRANSIENT_CODES: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
    "team_added_to_org",
];

/// What the outbound queue should do about a failed call. Slack error codes are permanent
/// (`channel_not_found`, `not_in_channel`, `invalid_auth`, `account_inactive`,
/// `token_revoked`, `is_archived`, `msg_too_long`, `message_not_found`,
/// `cant_update_message`, `invalid_blocks`, ...) except Slack's own outages; network errors,
/// 5xx and undecodable answers are transient; 429 carries its Retry-After.
pub fn classify(e: &SlackClientError) -> SendError {
    match e {
        SlackClientError::RateLimitError(r) => {
            SendError::RateLimited(r.retry_after.unwrap_or(DEFAULT_RETRY_AFTER))
        }
        SlackClientError::ApiError(api) if TRANSIENT_CODES.contains(&api.code.as_str()) => {
            SendError::Transient(format!("slack error {}", api.code))
        }
        SlackClientError::ApiError(api) => SendError::Permanent(match &api.errors {
            Some(details) if !details.is_empty() => {
                format!("slack error {} ({})", api.code, details.join("; "))
            }
            _ => format!("slack error {}", api.code),
        }),
        SlackClientError::HttpError(h) => {
            let status = h.status_code;
            if status.is_server_error() || status.as_u16() == 408 {
                SendError::Transient(format!("slack http {status}"))
            } else {
                SendError::Permanent(format!("slack http {status}"))
            }
        }
        other => SendError::Transient(first_line(&other.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_morphism::errors::*;

    #[test]
    fn errors_are_classified_for_the_queue() {
        let api = |code: &str| SlackClientError::ApiError(SlackClientApiError::new(code.into()));
        for code in [
            "channel_not_found",
            "not_in_channel",
            "invalid_auth",
            "account_inactive",
            "token_revoked",
            "is_archived",
            "msg_too_long",
            "message_not_found",
            "cant_update_message",
            "invalid_blocks",
            "some_new_code",
        ] {
            assert_eq!(
                classify(&api(code)),
                SendError::Permanent(format!("slack error {code}"))
            );
        }
        assert!(matches!(
            classify(&api("internal_error")),
            SendError::Transient(_)
        ));
        let rate = SlackClientError::RateLimitError(
            SlackRateLimitError::new().with_retry_after(Duration::from_secs(7)),
        );
        assert_eq!(
            classify(&rate),
            SendError::RateLimited(Duration::from_secs(7))
        );
        let http = |s: u16| {
            SlackClientError::HttpError(SlackClientHttpError::new(
                http::StatusCode::from_u16(s).unwrap(),
            ))
        };
        assert!(matches!(classify(&http(503)), SendError::Transient(_)));
        assert!(matches!(classify(&http(404)), SendError::Permanent(_)));
    }

    #[test]
    fn timestamps_compare_as_numbers() {
        let t = DateTime::from_timestamp(1_712_345_678, 120_000_000).unwrap();
        assert_eq!(to_ts(t), "1712345678.120000");
        assert!(ts_after("1712345678.120000", "1712345678.120000"));
        assert!(ts_after("1712345679.000001", "1712345678.999999"));
        assert!(!ts_after("1712345678.1", "1712345678.120000"));
        assert!(ts_after("1712345678.12", "1712345678.120000"));
    }
}
