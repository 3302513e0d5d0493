//! The front of every request: the checks that apply before any handler, and, on Orb's routes,
//! the control surface's hooks in the order a real service would meet them.
//!
//! For a request to an Orb route from a known account:
//! 1. the body is read (413 over the limit), so that it can be journalled and fingerprinted;
//! 2. the account's rate limit (429 with `Retry-After`);
//! 3. `Prefer: code=NNN` (that error, nothing changed);
//! 4. the account's fault rules (an error, a delay, or a dropped connection);
//! 5. idempotency for a POST with a key (replay, 409, or run once);
//! 6. the handler, within the request timeout;
//! 7. the journal records the request and the status it got.
//!
//! `/_mock` routes and requests without a valid API key skip 2–7 (the handler answers 401).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use tokio_util::sync::CancellationToken;

use super::error::{ApiError, ErrorBody, ErrorKind};
use super::extract::Account;
use super::{idempotency, orb_path, AppState};
use crate::mock::faults::{self, Effect};
use crate::mock::journal::{recorded_headers, Entry, Source};
use crate::mock::RateVerdict;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Who answered: `model` (orb-mock's handlers) or `spec` (the `--spec` document).
pub const SOURCE: HeaderName = HeaderName::from_static("x-orb-mock-source");
const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
struct Dropped;

pub async fn front(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let key = request.headers().get(IDEMPOTENCY_KEY).cloned();
    let refused = if declared.is_some_and(|length| length > limit as u64) {
        Some(ApiError::RequestTooLarge { limit })
    } else if key
        .as_ref()
        .is_some_and(|key| key.len() > MAX_IDEMPOTENCY_KEY)
    {
        Some(ApiError::invalid(
            "Idempotency-Key",
            format!("must be at most {MAX_IDEMPOTENCY_KEY} characters"),
        ))
    } else {
        None
    };
    let account = match Account::from_headers(request.headers(), &state.config) {
        Ok(account) if !crate::mock::is_control_path(request.uri().path()) => Some(account),
        _ => None,
    };
    let mut response = match (refused, account) {
        (Some(error), account) => {
            let response = error.into_response();
            if let Some(account) = account {
                let (parts, _) = request.into_parts();
                record(
                    &state,
                    &account,
                    journal_draft(&state, &parts, Bytes::new()),
                    &response,
                );
            }
            response
        }
        (None, None) => within_timeout(&state, next.run(request)).await,
        (None, Some(account)) => orb_request(&state, account, request, next).await,
    };
    if let Some(key) = key {
        response.headers_mut().insert(IDEMPOTENCY_KEY, key);
    }
    let source = source_of(&response);
    response
        .headers_mut()
        .insert(SOURCE, HeaderValue::from_static(source.as_str()));
    response
}

/// Who answered a response: the spec engine marks its own.
fn source_of(response: &Response) -> Source {
    response
        .extensions()
        .get::<Source>()
        .copied()
        .unwrap_or_default()
}

async fn orb_request(state: &AppState, account: Account, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let limit = state.config.max_body_bytes;
            let response = ApiError::RequestTooLarge { limit }.into_response();
            record(
                state,
                &account,
                journal_draft(state, &parts, Bytes::new()),
                &response,
            );
            return response;
        }
    };
    parts.extensions.insert(account.clone());
    let draft = journal_draft(state, &parts, bytes.clone());
    let response = answer(state, &account, parts, bytes, next).await;
    record(state, &account, draft, &response);
    if response.extensions().get::<Dropped>().is_some() {
        return dropped_connection();
    }
    response
}

