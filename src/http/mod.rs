//! The HTTP face of orb-mock: one router for Orb's emulated routes (served under `/v1` and at
//! the root) and the `/_mock` control surface, with the middleware every request passes through.

pub mod control;
pub mod customers;
pub mod discounts;
pub mod error;
pub mod extract;
pub mod front;
pub mod idempotency;
pub mod invoices;
pub mod orb_routes;
pub mod spec;
pub mod subscriptions;
pub mod tax_ids;
pub mod unhonoured;
pub mod validate;
pub mod webhook_endpoints;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

use crate::clock::Clock;
use crate::store::Store;
use crate::worker::Waker;
use error::{ApiError, ErrorBody, ErrorKind};
use extract::Account;
use orb_routes::OrbRoute;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub waker: Waker,
    pub config: Arc<ApiConfig>,
    /// The control surface's in-memory state (journal, faults, rate budgets).
    pub control: Arc<control::Control>,
    /// Every request's task, so that shutdown can wait for those whose client has gone (they
    /// are no longer connections to wait for) before it closes the store.
    pub tasks: tokio_util::task::TaskTracker,
    /// The OpenAPI document that answers the routes orb-mock does not model (`--spec`).
    pub spec: Option<Arc<crate::spec::Spec>>,
}

impl AppState {
    /// The account's time: its clock ([`crate::store::AccountClock`], one cached read) on the
    /// real clock. Everything timed in an Orb request uses it.
    pub async fn now(&self, account: &Account) -> error::ApiResult<chrono::DateTime<chrono::Utc>> {
        let clock = self.store.account_clock(account.as_str()).await?;
        Ok(clock.now(self.clock.now()))
    }
}

/// The settings handlers need (a subset of [`crate::config::Config`]).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub deletion_delay: Duration,
    /// Accepted API keys; empty accepts any non-empty bearer token.
    pub api_keys: Vec<String>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let orb = Router::new()
        .merge(customers::router())
        .merge(invoices::router())
        .merge(subscriptions::router())
        .merge(webhook_endpoints::router());
    let mut app = Router::new()
        .nest("/v1", orb.clone())
        .merge(orb)
        .merge(control::router())
        .fallback(fallback)
        .method_not_allowed_fallback(fallback);
    if state.spec.is_some() {
        // Inside the front, so that spec answers meet the same hooks as modelled ones; only
        // with `--spec`, so that without it no request pays for the layer.
        app = app.layer(middleware::from_fn_with_state(
            state.clone(),
            spec::unmodelled,
        ));
    }
    app.layer(middleware::from_fn_with_state(state.clone(), front::front))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(
            // A span per request; its one log line comes from `front` (with the error's type
            // and detail), so the layer's own response and failure lines are off.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(())
                .on_failure(()),
        )
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ErrorBody::new(
                ErrorKind::InternalServerError,
                "An unexpected error occurred.",
            )
            .into_response()
        }))
        .with_state(state)
}

/// The Orb resource path of a request path: without the `/v1` prefix, which is optional.
pub fn orb_path(path: &str) -> &str {
    match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Every request no route matched: a path Orb has but orb-mock does not emulate is
/// `404-feature-not-available` (status 400, as Orb's spec declares); anything else, including a
/// known path with a method Orb lacks, is `404-url-not-found`. With `--spec`, either answer is
/// replaced by the document's when it has the operation ([`spec::unmodelled`]).
async fn fallback(_account: Account, method: Method, uri: Uri) -> ApiError {
    let path = uri.path();
    let orb_path = orb_path(path);
    if orb_path.len() > 1 && orb_path.ends_with('/') {
        return ApiError::UrlNotFound(format!(
            "No route matches {method} {path}; Orb's paths have no trailing slash."
        ));
    }
    match orb_routes::classify(&method, orb_path) {
        OrbRoute::Known => ApiError::not_emulated(&method, orb_path),
        OrbRoute::OtherMethod | OrbRoute::Unknown => {
            ApiError::UrlNotFound(format!("No route matches {method} {path}."))
        }
    }
}
