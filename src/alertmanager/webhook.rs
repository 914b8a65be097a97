//! The HTTP side: `POST {path}` with `Authorization: Bearer <token>`.
//! 401 for a missing or wrong token, 413 for a body over the limit, 400 (with the reason) for
//! a malformed one, 503 while the pipeline cannot take more (Alertmanager retries), 200 once
//! the alerts are queued.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::payload::{Payload, parse};
use crate::config::Secret;

/// The Alertmanager webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerConfig {
    /// Bearer token Alertmanager must send (its `http_config.authorization.credentials`).
    /// The endpoint is off while this is empty. Usually set with `LOOKOUT_ALERTMANAGER_TOKEN`.
    pub token: Secret,
    /// Path of the endpoint on the HTTP server.
    pub path: String,
    /// Largest body accepted; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            path: "/webhooks/alertmanager".into(),
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone)]
struct WebhookState {
    token_hash: [u8; 32],
    sink: mpsc::Sender<Payload>,
    requests: Family<OutcomeLabel, Counter>,
}

/// The webhook's routes, or None when no token is configured. Parsed payloads go to `sink`.
pub fn router(
    config: &AlertmanagerConfig,
    sink: mpsc::Sender<Payload>,
    registry: &mut Registry,
) -> Option<Router> {
    if config.token.is_empty() {
        return None;
    }
    let requests = Family::<OutcomeLabel, Counter>::default();
    registry.register(
        "lookout_alertmanager_requests",
        "Alertmanager webhook requests by outcome",
        requests.clone(),
    );
    let state = WebhookState {
        token_hash: Sha256::digest(config.token.expose().as_bytes()).into(),
        sink,
        requests,
    };
    Some(
        Router::new()
            .route(&config.path, post(receive))
            .layer(DefaultBodyLimit::max(config.max_body_bytes))
            .with_state(state),
    )
}

async fn receive(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Response {
    let count = |outcome| {
        state
            .requests
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    };
    if !authorized(&headers, &state.token_hash) {
        count("unauthorized");
        warn!("alertmanager webhook: missing or wrong bearer token");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token\n",
        )
            .into_response();
    }
    let payload = match parse(&body) {
        Ok(p) => p,
        Err(e) => {
            count("malformed");
            warn!(error = %e, "alertmanager webhook: malformed body");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let alerts = payload.alerts.len();
    debug!(group = %payload.group_key, alerts, status = %payload.status, "alertmanager webhook");
    match state.sink.try_send(payload) {
        Ok(()) => {
            count("accepted");
            (StatusCode::OK, format!("accepted {alerts} alerts\n")).into_response()
        }
        Err(_) => {
            count("busy");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "lookout is not accepting alerts right now; retry\n",
            )
                .into_response()
        }
    }
}

/// Compares the presented token with the configured one without leaking, through timing, how
/// much of it matched: both are hashed, and the digests compared in full.
fn authorized(headers: &HeaderMap, token_hash: &[u8; 32]) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
    digest
        .iter()
        .zip(token_hash)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}
