//! The front of every request: the checks that apply before any handler, and, on Orb's routes,
//! the control surface's hooks in the order a real service would meet them.
//!
//! For a request to an Orb route from a known account:
//! 1. the body is read (413 over the limit), so that it can be journalled and fingerprinted;
//! 2. the account's rate limit (429 with `Retry-After`);
//! 3. `Prefer: code=NNN` (that error, nothing changed; a success status only from `--spec`);
//! 4. the account's fault rules (an error, a delay, or a dropped connection);
//! 5. `Dry-Run: true` on a modelled route (README, "Dry runs"): refused with an
//!    `Idempotency-Key`, else the handler runs as a dry run ([`crate::store::dry_run`]) and the
//!    answer carries `Orb-Dry-Run: true`;
//! 6. idempotency for a POST with a key (replay, 409, or run once);
//! 7. the handler, within the request timeout;
//! 8. the journal records the request and the status it got.
//!
//! `/_mock` routes and requests without a valid API key skip 2–8 (the handler answers 401).
//!
//! Every request then gets one log line: method, path, status and time taken; for an error, its
//! type and detail (INFO for a 4xx), and for a 5xx also the cause (WARN). Headers are never
//! logged, so neither is the API key.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use tokio_util::sync::CancellationToken;

use super::error::{ApiError, ErrorBody, ErrorKind, Failure};
use super::extract::Account;
use super::orb_routes::is_modelled;
use super::{idempotency, orb_path, AppState};
use crate::http::control::faults::{self, Effect, Preferred, PreferredSuccess};
use crate::http::control::journal::{recorded_headers, Entry, Source};
use crate::http::control::RateVerdict;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Who answered: `model` (orb-mock's handlers) or `spec` (the `--spec` document).
pub const SOURCE: HeaderName = HeaderName::from_static("x-orb-mock-source");
/// Orb's request header for a dry run, and the answer's header that says one ran.
pub const DRY_RUN: HeaderName = HeaderName::from_static("dry-run");
pub const ORB_DRY_RUN: HeaderName = HeaderName::from_static("orb-dry-run");
const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
struct Dropped;

pub async fn front(state: State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = hooks(state, request, next).await;
    log_request(&method, &path, &response, started.elapsed());
    response
}

/// The request's one log line (see the module's header).
fn log_request(method: &Method, path: &str, response: &Response, took: Duration) {
    let status = response.status().as_u16();
    let ms = took.as_secs_f64() * 1000.0;
    match response.extensions().get::<Failure>() {
        Some(failure) if status >= 500 => tracing::warn!(
            status,
            error = %failure.type_suffix,
            "{method} {path} {status} in {ms:.1} ms: {}: {}; cause: {}",
            failure.type_suffix,
            failure.detail,
            failure.cause.as_deref().unwrap_or("none recorded"),
        ),
        Some(failure) => tracing::info!(
            status,
            error = %failure.type_suffix,
            "{method} {path} {status} in {ms:.1} ms: {}: {}",
            failure.type_suffix,
            failure.detail,
        ),
        None if status >= 500 => tracing::warn!(status, "{method} {path} {status} in {ms:.1} ms"),
        None => tracing::info!(status, "{method} {path} {status} in {ms:.1} ms"),
    }
}

async fn hooks(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
        Ok(account) if !crate::http::control::is_control_path(request.uri().path()) => {
            Some(account)
        }
        _ => None,
    };
    let mut response = match (refused, account) {
        (Some(error), account) => {
            let (parts, body) = request.into_parts();
            linger(body);
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            if let Some(account) = account {
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

/// Most bytes of a refused body read and discarded after the answer.
const LINGER_BYTES: usize = 64 * 1024 * 1024;
/// Longest a refused body is read and discarded after the answer.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// Reads and discards the body of a request answered before its body was read (413 for a
/// declared length over the limit), up to [`LINGER_BYTES`] or [`LINGER_TIME`], as nginx's
/// lingering close does. Closing at once would reset a client that is still sending, and it
/// would see a broken pipe instead of the answer (Python's `urllib` does, with a 2 MiB body).
/// The answer carries `Connection: close`: hyper closes the connection once the body is read
/// to its end, or once this gives up and drops it.
fn linger(body: Body) {
    tokio::spawn(async move {
        let mut body = body;
        let mut read = 0usize;
        let deadline = tokio::time::sleep(LINGER_TIME);
        tokio::pin!(deadline);
        loop {
            let frame = std::future::poll_fn(|cx| {
                http_body::Body::poll_frame(std::pin::Pin::new(&mut body), cx)
            });
            tokio::select! {
                frame = frame => match frame {
                    Some(Ok(frame)) => {
                        read += frame.data_ref().map_or(0, |data| data.len());
                        if read > LINGER_BYTES {
                            break;
                        }
                    }
                    _ => break,
                },
                () = &mut deadline => break,
            }
        }
    });
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
    mut parts: Parts,
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
        Some(Ok(Preferred::Error(kind))) => {
            return ErrorBody::new(kind, "Injected by the request's Prefer header.").into_response()
        }
        Some(Ok(Preferred::Success(code))) if state.spec.is_some() => {
            // The `--spec` layer answers it (or refuses it on a modelled route); a generated
            // answer changes nothing, so faults and idempotency do not apply.
            parts.extensions.insert(PreferredSuccess(code));
            let request = Request::from_parts(parts, Body::from(body));
            return within_timeout(state, next.run(request)).await;
        }
        Some(Ok(Preferred::Success(code))) => {
            return ApiError::invalid(
                "Prefer",
                format!(
                    "code={code} is a success status: only an answer generated from --spec \
                     (Orb's document) can be forced to one, and orb-mock runs without it"
                ),
            )
            .into_response()
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
    // Only a request with the header pays for the route look-up.
    let asked = parts.headers.contains_key(DRY_RUN);
    let dry = match asked && is_modelled(&parts.method, path) {
        true => match dry_run_asked(&parts.headers) {
            Ok(dry) => dry,
            Err(error) => return error.into_response(),
        },
        // Orb ignores the header where it cannot dry-run, and so does orb-mock (`--spec`).
        false => false,
    };
    if dry {
        let request = Request::from_parts(parts, Body::from(body));
        let mut response = within_timeout(
            state,
            crate::store::dry_run(async move { next.run(request).await }),
        )
        .await;
        response
            .headers_mut()
            .insert(ORB_DRY_RUN, HeaderValue::from_static("true"));
        return response;
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

/// Whether the request asks for a dry run: `Dry-Run: true` (any case; `false` or no header:
/// no). Another value, or a dry run with a non-empty `Idempotency-Key` (the Python SDK sends
/// one on every write unless given `Idempotency-Key: ""`), is a validation error.
fn dry_run_asked(headers: &axum::http::HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(DRY_RUN) else {
        return Ok(false);
    };
    let dry = match value.to_str().map(str::trim) {
        Ok(text) if text.eq_ignore_ascii_case("true") => true,
        Ok(text) if text.eq_ignore_ascii_case("false") => false,
        _ => {
            return Err(ApiError::invalid(
                "Dry-Run",
                format!("{value:?} is not true or false"),
            ))
        }
    };
    let keyed = headers
        .get(IDEMPOTENCY_KEY)
        .is_some_and(|key| !key.as_bytes().is_empty());
    if dry && keyed {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "a dry run (Dry-Run: true) cannot carry an idempotency key: it changes nothing to \
             replay. Send it without one (the Python SDK adds one to every write: pass \
             extra_headers={\"Idempotency-Key\": \"\"})",
        ));
    }
    Ok(dry)
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
            ApiError::Internal("An unexpected error occurred.".into()).into_response()
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

/// 429 with `Retry-After` in whole seconds, at least 1 (README, "Control surface").
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

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::server::{App, Worker};
    use crate::store::{ConnectOptions, Store};

    /// A handler that panics is a bug, not a blip: the 500 does not invite a retry.
    #[tokio::test]
    async fn a_handler_that_panics_gets_a_500_that_is_not_transient() {
        let store = Store::connect(&ConnectOptions::new("sqlite::memory:"))
            .await
            .unwrap();
        let app = App::with_store(store, &Config::defaults(), Clock::default(), Worker::Off);
        let response = within_timeout(&app.state, async { panic!("a bug") }).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get("transient-error").is_none());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], 500);
        assert_eq!(body["title"], "Internal server error");
        app.stop().await;
    }
}
