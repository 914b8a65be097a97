//! Socket Mode (the default): Lookout opens WebSockets to Slack, so no public URL is needed.
//!
//! slack-morphism's listener does the protocol (hello, envelopes, acks, pings) and replaces a
//! connection that drops. Before starting it, the app token is proven with
//! `apps.connections.open`, retried with backoff: a wrong token or an outage at start is
//! logged with the reason and retried, never fatal, and never stops other platforms.
//!
//! The listener's callbacks are plain `fn`s; they reach the translator and the event queue
//! through slack-morphism's user state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use slack_morphism::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::api::{Api, Client};
use super::backoff::Backoff;
use super::config::SlackConfig;
use super::inbound::Translator;
use crate::chat::event::ChatEvent;
use crate::chat::platform::SendError;

/// How long an envelope waits for room in the event queue; past it, the envelope is not
/// acknowledged and Slack delivers it again.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// What the callbacks need.
struct SocketState {
    translator: Arc<Translator>,
    events: mpsc::Sender<ChatEvent>,
    hellos: Arc<AtomicU64>,
}

/// The event queue was full: the envelope stays unacknowledged so Slack redelivers it.
#[derive(Debug, thiserror::Error)]
#[error("chat event queue full or closed")]
struct QueueFull;

/// Runs Socket Mode until `shutdown`. `hellos` counts the connections Slack greeted.
pub async fn run(
    api: Arc<Api>,
    translator: Arc<Translator>,
    config: &SlackConfig,
    events: mpsc::Sender<ChatEvent>,
    hellos: Arc<AtomicU64>,
    shutdown: CancellationToken,
) {
    let app_token = super::api::token(config.app_token.expose(), SlackApiTokenType::App);
    let mut backoff = Backoff::new(config.initial_backoff, config.max_backoff);
    loop {
        let attempt = tokio::select! {
            r = api.connections_open(&app_token) => r,
            _ = shutdown.cancelled() => return,
        };
        let wait = match attempt {
            Ok(()) => break,
            Err(SendError::Permanent(reason)) => {
                let wait = backoff.next();
                error!(
                    %reason, retry_in = ?wait,
                    "slack socket mode: the app-level token was refused \
                     (check LOOKOUT_SLACK_APP_TOKEN and the connections:write scope); retrying"
                );
                wait
            }
            Err(SendError::RateLimited(after)) => {
                let wait = backoff.next().max(after);
                warn!(retry_in = ?wait, "slack socket mode: rate limited at connect; retrying");
                wait
            }
            Err(SendError::Transient(reason)) => {
                let wait = backoff.next();
                warn!(%reason, retry_in = ?wait, "slack socket mode: slack unreachable; retrying");
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
    }

    let env = SlackClientEventsListenerEnvironment::new(api.client().clone())
        .with_error_handler(on_error)
        .with_user_state(SocketState {
            translator,
            events,
            hellos,
        });
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_hello_events(on_hello)
        .with_push_events(on_push)
        .with_interaction_events(on_interaction);
    let listener_config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(config.max_connections)
        .with_ping_interval_in_seconds(config.ping_interval.as_secs().max(1))
        .with_reconnect_timeout_in_seconds(config.reconnect_delay.as_secs().max(1))
        .with_initial_backoff_in_seconds(1);
    let listener = SlackClientSocketModeListener::new(&listener_config, Arc::new(env), callbacks);
    if let Err(e) = listener.listen_for(&app_token).await {
        // Registering only records the token; it has no failure path in the tokio manager.
        error!(error = %e, "slack socket mode: could not register the app token");
        return;
    }
    listener.start().await;
    info!(
        connections = config.max_connections,
        "slack socket mode: started"
    );
    shutdown.cancelled().await;
    listener.shutdown().await;
    info!("slack socket mode: stopped");
}

async fn state_of(
    state: &SlackClientEventsUserState,
) -> Option<(Arc<Translator>, mpsc::Sender<ChatEvent>, Arc<AtomicU64>)> {
    let guard = state.read().await;
    guard
        .get_user_state::<SocketState>()
        .map(|s| (s.translator.clone(), s.events.clone(), s.hellos.clone()))
}

/// Generic because slack-morphism does not export the hello event's type; it is inferred.
async fn on_hello<Hello: Send>(
    _hello: Hello,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) {
    if let Some((_, _, hellos)) = state_of(&state).await {
        let n = hellos.fetch_add(1, Ordering::Relaxed) + 1;
        info!(connection = n, "slack socket mode: connected");
    }
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let Some((translator, events, _)) = state_of(&state).await else {
        return Ok(());
    };
    if let Some(ev) = translator.push_event(&event) {
        forward(&translator, &events, ev, &event.event_id.0).await?;
    }
    Ok(())
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let Some((translator, events, _)) = state_of(&state).await else {
        return Ok(());
    };
    let trigger = match &event {
        SlackInteractionEvent::BlockActions(b) => b.trigger_id.0.clone(),
        _ => String::new(),
    };
    for click in translator.interaction(&event) {
        forward(&translator, &events, click, &trigger).await?;
    }
    Ok(())
}

async fn forward(
    translator: &Translator,
    events: &mpsc::Sender<ChatEvent>,
    ev: ChatEvent,
    id: &str,
) -> UserCallbackResult<()> {
    if events.send_timeout(ev, QUEUE_WAIT).await.is_err() {
        translator.forget(id);
        return Err(Box::new(QueueFull));
    }
    Ok(())
}

/// Errors of the listener: connection failures (it reconnects by itself), payloads it
/// could not parse (acknowledged, never better on retry), and a full queue (left
/// unacknowledged so Slack redelivers).
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<Client>,
    _state: SlackClientEventsUserState,
) -> StatusCode {
    if err.downcast_ref::<QueueFull>().is_some() {
        warn!("slack socket mode: chat event queue full; envelope left for Slack to redeliver");
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    warn!(error = %first, "slack socket mode: error (connections are re-established by themselves)");
    StatusCode::OK
}