async fn answer(
    state: &AppState,
    account: &Account,
    parts: Parts,
    body: Bytes,
    next: Next,
) -> Response {
    let path = orb_path(parts.uri.path());
    if let Some(limiter) = &state.control.limiter {
        if let RateVerdict::Wait(wait) = limiter.check(account.as_str()) {
            return too_many_requests(wait);
        }
    }
    match faults::preferred_code(&parts.headers) {
        Some(Ok(kind)) => {
            return ErrorBody::new(kind, "Injected by the request's Prefer header.").into_response()
        }
        Some(Err(error)) => return error.into_response(),
        None => {}
    }
    match state
        .control
        .faults
        .fire(account.as_str(), &parts.method, path)
    {
        Some(Effect::Respond {
            kind,
            detail,
            headers,
            delay,
        }) => {
            tokio::time::sleep(delay).await;
            return ErrorBody::new(kind, detail).into_response_with(&headers);
        }
        Some(Effect::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Effect::Close(delay)) => {
            tokio::time::sleep(delay).await;
            let mut response = Response::default();
            response.extensions_mut().insert(Dropped);
            return response;
        }
        None => {}
    }
    let key = parts
        .headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|key| key.to_str().ok())
        .filter(|key| !key.is_empty() && parts.method == Method::POST);
    let fingerprint =
        key.map(|_| idempotency::fingerprint(&parts.method, path, parts.uri.query(), &body));
    let keyed = key.map(str::to_owned).zip(fingerprint);
    let request = Request::from_parts(parts, Body::from(body));
    let state_for_task = state.clone();
    let account = account.clone();
    within_timeout(state, async move {
        match keyed {
            Some((key, fingerprint)) => {
                let handler = next.run(request);
                idempotency::run(
                    &state_for_task,
                    account.as_str(),
                    &key,
                    &fingerprint,
                    handler,
                )
                .await
            }
            None => next.run(request).await,
        }
    })
    .await
}

/// The handler's answer, or a transient 500 once the request timeout has passed.
///
/// The handler runs on a task of its own, so that neither the timeout nor a client that goes
/// away can drop it in the middle of a database call; instead the request is marked abandoned
/// and its transaction rolls back at its commit ([`crate::store::abandonable`]).
async fn within_timeout(
    state: &AppState,
    run: impl std::future::Future<Output = Response> + Send + 'static,
) -> Response {
    let abandoned = CancellationToken::new();
    // Dropped unanswered (timeout, or the connection went away): mark the work abandoned.
    let guard = abandoned.clone().drop_guard();
    let task = state.tasks.spawn(crate::store::abandonable(abandoned, run));
    let answer = match tokio::time::timeout(state.config.request_timeout, task).await {
        Ok(Ok(response)) => response,
        Ok(Err(join_error)) => {
            tracing::error!(error = %join_error, "a request's task failed");
            ApiError::Timeout("The request failed unexpectedly. Please retry.".into())
                .into_response()
        }
        Err(_) => {
            return ApiError::Timeout(format!(
                "The request did not finish within {:?}. Please retry.",
                state.config.request_timeout
            ))
            .into_response()
        }
    };
    guard.disarm();
    answer
}

/// 429 with `Retry-After` in whole seconds, at least 1 (SPEC §7).
fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    ErrorBody::new(
        ErrorKind::TooManyRequests,
        format!("Rate limit exceeded. Retry in {seconds} s."),
    )
    .into_response_with(&[(RETRY_AFTER, HeaderValue::from(seconds))])
}

/// What the journal will record of a request, taken before the request is handed on (so that
/// nothing is cloned when the journal is off); the status is filled in by [`record`].
fn journal_draft(state: &AppState, parts: &Parts, body: Bytes) -> Option<Entry> {
    state.control.journal.is_enabled().then(|| Entry {
        method: parts.method.clone(),
        path: orb_path(parts.uri.path()).to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: recorded_headers(&parts.headers),
        body,
        status: None,
        source: Source::Model,
        timestamp: state.clock.now(),
    })
}

fn record(state: &AppState, account: &Account, draft: Option<Entry>, response: &Response) {
    let Some(mut entry) = draft else {
        return;
    };
    let dropped = response.extensions().get::<Dropped>().is_some();
    entry.status = (!dropped).then(|| response.status().as_u16());
    entry.source = source_of(response);
    state.control.journal.record(account.as_str(), entry);
}

/// A response whose body fails at once: the server gives up on the connection mid-answer,
/// which a client sees as the connection closing without a complete response.
fn dropped_connection() -> Response {
    Response::new(Body::new(Abort))
}

struct Abort;

impl http_body::Body for Abort {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an orb-mock fault rule",
        ))))
    }
}
