//! The Bot API calls Lookout makes, on teloxide's `Bot`, each bounded by a timeout and with its
//! failure classified for the outbound queue ([`SendError`]). teloxide's `Throttle` adaptor is
//! not used: the outbound queue paces per chat and sees every 429 with its `retry_after`.

use std::future::Future;
use std::time::Duration;

use teloxide::payloads::setters::*;
use teloxide::requests::{Request, Requester};
use teloxide::types::{
    AllowedUpdate, CallbackQueryId, ChatId, LinkPreviewOptions, Me, Message as TgMessage,
    MessageId, ParseMode, Recipient, ReplyParameters, ThreadId, Update,
};
use teloxide::{ApiError, Bot, RequestError};
use tracing::{debug, warn};

use super::render::Rendered;
use crate::chat::platform::SendError;

/// Longest text of a callback answer (Telegram's limit).
pub const MAX_ANSWER: usize = 200;
/// Longest forum topic name (Telegram's limit).
pub const MAX_TOPIC_NAME: usize = 128;

/// Where a message goes inside its chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Top level of the chat.
    Chat,
    /// A reply to this message (a reply chain's root).
    ReplyTo(i32),
    /// A forum topic.
    Topic(i32),
}

/// The Bot API with the bot token.
pub struct Api {
    bot: Bot,
    timeout: Duration,
}

impl Api {
    /// A client for `api_url`. Its HTTP timeout covers the longest call (a long poll); each
    /// call is also bounded by its own timeout here. `TELOXIDE_*` variables are not read.
    pub fn new(
        api_url: &str,
        token: &str,
        timeout: Duration,
        poll_timeout: Duration,
    ) -> Result<Self, String> {
        let url = url::Url::parse(api_url).map_err(|e| format!("api_url: {e}"))?;
        let client = teloxide::net::default_reqwest_settings()
            .timeout(poll_timeout + timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            bot: Bot::with_client(token, client).set_api_url(url),
            timeout,
        })
    }

    /// `getMe`: who the bot is (its id and username, and whether privacy mode is on).
    pub async fn get_me(&self) -> Result<Me, SendError> {
        self.timed("getMe", self.bot.get_me().send()).await
    }

    /// `sendMessage` in HTML, without link previews.
    pub async fn send(
        &self,
        chat: Recipient,
        place: Place,
        message: &Rendered,
    ) -> Result<TgMessage, SendError> {
        let mut req = self
            .bot
            .send_message(chat, message.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        match place {
            Place::Chat => {}
            Place::ReplyTo(id) => {
                let mut reply = ReplyParameters::new(MessageId(id));
                // The root may have been deleted: post anyway rather than fail for good.
                reply.allow_sending_without_reply = Some(true);
                req = req.reply_parameters(reply);
            }
            Place::Topic(id) => req = req.message_thread_id(ThreadId(MessageId(id))),
        }
        if let Some(k) = &message.keyboard {
            req = req.reply_markup(k.clone());
        }
        self.timed("sendMessage", req.send()).await
    }

    /// `editMessageText`: text and keyboard (no keyboard removes the old one). Content that
    /// did not change is not an error.
    pub async fn edit(
        &self,
        chat: Recipient,
        id: i32,
        message: &Rendered,
    ) -> Result<(), SendError> {
        let mut req = self
            .bot
            .edit_message_text(chat, MessageId(id), message.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        if let Some(k) = &message.keyboard {
            req = req.reply_markup(k.clone());
        }
        match tokio::time::timeout(self.timeout, req.send()).await {
            Ok(Ok(_)) | Ok(Err(RequestError::Api(ApiError::MessageNotModified))) => Ok(()),
            Ok(Err(e)) => Err(self.failed("editMessageText", &e)),
            Err(_) => Err(timed_out("editMessageText", self.timeout)),
        }
    }

    /// `answerCallbackQuery`: stops the button's spinner; `text` is shown to the clicking user
    /// only, as an alert they dismiss.
    pub async fn answer(&self, query_id: &str, text: Option<&str>) -> Result<(), SendError> {
        let mut req = self
            .bot
            .answer_callback_query(CallbackQueryId(query_id.to_string()));
        if let Some(text) = text {
            let cut: String = text.chars().take(MAX_ANSWER).collect();
            req = req.text(cut).show_alert(true);
        }
        self.timed("answerCallbackQuery", req.send()).await?;
        Ok(())
    }

    /// `createForumTopic`: a topic named `name` (cut to Telegram's 128 characters).
    pub async fn create_topic(&self, chat: Recipient, name: &str) -> Result<i32, SendError> {
        let name: String = name.trim().chars().take(MAX_TOPIC_NAME).collect();
        let name = if name.is_empty() {
            "Lookout".into()
        } else {
            name
        };
        let topic = self
            .timed(
                "createForumTopic",
                self.bot.create_forum_topic(chat, name).send(),
            )
            .await?;
        Ok(topic.thread_id.0.0)
    }

    /// `deleteWebhook`, keeping pending updates: polling cannot start while a webhook is set.
    pub async fn delete_webhook(&self) -> Result<(), SendError> {
        self.timed("deleteWebhook", self.bot.delete_webhook().send())
            .await?;
        Ok(())
    }

    /// `setWebhook` with the secret token, for messages and button clicks.
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), SendError> {
        let url = url::Url::parse(url).map_err(|e| SendError::Permanent(e.to_string()))?;
        let req = self
            .bot
            .set_webhook(url)
            .secret_token(secret)
            .allowed_updates(allowed());
        self.timed("setWebhook", req.send()).await?;
        Ok(())
    }

    /// `getUpdates` from `offset`, waiting up to `wait` for the first one. The raw error is
    /// returned so the listener can tell a conflict (another poller, a webhook) apart.
    pub async fn get_updates(
        &self,
        offset: i32,
        wait: Duration,
    ) -> Result<Vec<Update>, RequestError> {
        let req = self
            .bot
            .get_updates()
            .offset(offset)
            .timeout(wait.as_secs() as u32)
            .allowed_updates(allowed());
        match tokio::time::timeout(wait + self.timeout, req.send()).await {
            Ok(r) => r,
            // A poll that outlived its wait and the request timeout: nothing came; poll again.
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn timed<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, RequestError>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.failed(method, &e)),
            Err(_) => Err(timed_out(method, self.timeout)),
        }
    }

    fn failed(&self, method: &'static str, e: &RequestError) -> SendError {
        let err = classify(e);
        debug!(method, error = %err, "telegram api call failed");
        err
    }
}

