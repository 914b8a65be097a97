//! Long polling (the default): Lookout asks Telegram for updates with `getUpdates`, so no
//! public URL is needed.
//!
//! teloxide's dispatcher is not used: it panics when `getMe` fails, and one platform's bad
//! token or outage must never stop the bot. This loop retries everything with backoff and
//! says why: a refused token, another process polling the same bot, a webhook still set,
//! Telegram unreachable. An update is confirmed (by asking from the next offset) only once it
//! is in Lookout's event queue; when the queue is full the update stays with Telegram and is
//! asked for again.

use std::sync::Arc;
use std::time::Duration;

use teloxide::{ApiError, RequestError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::api::Api;
use super::config::TelegramConfig;
use super::inbound::{Translated, Translator};
use crate::chat::event::ChatEvent;
use crate::chat::platform::SendError;

/// How long an update waits for room in the event queue before it is left with Telegram.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Polls until `shutdown`.
pub async fn run(
    api: Arc<Api>,
    translator: Arc<Translator>,
    config: &TelegramConfig,
    events: mpsc::Sender<ChatEvent>,
    shutdown: CancellationToken,
) {
    if !remove_webhook(&api, config, &shutdown).await {
        return;
    }
    info!(wait = ?config.poll_timeout, "telegram: long polling started");
    let mut offset = 0i32;
    let mut confirmed = 0i32;
    let mut backoff = config.initial_backoff;
    loop {
        let polled = tokio::select! {
            r = api.get_updates(offset, config.poll_timeout) => r,
            _ = shutdown.cancelled() => break,
        };
        let pause = match polled {
            Ok(updates) => {
                backoff = config.initial_backoff;
                confirmed = offset;
                let mut blocked = false;
                for u in updates {
                    match translator.update(&u) {
                        Translated::Event(ev) => {
                            if events.send_timeout(ev, QUEUE_WAIT).await.is_err() {
                                translator.forget(u.id.0);
                                blocked = true;
                                break;
                            }
                        }
                        Translated::AnswerOnly(query) => {
                            let api = api.clone();
                            tokio::spawn(async move {
                                let _ = api.answer(&query, None).await;
                            });
                        }
                        Translated::Nothing => {}
                    }
                    offset = u.id.as_offset();
                }
                if blocked {
                    warn!("telegram: chat event queue full; updates left with Telegram for later");
                }
                blocked.then_some(QUEUE_WAIT)
            }
            Err(e) => {
                let wait = trouble(&e, backoff);
                if is_webhook_conflict(&e) {
                    let _ = api.delete_webhook().await;
                }
                backoff = (backoff * 2).min(config.max_backoff);
                Some(wait)
            }
        };
        if let Some(wait) = pause {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    }
    // Confirm what was handled, so the next start does not receive it again.
    if offset > confirmed {
        let _ = api.get_updates(offset, Duration::ZERO).await;
    }
    info!("telegram: long polling stopped");
}

/// `deleteWebhook` until it works; false when shut down first.
async fn remove_webhook(api: &Api, config: &TelegramConfig, shutdown: &CancellationToken) -> bool {
    let mut backoff = config.initial_backoff;
    loop {
        let attempt = tokio::select! {
            r = api.delete_webhook() => r,
            _ = shutdown.cancelled() => return false,
        };
        let wait = match attempt {
            Ok(()) => return true,
            Err(SendError::RateLimited(after)) => after.max(backoff),
            Err(e) => {
                warn!(error = %e, retry_in = ?backoff, "telegram: cannot remove the webhook before polling; retrying");
                backoff
            }
        };
        backoff = (backoff * 2).min(config.max_backoff);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return false,
        }
    }
}

/// Logs why polling failed and returns how long to wait.
fn trouble(e: &RequestError, backoff: Duration) -> Duration {
    match e {
        RequestError::RetryAfter(s) => {
            warn!(retry_in = ?s.duration(), "telegram: polling rate limited");
            s.duration()
        }
        RequestError::Api(ApiError::InvalidToken) => {
            error!(
                retry_in = ?backoff,
                "telegram: the bot token was refused (check LOOKOUT_TELEGRAM_BOT_TOKEN); retrying"
            );
            backoff
        }
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
            error!(
                retry_in = ?backoff,
                "telegram: another process is polling this bot; only one may (one bot per cluster)"
            );
            backoff
        }
        e if is_webhook_conflict(e) => {
            warn!(retry_in = ?backoff, "telegram: a webhook is set on this bot; removing it to poll");
            backoff
        }
        RequestError::Network(err) => {
            warn!(error = %err, retry_in = ?backoff, "telegram: unreachable; retrying");
            backoff
        }
        other => {
            warn!(error = %other, retry_in = ?backoff, "telegram: polling failed; retrying");
            backoff
        }
    }
}

fn is_webhook_conflict(e: &RequestError) -> bool {
    match e {
        RequestError::Api(ApiError::CantGetUpdates) => true,
        RequestError::Api(ApiError::Unknown(d)) => {
            d.starts_with("Conflict") && d.contains("webhook")
        }
        _ => false,
    }
}
