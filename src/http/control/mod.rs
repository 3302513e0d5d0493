//! The `/_mock` control surface: what tests can do that the real Orb cannot. Its handlers, and
//! the in-memory state they keep beside the store ([`Control`]: fault rules, journals, rate
//! budgets). Not part of Orb's API, and namespaced so that it can never collide with Orb's
//! paths. Every route but health takes the same bearer key as Orb's routes and acts on that
//! account only (README, "Control surface").

pub mod clock;
pub mod faults;
pub mod fixtures;
pub mod journal;
pub mod webhooks;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::RateLimit;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Account, Body, QueryParams};
use crate::http::validate::Problems;
use crate::http::AppState;
use crate::store::{AccountSettings, Deletion, DeletionState, Queue};
use faults::{Faults, NewRule, Rule};
use journal::{EntryView, Journal};

/// How long the health route waits for the store.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// The control surface's in-memory state: journals, fault rules and rate budgets. (Data,
/// settings and idempotency keys live in the store.)
pub struct Control {
    pub journal: Journal,
    pub faults: Faults,
    pub limiter: Option<Limiter>,
}

impl Control {
    pub fn new(journal_size: usize, rate_limit: Option<RateLimit>) -> Control {
        Control {
            journal: Journal::new(journal_size),
            faults: Faults::default(),
            limiter: rate_limit.map(Limiter::new),
        }
    }
}

/// A per-account request budget (`--rate-limit`), kept by `governor`.
pub struct Limiter(DefaultKeyedRateLimiter<String>);

/// Whether a request fits the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateVerdict {
    Allow,
    /// Over budget: the next request fits after this long.
    Wait(Duration),
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        let per_request = limit.per / limit.count.get();
        let quota = Quota::with_period(per_request)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(limit.count);
        Limiter(DefaultKeyedRateLimiter::keyed(quota))
    }

    pub fn check(&self, account: &str) -> RateVerdict {
        match self.0.check_key(&account.to_owned()) {
            Ok(()) => RateVerdict::Allow,
            Err(not_until) => {
                RateVerdict::Wait(not_until.wait_time_from(DefaultClock::default().now()))
            }
        }
    }
}

/// Whether a request path is the control surface's rather than Orb's.
pub fn is_control_path(path: &str) -> bool {
    path == "/_mock" || path.starts_with("/_mock/")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_mock/health", get(health))
        .route("/_mock/openapi.json", get(crate::openapi::serve))
        .route("/_mock/reset", post(reset))
        .route("/_mock/settings", get(settings).patch(update_settings))
        .route("/_mock/deletions", get(deletions))
        .route("/_mock/deletions/complete", post(complete_deletions))
        .route("/_mock/fixtures", post(fixtures::load))
        .route("/_mock/requests", get(requests).delete(clear_requests))
        .route(
            "/_mock/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/_mock/faults/{id}", delete(remove_fault))
        .merge(webhooks::router())
        .merge(clock::router())
}

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
}

/// `GET /_mock/health` (no auth): 200 `{"status":"ok"}` when the store answers, 503
/// `{"status":"unavailable"}` when it does not (or not within two seconds).
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // On a task of its own: a ping given up on must not be dropped mid-query.
    let store = state.store.clone();
    let ping = tokio::spawn(async move { store.ping().await });
    // Within the request timeout, so that a store that does not answer is a 503, not a 500.
    let patience = HEALTH_TIMEOUT.min(state.config.request_timeout / 2);
    match tokio::time::timeout(patience, ping).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, Json(Health { status: "ok" })),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: the ping's task failed");
            unavailable()
        }
        Ok(Ok(Err(err))) => {
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

/// A list answer: `{"data": [...]}`.
#[derive(Serialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// `POST /_mock/reset`: the account starts over: no data, settings, faults, journal or keys,
/// and its clock back on real time.
async fn reset(State(state): State<AppState>, account: Account) -> ApiResult<StatusCode> {
    state.store.reset_account(account.as_str()).await?;
    state.control.faults.clear(account.as_str());
    state.control.journal.clear(account.as_str());
    Ok(StatusCode::NO_CONTENT)
}

/// The account's effective settings.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub deletion_delay: String,
}

fn settings_view(state: &AppState, settings: &AccountSettings) -> SettingsView {
    let delay = settings
        .deletion_delay
        .unwrap_or(state.config.deletion_delay);
    SettingsView {
        deletion_delay: humantime::format_duration(delay).to_string(),
    }
}

async fn settings(
    State(state): State<AppState>,
    account: Account,
) -> ApiResult<Json<SettingsView>> {
    let settings = state.store.account_settings(account.as_str()).await?;
    Ok(Json(settings_view(&state, &settings)))
}

