//! Webhook mode: Telegram POSTs each update as JSON to `webhook_path` on Lookout's HTTP server.
//!
//! Every request must carry the configured secret in `X-Telegram-Bot-Api-Secret-Token`
//! (compared in constant time); anything else gets 401. An authentic update Lookout cannot
//! read is logged and acknowledged (200) so Telegram does not retry it forever; while the bot
//! does not know who it is yet, or when the event queue is full, the answer is 503 and
//! Telegram delivers the update again later.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use teloxide::types::Update;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::api::Api;
use super::inbound::{Translated, Translator};
use crate::chat::event::ChatEvent;

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// How long a request waits for room in the event queue before Telegram is told to retry.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Hook {
    secret: Arc<str>,
    translator: Arc<Translator>,
    api: Arc<Api>,
    events: mpsc::Sender<ChatEvent>,
}

/// The endpoint at `path`, delivering into `events`.
pub fn router(
    path: &str,
    secret: &str,
    max_body_bytes: usize,
    translator: Arc<Translator>,
    api: Arc<Api>,
    events: mpsc::Sender<ChatEvent>,
) -> Router {
    let hook = Hook {
        secret: secret.into(),
        translator,
        api,
        events,
    };
    Router::new()
        .route(path, post(receive))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(hook)
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> Response {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    if !given.is_some_and(|g| same(g, hook.secret.as_bytes())) {
        warn!("telegram webhook: request without the right secret token refused");
        return status(StatusCode::UNAUTHORIZED, "bad secret token");
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            warn!(error = %e, "telegram webhook: update not understood; ignored");
            return StatusCode::OK.into_response();
        }
    };
    if !hook.translator.ready() {
        debug!("telegram webhook: update before the bot knows itself; asking to retry");
        return status(StatusCode::SERVICE_UNAVAILABLE, "starting");
    }
    match hook.translator.update(&update) {
        Translated::Event(ev) => {
            if hook.events.send_timeout(ev, QUEUE_WAIT).await.is_err() {
                hook.translator.forget(update.id.0);
                warn!(
                    "telegram webhook: chat event queue full or closed; asking Telegram to retry"
                );
                return status(StatusCode::SERVICE_UNAVAILABLE, "busy");
            }
        }
        Translated::AnswerOnly(query) => {
            let api = hook.api.clone();
            tokio::spawn(async move {
                let _ = api.answer(&query, None).await;
            });
        }
        Translated::Nothing => {}
    }
    StatusCode::OK.into_response()
}

/// Equality that takes as long whatever the first differing byte (the secret's length is not
/// hidden; its content is).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn status(code: StatusCode, reason: &str) -> Response {
    (code, format!("{reason}\n")).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::same(b"s3cret", b"s3cret"));
        assert!(!super::same(b"s3cret", b"s3creT"));
        assert!(!super::same(b"s3cret", b"s3cre"));
    }
}
