//! The `/_mock` control surface: what tests can do that the real Orb cannot. Not part of Orb's
//! API, and namespaced so that it can never collide with Orb's paths.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::http::AppState;

/// How long the health route waits for the store.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/_mock/health", get(health))
}

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
}

/// `GET /_mock/health` (no auth): 200 `{"status":"ok"}` when the store answers, 503
/// `{"status":"unavailable"}` when it does not (or not within two seconds).
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match tokio::time::timeout(HEALTH_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(Health { status: "ok" })),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: store unavailable");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("health check: store did not answer in time");
            unavailable()
        }
    }
}

fn unavailable() -> (StatusCode, Json<Health>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health {
            status: "unavailable",
        }),
    )
}
