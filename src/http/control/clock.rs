//! `/_mock/clock`: the account's clock (README, "Moving time"). Read it, move it forward,
//! freeze or restart it, or return it to real time. A move answers once everything it made
//! due (deletions, subscription starts and ends, and their events) has committed, and lists
//! what ran.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::http::error::ApiResult;
use crate::http::extract::{parse_datetime, Account, Body};
use crate::http::validate::Problems;
use crate::http::AppState;
use crate::objects::ts;
use crate::store::{AccountClock, ClockMove, Event, Queue, Ran};

pub fn router() -> Router<AppState> {
    Router::new().route("/_mock/clock", get(read).post(move_clock).delete(reset))
}

/// The account's clock.
#[derive(Debug, Serialize)]
pub struct ClockView {
    /// The account's time.
    #[serde(serialize_with = "ts::serialize")]
    pub now: DateTime<Utc>,
    pub frozen: bool,
    /// Whether it is the real clock (never moved, or reset).
    pub real_time: bool,
}

impl ClockView {
    fn new(clock: AccountClock, real: DateTime<Utc>) -> Self {
        ClockView {
            now: clock.now(real),
            frozen: clock.frozen_at.is_some(),
            real_time: clock.is_real(),
        }
    }
}

/// `GET /_mock/clock`: the account's time, read from the store (so that a move by another
/// process sharing the database shows at once).
async fn read(State(state): State<AppState>, account: Account) -> ApiResult<Json<ClockView>> {
    let clock = state.store.read_account_clock(account.as_str()).await?;
    Ok(Json(ClockView::new(clock, state.clock.now())))
}

/// `DELETE /_mock/clock`: back to real time (also part of `POST /_mock/reset`).
async fn reset(State(state): State<AppState>, account: Account) -> ApiResult<Json<ClockView>> {
    state.store.reset_account_clock(account.as_str()).await?;
    Ok(Json(ClockView::new(
        AccountClock::default(),
        state.clock.now(),
    )))
}

/// What a move made happen, in the order it happened.
#[derive(Debug, Default, Serialize)]
pub struct RanView {
    /// Customers whose deletion cascade completed.
    pub deletions_completed: Vec<String>,
    /// Subscriptions that became `active`.
    pub subscriptions_started: Vec<String>,
    /// Subscriptions that became `ended`.
    pub subscriptions_ended: Vec<String>,
    /// Events emitted while the clock moved.
    pub events: Vec<EventSummary>,
    /// Due work that failed; it is retried later, on the account's clock.
    pub failed: Vec<FailedView>,
}

#[derive(Debug, Serialize)]
pub struct EventSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
}

impl From<Event> for EventSummary {
    fn from(event: Event) -> Self {
        EventSummary {
            id: event.id,
            kind: event.kind,
            created_at: event.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FailedView {
    pub queue: &'static str,
    pub subject: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct Moved {
    #[serde(flatten)]
    pub clock: ClockView,
    pub ran: RanView,
}

/// Reads a move from a body: `advance` (a duration), or `to` (an instant), and `freeze`.
fn parse_move(body: BTreeMap<String, Value>) -> ApiResult<ClockMove> {
    let mut p = Problems::default();
    let mut change = ClockMove::default();
    if body.is_empty() {
        p.push(
            "body",
            "give advance (a duration such as \"30d\"), to (an RFC 3339 instant) or freeze \
             (true or false)",
        );
    }
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("advance", Value::String(text)) => match crate::config::parse_duration(text)
                .ok()
                .and_then(|by| chrono::Duration::from_std(by).ok())
            {
                Some(by) => change.advance = Some(by),
                None => p.push(
                    "advance",
                    format!("{text:?} is not a duration such as \"30d\", \"1h 30m\" or \"90s\""),
                ),
            },
            ("advance", other) => p.push(
                "advance",
                format!("expected a duration string such as \"30d\", got {other}"),
            ),
            ("to", Value::String(text)) => match parse_datetime(text) {
                Some(to) => change.to = Some(to),
                None => p.push(
                    "to",
                    format!("{text:?} is not an RFC 3339 instant such as \"2027-01-01T00:00:00Z\""),
                ),
            },
            ("to", other) => p.push(
                "to",
                format!("expected an RFC 3339 instant string, got {other}"),
            ),
            ("freeze", Value::Bool(freeze)) => change.freeze = Some(*freeze),
            ("freeze", other) => p.push("freeze", format!("expected true or false, got {other}")),
            (other, _) => p.push(other, "is not part of a clock move (advance, to, freeze)"),
        }
    }
    if body.contains_key("advance") && body.contains_key("to") {
        p.push("advance", "give advance or to, not both");
        p.push("to", "give advance or to, not both");
    }
    p.finish(|| Some(change))
}

/// `POST /_mock/clock`: moves the account's clock forward (`advance` or `to`) and/or freezes
/// or restarts it, then runs everything the account's new time made due, and answers with the
/// clock and what ran. A move backwards is a 400 naming `to`.
async fn move_clock(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<BTreeMap<String, Value>>,
) -> ApiResult<Json<Moved>> {
    let change = parse_move(body)?;
    let account = account.as_str();
    let mark = state.store.newest_event_mark(account).await?;
    let real = state.clock.now();
    let (_, clock) = state
        .store
        .move_account_clock(account, &change, real)
        .await?;
    let ran = crate::worker::catch_up(&state.store, account, clock.now(real)).await?;
    let mut view = RanView::default();
    for (queue, run) in ran {
        match (queue, run) {
            (Queue::Deletions, Ran::Completed { subject, .. }) => {
                view.deletions_completed.push(subject)
            }
            (_, Ran::Completed { subject, .. }) => match subject.split_once(':') {
                Some(("start", id)) => view.subscriptions_started.push(id.to_owned()),
                Some((_, id)) => view.subscriptions_ended.push(id.to_owned()),
                None => {}
            },
            (queue, Ran::Failed { subject, error, .. }) => view.failed.push(FailedView {
                queue: queue.name(),
                subject,
                error,
            }),
        }
    }
    view.events = state
        .store
        .events_after(account, mark)
        .await?
        .into_iter()
        .map(EventSummary::from)
        .collect();
    Ok(Json(Moved {
        clock: ClockView::new(clock, state.clock.now()),
        ran: view,
    }))
}
