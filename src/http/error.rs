//! Orb's error body, and the one mapping from everything that can go wrong to it.
//!
//! Every non-2xx answer orb-mock gives is built here, so that the type URI, status and title of
//! each kind of error live in exactly one table ([`ErrorKind::describe`]). A 5xx never carries
//! an internal detail: the cause is logged and the body says only that something failed.
//!
//! Reference: <https://docs.withorb.com/reference/error-responses>

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

const TYPE_PREFIX: &str = "https://docs.withorb.com/reference/error-responses#";

/// The documented kinds of Orb error, one per type URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is well formed, but the resource's state forbids it.
    ConstraintViolation,
    /// 400: a unique key (e.g. `external_customer_id`) is already taken.
    DuplicateResourceCreation,
    /// 400: malformed JSON, wrong types, missing fields, bad query values.
    RequestValidation,
    /// 400 (sic, as Orb's spec declares): Orb has this route, orb-mock does not emulate it.
    FeatureNotAvailable,
    /// 401: missing, malformed or unknown API key.
    Authentication,
    /// 404: unknown id, another account's id, or a fully deleted resource.
    ResourceNotFound,
    /// 404: a path (or method on a path) that Orb does not have.
    UrlNotFound,
    /// 409: an idempotency key in flight or reused with another payload.
    ResourceConflict,
    /// 413: the request body is over the limit.
    RequestTooLarge,
    /// 413: only ever injected.
    ResourceTooLarge,
    /// 413: only ever injected.
    TooManyResults,
    /// 429: the rate limit is spent.
    TooManyRequests,
    /// 500: an unexpected failure.
    InternalServerError,
}

impl ErrorKind {
    /// The single table of (status, type suffix, title) for every documented error.
    pub fn describe(self) -> (StatusCode, &'static str, &'static str) {
        use ErrorKind::*;
        match self {
            ConstraintViolation => (
                StatusCode::BAD_REQUEST,
                "400-constraint-violation",
                "Constraint violation",
            ),
            DuplicateResourceCreation => (
                StatusCode::BAD_REQUEST,
                "400-duplicate-resource-creation",
                "Duplicate resource creation",
            ),
            RequestValidation => (
                StatusCode::BAD_REQUEST,
                "400-request-validation-errors",
                "Request validation error",
            ),
            FeatureNotAvailable => (
                StatusCode::BAD_REQUEST,
                "404-feature-not-available",
                "Feature not available",
            ),
            Authentication => (
                StatusCode::UNAUTHORIZED,
                "401-authentication-error",
                "Authentication error",
            ),
            ResourceNotFound => (
                StatusCode::NOT_FOUND,
                "404-resource-not-found",
                "Resource not found",
            ),
            UrlNotFound => (StatusCode::NOT_FOUND, "404-url-not-found", "URL not found"),
            ResourceConflict => (
                StatusCode::CONFLICT,
                "409-resource-conflict",
                "Resource conflict",
            ),
            RequestTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "413-request-too-large",
                "Request too large",
            ),
            ResourceTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "413-resource-too-large",
                "Resource too large",
            ),
            TooManyResults => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "413-too-many-results",
                "Too many results",
            ),
            TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "429-too-many-requests",
                "Too many requests",
            ),
            InternalServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "500-internal-server-error",
                "Internal server error",
            ),
        }
    }

    pub fn status(self) -> StatusCode {
        self.describe().0
    }

    /// Every kind, in the table's order.
    pub const ALL: [ErrorKind; 13] = {
        use ErrorKind::*;
        [
            ConstraintViolation,
            DuplicateResourceCreation,
            RequestValidation,
            FeatureNotAvailable,
            Authentication,
            ResourceNotFound,
            UrlNotFound,
            ResourceConflict,
            RequestTooLarge,
            ResourceTooLarge,
            TooManyResults,
            TooManyRequests,
            InternalServerError,
        ]
    };

    /// The kind whose type URI ends in `suffix` (`413-too-many-results`).
    pub fn from_suffix(suffix: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.describe().1 == suffix)
    }

    /// The usual kind for a documented status, for injected errors that name only a status:
    /// the first kind in the table with that status (400 is a request-validation error, 413
    /// a request-too-large one).
    pub fn for_status(status: u16) -> Option<ErrorKind> {
        if status == 400 {
            return Some(ErrorKind::RequestValidation);
        }
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.describe().0.as_u16() == status)
    }

    /// The documented statuses, for error messages.
    pub fn documented_statuses() -> Vec<u16> {
        let mut statuses: Vec<u16> = ErrorKind::ALL
            .into_iter()
            .map(|kind| kind.describe().0.as_u16())
            .collect();
        statuses.dedup();
        statuses
    }

    /// The full type URI, e.g. `https://docs.withorb.com/reference/error-responses#404-url-not-found`.
    pub fn type_uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.describe().1)
    }
}

/// Everything a handler can fail with. Each variant becomes one Orb error body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    ConstraintViolation(String),
    #[error("{0}")]
    Duplicate(String),
    /// One entry per problem, each naming the field.
    #[error("{}", .0.join("; "))]
    Validation(Vec<String>),
    #[error("{0}")]
    FeatureNotAvailable(String),
    #[error("{0}")]
    Authentication(String),
    #[error("Could not find a resource of type {kind} with identifier: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    UrlNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Request body exceeds the limit of {limit} bytes")]
    RequestTooLarge { limit: usize },
    /// The request could not finish in time; a retry may succeed.
    #[error("{0}")]
    Timeout(String),
    /// The request's handler failed (it panicked): a bug, not a blip, so the answer does not
    /// invite a retry.
    #[error("{0}")]
    Internal(String),
    /// The store failed (the domain's refusals are mapped to their own variants instead).
    #[error("store failure")]
    Store(StoreError),
}

