//! `/_mock/webhooks`: what the account emitted and how each delivery went, and the controls a
//! test needs: deliver everything due now, emit a test event, send an event again (README,
//! "Testing webhook handlers").

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::error::ApiResult;
use crate::http::extract::{page_body, Account, Body, QueryParams};
use crate::http::AppState;
use crate::objects::{event_body, ts, Page};
use crate::store::{DeliveryAttempt, Event, PayloadStyle, Queue};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_mock/webhooks/events", get(events))
        .route("/_mock/webhooks/events/{event_id}/resend", post(resend))
        .route("/_mock/webhooks/deliveries", get(deliveries))
        .route("/_mock/webhooks/flush", post(flush))
        .route("/_mock/webhooks/test", post(test))
}

/// An event as its `expanded` body.
fn expanded(event: &Event) -> Value {
    event_body(event, PayloadStyle::Expanded)
}

/// `GET /_mock/webhooks/events`: every event the account emitted, newest first, whether or not
/// an endpoint received it; `?type=` narrows to one type; `limit` and `cursor` page.
async fn events(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<Value>>> {
    let page = state
        .store
        .list_events(
            account.as_str(),
            query.one("type")?,
            query.page("webhook_events")?,
        )
        .await?;
    Ok(Json(page_body("webhook_events", &page, expanded)))
}

/// One delivery attempt.
#[derive(Serialize)]
struct AttemptView {
    event_id: String,
    endpoint_id: String,
    url: String,
    /// 1 for the first attempt of this delivery, 2 for its first retry, …
    attempt: i32,
    /// The receiver's status; `null` when it did not answer.
    status: Option<i32>,
    succeeded: bool,
    latency_ms: i64,
    error: Option<String>,
    #[serde(serialize_with = "ts::serialize")]
    attempted_at: DateTime<Utc>,
}

impl From<&DeliveryAttempt> for AttemptView {
    fn from(attempt: &DeliveryAttempt) -> Self {
        AttemptView {
            event_id: attempt.event_id.clone(),
            endpoint_id: attempt.endpoint_id.clone(),
            url: attempt.url.clone(),
            attempt: attempt.attempt,
            status: attempt.status,
            succeeded: attempt.error.is_none(),
            latency_ms: attempt.latency_ms,
            error: attempt.error.clone(),
            attempted_at: attempt.attempted_at,
        }
    }
}

/// `GET /_mock/webhooks/deliveries`: every attempt, newest first; `?event_id=` narrows.
async fn deliveries(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<AttemptView>>> {
    let page = state
        .store
        .delivery_attempts(
            account.as_str(),
            query.one("event_id")?,
            query.page("webhook_deliveries")?,
        )
        .await?;
    Ok(Json(page_body("webhook_deliveries", &page, |attempt| {
        AttemptView::from(attempt)
    })))
}

#[derive(Serialize)]
struct Flushed {
    /// Deliveries this flush made that the receiver accepted.
    delivered: usize,
    /// Deliveries still waiting for a retry (their last attempt failed).
    retrying: i64,
}

/// A failed attempt whose retry falls due within this is retried within the flush.
const FLUSH_HORIZON: Duration = Duration::from_secs(1);

/// `POST /_mock/webhooks/flush`: answers once every delivery due now has succeeded or failed
/// its attempt (including those another worker had in flight), retrying those whose retry falls
/// due within [`FLUSH_HORIZON`].
async fn flush(State(state): State<AppState>, account: Account) -> ApiResult<Json<Flushed>> {
    let deadline = tokio::time::Instant::now() + crate::worker::DRAIN_TIMEOUT;
    let mut delivered = 0;
    loop {
        delivered += crate::worker::drain(
            &state.store,
            &state.clock,
            Queue::Webhooks,
            Some(account.as_str()),
        )
        .await?;
        let next = state.store.next_delivery_due(account.as_str()).await?;
        let wait = next.and_then(|due| (due - state.clock.now()).to_std().ok());
        match wait {
            Some(wait) if wait <= FLUSH_HORIZON && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(wait).await
            }
            // Due already (a retry that fell due while the drain finished): drain again.
            None if next.is_some() && tokio::time::Instant::now() < deadline => {}
            _ => break,
        }
    }
    let retrying = state.store.pending_deliveries(account.as_str()).await?;
    Ok(Json(Flushed {
        delivered,
        retrying,
    }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestEvent {
    /// Send it to this endpoint only; by default, to every enabled endpoint.
    endpoint_id: Option<String>,
}

/// `POST /_mock/webhooks/test`: emits `resource_event.test`, as Orb's dashboard does.
async fn test(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<TestEvent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let event = state
        .store
        .emit_test_event(
            account.as_str(),
            body.endpoint_id.as_deref(),
            state.now(&account).await?,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(expanded(&event))))
}

#[derive(Serialize)]
struct Resent {
    event: Value,
    /// Deliveries queued: one per enabled endpoint that wants the event's type.
    queued: usize,
}

/// `POST /_mock/webhooks/events/{event_id}/resend`: the same event, with the same `id`, to
/// every enabled endpoint that wants its type.
async fn resend(
    State(state): State<AppState>,
    account: Account,
    Path(event_id): Path<String>,
) -> ApiResult<Json<Resent>> {
    let (event, queued) = state
        .store
        .resend_event(account.as_str(), &event_id, state.now(&account).await?)
        .await?;
    Ok(Json(Resent {
        event: expanded(&event),
        queued,
    }))
}