fn timed_out(method: &'static str, timeout: Duration) -> SendError {
    warn!(method, ?timeout, "telegram api call timed out");
    SendError::Transient(format!("{method} timed out after {timeout:?}"))
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// What Lookout listens to: messages and button clicks.
fn allowed() -> Vec<AllowedUpdate> {
    vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]
}

/// A routing channel as a Telegram chat: a numeric chat id (`-1001234567890`) or a public
/// `@channel`.
pub fn recipient(channel: &str) -> Result<Recipient, SendError> {
    if let Ok(id) = channel.parse::<i64>() {
        return Ok(Recipient::Id(ChatId(id)));
    }
    if channel.starts_with('@') && channel.len() > 1 {
        return Ok(Recipient::ChannelUsername(channel.to_string()));
    }
    Err(SendError::Permanent(format!(
        "`{channel}` is not a Telegram chat: use the numeric chat id (e.g. -1001234567890) or @channel"
    )))
}

/// Description prefixes of errors that will not go away by retrying the same request.
const PERMANENT: &[&str] = &[
    "Bad Request",
    "Forbidden",
    "Unauthorized",
    "Not Found",
    "Conflict",
];

/// What the outbound queue should do about a failed call. Telegram's 4xx answers (`Bad
/// Request: chat not found`, `Forbidden: bot was kicked ...`, `Unauthorized`, too long,
/// invalid button data...) are permanent; 429 carries its `retry_after`; network errors,
/// timeouts, 5xx and answers that are not Telegram's JSON are temporary.
pub fn classify(e: &RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::RateLimited(s.duration()),
        RequestError::MigrateToChatId(id) => SendError::Permanent(format!(
            "the group was upgraded to a supergroup: route to telegram:{id} instead"
        )),
        RequestError::Api(ApiError::Unknown(description)) => {
            if PERMANENT.iter().any(|p| description.starts_with(p)) {
                SendError::Permanent(format!("telegram: {description}"))
            } else {
                SendError::Transient(format!("telegram: {description}"))
            }
        }
        RequestError::Api(api) => SendError::Permanent(format!("telegram: {api}")),
        RequestError::Network(e) => SendError::Transient(format!("telegram unreachable: {e}")),
        RequestError::InvalidJson { raw, .. } => SendError::Transient(format!(
            "telegram answered something that is not the Bot API: {}",
            raw.chars().take(200).collect::<String>()
        )),
        RequestError::Io(e) => SendError::Transient(format!("telegram: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(json: &str) -> RequestError {
        // The same path teloxide takes: Telegram's error JSON into its error type.
        #[derive(serde::Deserialize)]
        struct Err {
            description: ApiError,
            parameters: Option<teloxide::types::ResponseParameters>,
        }
        let e: Err = serde_json::from_str(json).unwrap();
        match e.parameters {
            Some(teloxide::types::ResponseParameters::RetryAfter(s)) => RequestError::RetryAfter(s),
            _ => RequestError::Api(e.description),
        }
    }

    #[test]
    fn errors_are_classified_for_the_queue() {
        for description in [
            "Bad Request: chat not found",
            "Bad Request: message is too long",
            "Bad Request: BUTTON_DATA_INVALID",
            "Bad Request: some new complaint",
            "Forbidden: bot was kicked from the supergroup chat",
            "Unauthorized",
        ] {
            let e = parsed(&format!(
                r#"{{"ok":false,"error_code":400,"description":"{description}"}}"#
            ));
            assert!(
                matches!(classify(&e), SendError::Permanent(_)),
                "{description}"
            );
        }
        for description in ["Internal Server Error", "Bad Gateway"] {
            let e = parsed(&format!(
                r#"{{"ok":false,"error_code":502,"description":"{description}"}}"#
            ));
            assert!(
                matches!(classify(&e), SendError::Transient(_)),
                "{description}"
            );
        }
        let e = parsed(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        );
        assert_eq!(classify(&e), SendError::RateLimited(Duration::from_secs(7)));
        let e = RequestError::MigrateToChatId(ChatId(-1001));
        assert!(matches!(classify(&e), SendError::Permanent(m) if m.contains("telegram:-1001")));
    }

    #[test]
    fn channels_are_chat_ids_or_public_usernames() {
        assert_eq!(
            recipient("-1001234567890").unwrap(),
            Recipient::Id(ChatId(-1001234567890))
        );
        assert_eq!(
            recipient("@lookout_alerts").unwrap(),
            Recipient::ChannelUsername("@lookout_alerts".into())
        );
        assert!(matches!(recipient("#alerts"), Err(SendError::Permanent(_))));
    }
}
