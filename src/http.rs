//! The HTTP server: `/healthz` (the process is alive), `/readyz` (its dependencies answer),
//! `/metrics` (Prometheus). Webhook endpoints of later components are merged in by `app.rs`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio::net::TcpListener;

use crate::health::Health;
use crate::metrics;

/// What the core endpoints read.
#[derive(Clone)]
pub struct CoreState {
    pub health: Health,
    pub registry: Arc<Registry>,
}

/// The core routes; components add theirs with `Router::merge`.
pub fn core_router(state: CoreState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_handler))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<CoreState>) -> Response {
    let ready = state.health.ready();
    let body = json!({ "ready": ready, "checks": state.health.snapshot() });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics_handler(State(state): State<CoreState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::encode(&state.registry),
    )
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` completes; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
