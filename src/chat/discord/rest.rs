//! The REST calls Lookout makes. serenity builds each request (its routes, its builders, the
//! token header, the base URL in place of `https://discord.com`) and decodes answers into its
//! models; the request is sent here, on our own client, because serenity's own sending either
//! rate-limits by itself (never with a base URL, serenity issue 1739) or, with its limiter
//! off, drops a 429's body. Every failure is classified for the outbound queue, and a global
//! rate limit holds back every call until it ends.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serenity::all::{
    ApplicationId, BotGateway, Channel, ChannelId, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateMessage, CreateThread, CurrentUser, EditMessage,
    GuildChannel, InteractionId, Message, MessageId,
};
use serenity::http::{DiscordJsonError, LightMethod, Request, Route};
use tracing::debug;

use super::config::{DISCORD_URL, DiscordConfig};
use crate::chat::platform::SendError;

/// Wait suggested when a 429 says nothing about how long (Discord always does).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Discord's REST API with the bot token.
pub struct Rest {
    client: reqwest::Client,
    /// `Bot <token>`, as serenity's requests carry it.
    token: String,
    /// The configured base URL when it is not Discord's own.
    proxy: Option<String>,
    global_until: Mutex<Option<Instant>>,
}

impl Rest {
    pub fn new(config: &DiscordConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(Self {
            client,
            token: format!("Bot {}", config.bot_token.expose()),
            proxy: (config.api_url != DISCORD_URL).then(|| config.api_url.clone()),
            global_until: Mutex::new(None),
        })
    }

    /// The HTTP client, shared with serenity's gateway client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET /users/@me`: proves the token and says who the bot is.
    pub async fn current_user(&self) -> Result<CurrentUser, SendError> {
        self.call("users/@me", Request::new(Route::UserMe, LightMethod::Get))
            .await
    }

    /// `GET /gateway/bot`: where the gateway is.
    pub async fn gateway_url(&self) -> Result<String, SendError> {
        let gateway: BotGateway = self
            .call(
                "gateway/bot",
                Request::new(Route::GatewayBot, LightMethod::Get),
            )
            .await?;
        Ok(gateway.url)
    }

    /// `POST /channels/{id}/messages`.
    pub async fn send(
        &self,
        channel_id: ChannelId,
        message: &CreateMessage,
    ) -> Result<Message, SendError> {
        let route = Route::ChannelMessages { channel_id };
        self.call(
            "create message",
            with_body(route, LightMethod::Post, message)?,
        )
        .await
    }

    /// `PATCH /channels/{id}/messages/{id}`.
    pub async fn edit(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        edit: &EditMessage,
    ) -> Result<(), SendError> {
        let route = Route::ChannelMessage {
            channel_id,
            message_id,
        };
        let _: Message = self
            .call("edit message", with_body(route, LightMethod::Patch, edit)?)
            .await?;
        Ok(())
    }

    /// `POST /channels/{id}/messages/{id}/threads`: a public thread under a message (its id
    /// is the message's). `None` when the message has one already.
    pub async fn start_thread(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        thread: &CreateThread<'_>,
    ) -> Result<Option<GuildChannel>, SendError> {
        let route = Route::ChannelMessageThreads {
            channel_id,
            message_id,
        };
        let req = with_body(route, LightMethod::Post, thread)?;
        match self.send_request("start thread", req).await {
            Ok(body) => decode("start thread", &body).map(Some),
            Err(f) if f.code == Some(THREAD_ALREADY_CREATED) => Ok(None),
            Err(f) => Err(f.error),
        }
    }

    /// `GET /channels/{id}`.
    pub async fn channel(&self, channel_id: ChannelId) -> Result<Channel, SendError> {
        self.call(
            "get channel",
            Request::new(Route::Channel { channel_id }, LightMethod::Get),
        )
        .await
    }

    /// `POST /interactions/{id}/{token}/callback` with a deferred update: the click is
    /// answered, the message is edited afterwards.
    pub async fn defer_update(&self, id: InteractionId, token: &str) -> Result<(), SendError> {
        let route = Route::InteractionResponse {
            interaction_id: id,
            token,
        };
        let body = &CreateInteractionResponse::Acknowledge;
        self.call_empty(
            "interaction callback",
            with_body(route, LightMethod::Post, body)?,
        )
        .await
    }

