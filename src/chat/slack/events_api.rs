//! The HTTP Events API (mode `http`): one endpoint for events and interactivity.
//!
//! Every request must carry `x-slack-signature = v0=hex(HMAC-SHA256(signing secret,
//! "v0:{timestamp}:{body}"))` and a `x-slack-request-timestamp` within 5 minutes of now
//! (slack-morphism's verifier, constant-time); anything else gets 401. Then:
//! `url_verification` is answered with its challenge; `event_callback` and interactive
//! payloads (`payload=` form field) become chat events; an authentic payload Lookout cannot
//! use is logged and acknowledged (200), so Slack does not retry it. When the event queue is
//! full the answer is 503 and Slack delivers again later.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use slack_morphism::prelude::*;
use slack_morphism::signature_verifier::{
    SlackEventSignatureVerifier, SlackEventSignatureVerifierError,
};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::inbound::Translator;
use crate::chat::event::ChatEvent;

/// How long a request waits for room in the event queue before Slack is told to retry.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct EventsState {
    verifier: SlackEventSignatureVerifier,
    translator: Arc<Translator>,
    events: mpsc::Sender<ChatEvent>,
}

/// The endpoint at `path`, delivering into `events`.
pub fn router(
    path: &str,
    signing_secret: &str,
    max_body_bytes: usize,
    translator: Arc<Translator>,
    events: mpsc::Sender<ChatEvent>,
) -> Router {
    let state = EventsState {
        verifier: SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
            signing_secret.to_string(),
        )),
        translator,
        events,
    };
    Router::new()
        .route(path, post(receive))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn receive(State(state): State<EventsState>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => return status(StatusCode::BAD_REQUEST, "body is not UTF-8"),
    };
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header_str(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
        header_str(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
    ) else {
        warn!("slack events: request without signature headers refused");
        return status(StatusCode::UNAUTHORIZED, "missing slack signature");
    };
    if let Err(e) = state.verifier.verify(signature, text, timestamp) {
        let reason = match e {
            SlackEventSignatureVerifierError::IncorrectOrExpiredTimestampError(_) => {
                "stale or invalid timestamp"
            }
            _ => "bad signature",
        };
        warn!(reason, timestamp, "slack events: request refused");
        return status(StatusCode::UNAUTHORIZED, reason);
    }

    let is_form = header_str(header::CONTENT_TYPE.as_str())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        interactive(&state, text).await
    } else {
        event(&state, text).await
    }
}

async fn event(state: &EventsState, body: &str) -> Response {
    let push = match serde_json::from_str::<SlackPushEvent>(body) {
        Ok(p) => p,
        Err(e) => {
            warn!(error = %e, "slack events: payload not understood; ignored");
            return StatusCode::OK.into_response();
        }
    };
    match push {
        SlackPushEvent::UrlVerification(v) => {
            debug!("slack events: url_verification answered");
            axum::Json(serde_json::json!({ "challenge": v.challenge })).into_response()
        }
        SlackPushEvent::EventCallback(cb) => match state.translator.push_event(&cb) {
            Some(ev) => forward(state, ev, &cb.event_id.0).await,
            None => StatusCode::OK.into_response(),
        },
        SlackPushEvent::AppRateLimited(r) => {
            warn!(
                team = %r.team_id,
                "slack stopped delivering events for a minute: app rate limited"
            );
            StatusCode::OK.into_response()
        }
    }
}

async fn interactive(state: &EventsState, body: &str) -> Response {
    let Some(payload) = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
    else {
        debug!("slack events: form without payload (slash command?) ignored");
        return StatusCode::OK.into_response();
    };
    let ev = match serde_json::from_str::<SlackInteractionEvent>(&payload) {
        Ok(ev) => ev,
        Err(e) => {
            warn!(error = %e, "slack events: interactive payload not understood; ignored");
            return StatusCode::OK.into_response();
        }
    };
    let trigger = match &ev {
        SlackInteractionEvent::BlockActions(b) => b.trigger_id.0.clone(),
        _ => String::new(),
    };
    for click in state.translator.interaction(&ev) {
        let answer = forward(state, click, &trigger).await;
        if answer.status() != StatusCode::OK {
            return answer;
        }
    }
    StatusCode::OK.into_response()
}

async fn forward(state: &EventsState, ev: ChatEvent, id: &str) -> Response {
    match state.events.send_timeout(ev, QUEUE_WAIT).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => {
            // Let Slack's retry through the duplicate filter.
            state.translator.forget(id);
            warn!("slack events: chat event queue full or closed; asking Slack to retry");
            status(StatusCode::SERVICE_UNAVAILABLE, "busy")
        }
    }
}

fn status(code: StatusCode, reason: &str) -> Response {
    (code, format!("{reason}\n")).into_response()
}