/// `PATCH /_mock/settings`: each given key overrides the server's flag for this account;
/// `null` goes back to the flag.
async fn update_settings(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<BTreeMap<String, Value>>,
) -> ApiResult<Json<SettingsView>> {
    let mut settings = state.store.account_settings(account.as_str()).await?;
    let mut p = Problems::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("deletion_delay", Value::Null) => settings.deletion_delay = None,
            ("deletion_delay", Value::String(text)) => {
                match crate::config::parse_deletion_delay(&text) {
                    Ok(delay) => settings.deletion_delay = Some(delay),
                    Err(err) => p.push("deletion_delay", err),
                }
            }
            ("deletion_delay", other) => p.push(
                "deletion_delay",
                format!("expected a duration string such as \"0s\" or null, got {other}"),
            ),
            (other, _) => p.push(other, "is not a setting (known: deletion_delay)"),
        }
    }
    p.finish(|| Some(()))?;
    state
        .store
        .set_account_settings(account.as_str(), &settings)
        .await?;
    Ok(Json(settings_view(&state, &settings)))
}

/// One deletion as `GET /_mock/deletions` shows it.
#[derive(Debug, Serialize)]
pub struct DeletionView {
    pub customer_id: String,
    /// `pending`, `completed`, or `failed` (the last attempt failed; it will be retried).
    pub state: &'static str,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Deletion> for DeletionView {
    fn from(deletion: Deletion) -> Self {
        DeletionView {
            state: match (deletion.state, &deletion.last_error) {
                (DeletionState::Completed, _) => "completed",
                (DeletionState::Pending, Some(_)) => "failed",
                (DeletionState::Pending, None) => "pending",
            },
            customer_id: deletion.customer_id,
            due_at: deletion.due_at,
            attempts: deletion.attempts,
            last_error: deletion.last_error,
            requested_at: deletion.created_at,
            completed_at: deletion.completed_at,
        }
    }
}

async fn deletion_views(state: &AppState, account: &Account) -> ApiResult<Vec<DeletionView>> {
    let mut deletions = state.store.deletions(account.as_str()).await?;
    deletions.reverse();
    Ok(deletions.into_iter().map(DeletionView::from).collect())
}

/// `GET /_mock/deletions`: the account's deletions, newest first.
async fn deletions(
    State(state): State<AppState>,
    account: Account,
) -> ApiResult<Json<List<DeletionView>>> {
    Ok(Json(List {
        data: deletion_views(&state, &account).await?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteDeletions {
    customer_id: Option<String>,
}

#[derive(Serialize)]
struct Completed {
    /// How many cascades ran to completion in this call.
    completed: usize,
    /// The deletions this call was about, as they now stand.
    data: Vec<DeletionView>,
}

/// `POST /_mock/deletions/complete`: runs the account's pending cascades (or one customer's)
/// now, and answers once they have committed.
async fn complete_deletions(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<CompleteDeletions>,
) -> ApiResult<Json<Completed>> {
    let customer_id = body.customer_id.as_deref();
    let now = state.now(&account).await?;
    let views = deletion_views(&state, &account).await?;
    if let Some(id) = customer_id {
        if !views.iter().any(|view| view.customer_id == id) {
            return Err(ApiError::not_found("Deletion", id));
        }
    }
    state
        .store
        .make_deletions_due(account.as_str(), customer_id, now)
        .await?;
    let completed = crate::worker::drain(
        &state.store,
        &state.clock,
        Queue::Deletions,
        Some(account.as_str()),
    )
    .await?;
    let data = deletion_views(&state, &account)
        .await?
        .into_iter()
        .filter(|view| customer_id.is_none_or(|id| view.customer_id == id))
        .collect();
    Ok(Json(Completed { completed, data }))
}

/// `GET /_mock/requests`: the account's journal, newest first.
async fn requests(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<List<EntryView>>> {
    let method = match query.one("method")? {
        Some(method) => Some(
            Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                ApiError::invalid("method", format!("{method:?} is not an HTTP method"))
            })?,
        ),
        None => None,
    };
    let path = query.one("path")?.map(crate::http::orb_path);
    Ok(Json(List {
        data: state
            .control
            .journal
            .entries(account.as_str(), method.as_ref(), path),
    }))
}

async fn clear_requests(State(state): State<AppState>, account: Account) -> StatusCode {
    state.control.journal.clear(account.as_str());
    StatusCode::NO_CONTENT
}

async fn add_fault(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<NewRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    let rule = body.validate(crate::store::new_id())?;
    Ok((
        StatusCode::CREATED,
        Json(state.control.faults.add(account.as_str(), rule)),
    ))
}

async fn list_faults(State(state): State<AppState>, account: Account) -> Json<List<Rule>> {
    Json(List {
        data: state.control.faults.list(account.as_str()),
    })
}

async fn clear_faults(State(state): State<AppState>, account: Account) -> StatusCode {
    state.control.faults.clear(account.as_str());
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(state): State<AppState>,
    account: Account,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.control.faults.remove(account.as_str(), &id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("FaultRule", &id))
    }
}