impl ApiError {
    /// A validation error about a single field.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        ApiError::Validation(vec![format!("{field}: {problem}")])
    }

    /// A route Orb has that orb-mock does not emulate, named in the detail.
    pub fn not_emulated(method: &axum::http::Method, orb_path: &str) -> Self {
        ApiError::FeatureNotAvailable(format!(
            "{method} {orb_path} is part of Orb's API but is not emulated by orb-mock."
        ))
    }

    /// "Could not find a resource of type X with identifier: Y", with Y cut to a sane length so
    /// that a 10,000-character id is not echoed back whole.
    pub fn not_found(kind: &'static str, id: &str) -> Self {
        const MAX: usize = 128;
        let id = match id.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &id[..cut]),
            None => id.to_owned(),
        };
        ApiError::NotFound { kind, id }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::ConstraintViolation(_) => ErrorKind::ConstraintViolation,
            ApiError::Duplicate(_) => ErrorKind::DuplicateResourceCreation,
            ApiError::Validation(_) => ErrorKind::RequestValidation,
            ApiError::FeatureNotAvailable(_) => ErrorKind::FeatureNotAvailable,
            ApiError::Authentication(_) => ErrorKind::Authentication,
            ApiError::NotFound { .. } => ErrorKind::ResourceNotFound,
            ApiError::UrlNotFound(_) => ErrorKind::UrlNotFound,
            ApiError::Conflict(_) => ErrorKind::ResourceConflict,
            ApiError::RequestTooLarge { .. } => ErrorKind::RequestTooLarge,
            ApiError::Timeout(_) | ApiError::Internal(_) | ApiError::Store(_) => {
                ErrorKind::InternalServerError
            }
        }
    }
}

/// What the request's log line says about an error answer (see [`super::front`]): its type and
/// detail, and for a 5xx the cause, which the body never shows. Every error body built here
/// carries one.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `404-resource-not-found`.
    pub type_suffix: String,
    pub detail: String,
    pub cause: Option<String>,
}

/// The wire shape of every Orb error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
}

impl ErrorBody {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        let (status, _, title) = kind.describe();
        ErrorBody {
            type_uri: kind.type_uri(),
            status: status.as_u16(),
            title,
            detail: detail.into(),
            validation_errors: match kind {
                ErrorKind::RequestValidation => Some(Vec::new()),
                _ => None,
            },
        }
    }

    /// The body with its status, as a response. Callers add headers as needed.
    pub fn into_response_with(self, headers: &[(HeaderName, HeaderValue)]) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let failure = Failure {
            type_suffix: self
                .type_uri
                .strip_prefix(TYPE_PREFIX)
                .unwrap_or(&self.type_uri)
                .to_owned(),
            detail: self.detail.clone(),
            cause: None,
        };
        let mut response = (status, axum::Json(self)).into_response();
        response.extensions_mut().insert(failure);
        for (name, value) in headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        self.into_response_with(&[])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.kind();
        match self {
            ApiError::Store(StoreError::Abandoned) => {
                // Nobody is waiting for this answer (the client left, or was already told of
                // the timeout); the work was rolled back.
                tracing::debug!("request abandoned; rolled back");
                ErrorBody::new(kind, "The request was abandoned.").into_response()
            }
            ApiError::Store(err) => {
                let body = ErrorBody::new(kind, "An unexpected error occurred. Please retry.");
                let mut response = if err.is_transient() {
                    transient(body)
                } else {
                    body.into_response()
                };
                // The request's log line shows the cause; the body never does.
                if let Some(failure) = response.extensions_mut().get_mut::<Failure>() {
                    failure.cause = Some(format!("store failure: {err}"));
                }
                response
            }
            ApiError::Timeout(detail) => transient(ErrorBody::new(kind, detail)),
            ApiError::Validation(problems) => {
                let mut body = ErrorBody::new(kind, problems.join("; "));
                body.validation_errors = Some(problems);
                body.into_response()
            }
            ApiError::FeatureNotAvailable(_) | ApiError::UrlNotFound(_) => {
                let mut response = ErrorBody::new(kind, self.to_string()).into_response();
                response.extensions_mut().insert(Unmodelled);
                response
            }
            other => ErrorBody::new(kind, other.to_string()).into_response(),
        }
    }
}

/// Marks an answer that says orb-mock has no handler for the request (feature not available,
/// URL not found), so that an OpenAPI document given with `--spec` may answer instead.
#[derive(Debug, Clone, Copy)]
pub struct Unmodelled;

/// A 5xx that a retry may cure: `Transient-Error: true` tells clients so.
fn transient(body: ErrorBody) -> Response {
    body.into_response_with(&[(
        HeaderName::from_static("transient-error"),
        HeaderValue::from_static("true"),
    )])
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            StoreError::Constraint(detail) => ApiError::ConstraintViolation(detail),
            StoreError::Duplicate(detail) => ApiError::Duplicate(detail),
            StoreError::Invalid(problems) => ApiError::Validation(problems),
            other => ApiError::Store(other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