    /// `POST /webhooks/{application}/{token}`: a follow-up to a click (ephemeral when the
    /// builder says so).
    pub async fn followup(
        &self,
        application_id: ApplicationId,
        token: &str,
        followup: &CreateInteractionResponseFollowup,
    ) -> Result<(), SendError> {
        let route = Route::WebhookFollowupMessages {
            application_id,
            token,
        };
        let _: Message = self
            .call("follow-up", with_body(route, LightMethod::Post, followup)?)
            .await?;
        Ok(())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        what: &'static str,
        req: Request<'_>,
    ) -> Result<T, SendError> {
        let body = self.send_request(what, req).await.map_err(|f| f.error)?;
        decode(what, &body)
    }

    async fn call_empty(&self, what: &'static str, req: Request<'_>) -> Result<(), SendError> {
        self.send_request(what, req)
            .await
            .map(|_| ())
            .map_err(|f| f.error)
    }

    async fn send_request(&self, what: &'static str, req: Request<'_>) -> Result<Vec<u8>, Failure> {
        if let Some(wait) = self.global_wait() {
            return Err(Failure::from(SendError::RateLimited(wait)));
        }
        let request = req
            .build(&self.client, &self.token, self.proxy.as_deref())
            .map_err(|e| SendError::Permanent(format!("discord {what}: bad request ({e})")))?;
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else {
                "unreachable"
            };
            SendError::Transient(format!("discord {what}: {kind} ({})", first_line(&e)))
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after").and_then(|v| v.parse::<f64>().ok());
        let global_header = header("x-ratelimit-global").is_some();
        let body = response.bytes().await.map_err(|e| {
            SendError::Transient(format!(
                "discord {what}: answer cut off ({})",
                first_line(&e)
            ))
        })?;
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        let mut failure = classify(status, retry_after, &body);
        if let (SendError::RateLimited(wait), true) =
            (&failure.error, failure.global || global_header)
        {
            self.hold_until(Instant::now() + *wait);
        }
        debug!(what, status, error = %failure.error, "discord api call failed");
        failure.error = match failure.error {
            SendError::Permanent(r) => SendError::Permanent(format!("{what}: {r}")),
            SendError::Transient(r) => SendError::Transient(format!("{what}: {r}")),
            limited => limited,
        };
        Err(failure)
    }

    fn global_wait(&self) -> Option<Duration> {
        let until = (*self.global_until.lock().ok()?)?;
        until.checked_duration_since(Instant::now())
    }

    fn hold_until(&self, until: Instant) {
        if let Ok(mut g) = self.global_until.lock() {
            *g = Some(g.map_or(until, |old| old.max(until)));
        }
    }
}

fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, SendError> {
    serde_json::from_slice(body).map_err(|e| {
        // An answer we cannot read may be a proxy's page; asking again may work.
        SendError::Transient(format!("discord {what}: unreadable answer ({e})"))
    })
}

fn with_body<'a>(
    route: Route<'a>,
    method: LightMethod,
    body: &impl Serialize,
) -> Result<Request<'a>, SendError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| SendError::Permanent(format!("discord: cannot encode a request ({e})")))?;
    Ok(Request::new(route, method).body(Some(bytes)))
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// A failed call as the outbound queue needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: SendError,
    /// A global rate limit: every route waits.
    pub global: bool,
    /// Discord's JSON error code, when it sent one.
    pub code: Option<isize>,
}

impl From<SendError> for Failure {
    fn from(error: SendError) -> Self {
        Self {
            error,
            global: false,
            code: None,
        }
    }
}

/// "A thread has already been created for this message."
const THREAD_ALREADY_CREATED: isize = 160_004;

#[derive(serde::Deserialize)]
struct RateLimitBody {
    retry_after: f64,
    #[serde(default)]
    global: bool,
}

/// JSON error codes that mean "try again later" although the status is not 5xx.
const TRANSIENT_CODES: &[isize] = &[
    130_000, // API resource is currently overloaded
];

