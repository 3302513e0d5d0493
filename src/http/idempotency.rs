//! Idempotent POSTs (README, "Idempotency"): a request carrying an `Idempotency-Key` runs once per account and
//! key; a retry with the same payload gets the stored answer with `Idempotent-Replayed: true`.
//!
//! The key is claimed in the store before the handler runs, so two processes sharing a database
//! agree on it too. A 5xx, a timeout or a dropped request releases the claim, so a retry runs the
//! request again; only answers the client may rely on (2xx and 4xx) are stored.

use std::future::Future;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::store::{KeyClaim, Store};

pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// What makes two requests "the same request": method, Orb path, query and body.
pub fn fingerprint(method: &Method, orb_path: &str, query: Option<&str>, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [
        method.as_str().as_bytes(),
        orb_path.as_bytes(),
        query.unwrap_or("").as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Runs `handler` under the key, or answers from what the key already holds.
pub async fn run(
    state: &AppState,
    account: &str,
    key: &str,
    fingerprint: &str,
    handler: impl Future<Output = Response>,
) -> Response {
    // A claim older than the request timeout belongs to a request that can no longer answer.
    let abandoned_after = state.config.request_timeout + Duration::from_secs(1);
    let claim = state
        .store
        .claim_idempotency_key(
            account,
            key,
            fingerprint,
            state.clock.now(),
            abandoned_after,
        )
        .await;
    match claim {
        Err(err) => ApiError::from(err).into_response(),
        Ok(KeyClaim::Replay { status, body }) => replay(status, body),
        Ok(KeyClaim::Mismatch) => ApiError::Conflict(format!(
            "Idempotency-Key {key:?} was already used with a different request. \
             Use a new key for a new request."
        ))
        .into_response(),
        Ok(KeyClaim::InFlight) => ApiError::Conflict(format!(
            "A request with Idempotency-Key {key:?} is still being processed. Retry later."
        ))
        .into_response(),
        Ok(KeyClaim::Execute) => {
            let mut release = Release::new(&state.store, account, key);
            let response = handler.await;
            let (parts, body) = response.into_parts();
            let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(bytes) => bytes,
                Err(err) => {
                    tracing::error!(error = %err, "could not read a response body");
                    return ApiError::Timeout(
                        "The response could not be produced. Please retry.".into(),
                    )
                    .into_response();
                }
            };
            if parts.status.is_server_error() {
                // Released before answering, so that the client's retry finds the key free.
                release.disarm();
                if let Err(err) = state.store.release_idempotency_key(account, key).await {
                    tracing::warn!(error = %err, "could not release an idempotency key");
                }
            } else {
                let stored = state
                    .store
                    .finish_idempotency_key(account, key, parts.status.as_u16(), &bytes)
                    .await;
                match stored {
                    Ok(()) => release.disarm(),
                    Err(err) => {
                        tracing::warn!(error = %err, "could not store an idempotent response")
                    }
                }
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if status != StatusCode::NO_CONTENT {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Releases a claimed key unless disarmed: a request that fails, times out or is dropped
/// mid-way must not leave its key claimed.
struct Release {
    armed: Option<(Store, String, String)>,
}

impl Release {
    fn new(store: &Store, account: &str, key: &str) -> Release {
        Release {
            armed: Some((store.clone(), account.to_owned(), key.to_owned())),
        }
    }

    fn disarm(&mut self) {
        self.armed = None;
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some((store, account, key)) = self.armed.take() {
            tokio::spawn(async move {
                if let Err(err) = store.release_idempotency_key(&account, &key).await {
                    tracing::warn!(error = %err, "could not release an idempotency key");
                }
            });
        }
    }
}