/// What a failed call means. A 429 waits what its body says (`retry_after`, seconds, as a
/// float) or else `Retry-After`; 5xx and 408 are temporary; everything else will not work by
/// being repeated: 401 (bad token), 403 (50001 Missing Access, 50013 Missing Permissions), 404
/// (10003 Unknown Channel, 10008 Unknown Message), 400 (50035 Invalid Form Body, with each
/// field's reason), ...
pub fn classify(status: u16, retry_after_header: Option<f64>, body: &[u8]) -> Failure {
    if status == 429 {
        let parsed = serde_json::from_slice::<RateLimitBody>(body).ok();
        let seconds = parsed
            .as_ref()
            .map(|b| b.retry_after)
            .or(retry_after_header)
            .filter(|s| s.is_finite() && *s >= 0.0);
        let wait = seconds.map_or(DEFAULT_RETRY_AFTER, Duration::from_secs_f64);
        return Failure {
            error: SendError::RateLimited(wait),
            global: parsed.is_some_and(|b| b.global),
            code: None,
        };
    }
    let json = serde_json::from_slice::<DiscordJsonError>(body).ok();
    let reason = match &json {
        Some(e) if e.errors.is_empty() => format!("{} (code {})", e.message, e.code),
        Some(e) => {
            let fields: Vec<String> = e
                .errors
                .iter()
                .map(|f| format!("{}: {}", f.path, f.message))
                .collect();
            format!("{} (code {}: {})", e.message, e.code, fields.join("; "))
        }
        None => "no error details".to_string(),
    };
    let transient = status >= 500
        || status == 408
        || json
            .as_ref()
            .is_some_and(|e| TRANSIENT_CODES.contains(&e.code));
    let reason = match status {
        401 => format!("discord 401: the bot token was refused ({reason})"),
        _ => format!("discord {status}: {reason}"),
    };
    Failure {
        error: if transient {
            SendError::Transient(reason)
        } else {
            SendError::Permanent(reason)
        },
        global: false,
        code: json.map(|e| e.code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_wait_what_the_body_says() {
        let body =
            br#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
        assert_eq!(
            classify(429, Some(2.0), body),
            Failure {
                error: SendError::RateLimited(Duration::from_millis(1500)),
                global: false,
                code: None,
            }
        );
        let global =
            br#"{"message": "You are being rate limited.", "retry_after": 0.25, "global": true}"#;
        assert!(classify(429, None, global).global);
        assert_eq!(
            classify(429, Some(3.0), b"<html>").error,
            SendError::RateLimited(Duration::from_secs(3)),
            "the header when the body says nothing"
        );
        assert_eq!(
            classify(429, None, b"").error,
            SendError::RateLimited(DEFAULT_RETRY_AFTER)
        );
    }

    #[test]
    fn errors_are_permanent_unless_discord_is_in_trouble() {
        let form = br#"{"code": 50035, "errors": {"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]}}}}, "message": "Invalid Form Body"}"#;
        assert_eq!(
            classify(400, None, form).error,
            SendError::Permanent(
                "discord 400: Invalid Form Body (code 50035: embeds.0.description: Must be 4096 or fewer in length.)".into()
            )
        );
        let unknown = br#"{"message": "Unknown Channel", "code": 10003}"#;
        assert_eq!(
            classify(404, None, unknown).error,
            SendError::Permanent("discord 404: Unknown Channel (code 10003)".into())
        );
        let auth = br#"{"message": "401: Unauthorized", "code": 0}"#;
        assert!(matches!(
            classify(401, None, auth).error,
            SendError::Permanent(r) if r.contains("token was refused")
        ));
        assert!(matches!(
            classify(
                403,
                None,
                br#"{"message": "Missing Access", "code": 50001}"#
            )
            .error,
            SendError::Permanent(_)
        ));
        assert!(matches!(
            classify(502, None, b"bad gateway").error,
            SendError::Transient(_)
        ));
        assert!(matches!(
            classify(400, None, br#"{"message": "overloaded", "code": 130000}"#).error,
            SendError::Transient(_)
        ));
    }
}
