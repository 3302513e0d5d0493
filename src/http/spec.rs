//! Orb's routes that orb-mock does not model, answered from the OpenAPI document given with
//! `--spec` (see the README, "Answers from Orb's document").
//!
//! [`unmodelled`] sits between the front and the router: when the router answers that orb-mock
//! has no handler (its fallback, or a fixed path such as `/invoices/upcoming` that a modelled
//! route refuses to read as an id) and the document has the operation, the document answers
//! instead. The front (auth, rate limit, `Prefer`, faults, idempotency, timeout, journal) has
//! run as for any Orb route. Here: the request is validated against the operation (400
//! `request-validation-errors`, one entry per problem); a route under a modelled resource
//! (`/customers/{customer_id}/…`, `/invoices/{invoice_id}/…`, …) answers 404 when the store
//! does not hold that resource for the account; otherwise the success response is generated
//! from its schema, seeded by the method, the path and the body, and made believable from the
//! request (path ids, same-named body fields, the stored customer, one-page lists).

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::{ApiError, Unmodelled};
use super::extract::Account;
use super::{orb_path, AppState};
use crate::http::control::faults::PreferredSuccess;
use crate::http::control::journal::Source;
use crate::objects::CustomerObject;
use crate::spec::validate::Request as Checked;
use crate::spec::{generate, Matched, Spec};
use crate::store::CustomerRef;

/// How many seeds a generated body may take to satisfy its schema (a union whose branches
/// overlap can make one seed's choice match two branches).
const ATTEMPTS: u64 = 8;

/// The middleware: the router's answer, or the document's where orb-mock has no handler.
pub async fn unmodelled(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(spec) = state.spec.clone() else {
        return next.run(request).await;
    };
    if let Some(&PreferredSuccess(code)) = request.extensions().get() {
        return forced_success(&state, &spec, request, code).await;
    }
    let (parts, body) = request.into_parts();
    // The front has already read the body into memory (within the limit); this only collects it.
    let body = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .unwrap_or_default();
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let response = next
        .run(axum::extract::Request::from_parts(
            parts,
            body.clone().into(),
        ))
        .await;
    if response.extensions().get::<Unmodelled>().is_none() {
        return response;
    }
    let path = orb_path(uri.path());
    let (Some(matched), Ok(account)) = (
        spec.find(&method, path),
        Account::from_headers(&headers, &state.config),
    ) else {
        return response;
    };
    answer(
        &state,
        &account,
        &spec,
        matched,
        &method,
        path,
        uri.query(),
        body,
    )
    .await
}

/// `Prefer: code=2xx`: the document's answer when the route is one orb-mock does not model and
/// `code` is the status its operation documents; otherwise 400 naming `Prefer` (a modelled
/// route's answer is never forced to a success: it would claim a change that did not happen).
async fn forced_success(state: &AppState, spec: &Spec, request: Request, code: u16) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .unwrap_or_default();
    let path = orb_path(parts.uri.path());
    let refuse =
        |why: String| ApiError::invalid("Prefer", format!("code={code}: {why}")).into_response();
    if crate::http::orb_routes::is_modelled(&parts.method, path) {
        return refuse(format!(
            "orb-mock models {} {path}, whose answers are never forced to a success status",
            parts.method
        ));
    }
    let (Some(matched), Ok(account)) = (
        spec.find(&parts.method, path),
        Account::from_headers(&parts.headers, &state.config),
    ) else {
        return refuse(format!(
            "the document has no operation {} {path}",
            parts.method
        ));
    };
    match &matched.operation.success {
        Some((status, _)) if *status == code => {}
        Some((status, _)) => {
            return refuse(format!("the operation's success status is {status}"));
        }
        None => return refuse("the operation documents no success status".to_owned()),
    }
    answer(
        state,
        &account,
        spec,
        matched,
        &parts.method,
        path,
        parts.uri.query(),
        body,
    )
    .await
}

/// The answer to a request whose operation the document has.
#[allow(clippy::too_many_arguments)]
async fn answer(
    state: &AppState,
    account: &Account,
    spec: &Spec,
    matched: Matched<'_>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Response {
    let mut response =
        match respond(state, account, spec, &matched, method, path, query, &body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
    response.extensions_mut().insert(Source::Spec);
    response
}

#[allow(clippy::too_many_arguments)]
async fn respond(
    state: &AppState,
    account: &Account,
    spec: &Spec,
    matched: &Matched<'_>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let operation = matched.operation;
    let validators = spec.validators(operation).map_err(|err| {
        tracing::error!(route = %operation.template, error = %err, "cannot use the document's schemas");
        ApiError::not_emulated(method, path)
    })?;
    let problems = validators.check(
        operation,
        &Checked {
            path_params: &matched.path_params,
            query,
            body,
        },
    );
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let customer = owner(state, account, matched).await?;
    let Some((status, schema)) = &operation.success else {
        return Err(ApiError::not_emulated(method, path));
    };
    let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
    let Some(schema) = schema.as_deref().and_then(|p| spec.document().pointer(p)) else {
        return Ok(status.into_response());
    };
    if status == StatusCode::NO_CONTENT {
        return Ok(status.into_response());
    }
    let seed = seed(spec.seed(), method, path, body);
    let mut value = Value::Null;
    for attempt in 0..ATTEMPTS {
        value = generate::example(spec.document(), schema, seed.wrapping_add(attempt));
        // The request's ids first; if they do not fit, later attempts go without them.
        if attempt < ATTEMPTS / 2 {
            believable(&mut value, matched, customer.as_ref());
        }
        if validators.response_errors(&value).is_empty() {
            break;
        }
        tracing::debug!(route = %operation.template, attempt, "generated body retried");
        if attempt + 1 == ATTEMPTS {
            tracing::warn!(route = %operation.template, "no generated body satisfied the schema");
        }
    }
    if let (Value::Object(answer), Ok(Value::Object(sent))) =
        (&mut value, serde_json::from_slice::<Value>(body))
    {
        reflect(answer, sent, |answer| {
            validators
                .response_errors(&Value::Object(answer.clone()))
                .is_empty()
        });
    }
    Ok((status, axum::Json(value)).into_response())
}

/// Copies each field of the request body into the answer's field of the same name and JSON
/// type, as stripe-mock does, keeping only the copies the schema accepts.
fn reflect(
    answer: &mut Map<String, Value>,
    sent: Map<String, Value>,
    fits: impl Fn(&Map<String, Value>) -> bool,
) {
    for (name, sent) in sent {
        let Some(slot) = answer.get_mut(&name) else {
            continue;
        };
        if std::mem::discriminant(slot) != std::mem::discriminant(&sent) || *slot == sent {
            continue;
        }
        let generated = std::mem::replace(slot, sent);
        if !fits(answer) {
            answer.insert(name, generated);
        }
    }
}

/// The seed of a request's body: the same request gives the same body.
fn seed(base: u64, method: &Method, path: &str, body: &[u8]) -> u64 {
    let mut hash = Sha256::new();
    hash.update(base.to_le_bytes());
    hash.update(method.as_str().as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(body);
    let digest = hash.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// For a route under a modelled resource, that resource must exist for the account (Orb
/// answers 404 for an unknown id, another account's, or one fully deleted). Returns the
/// customer when the route names one, for embedding.
async fn owner(
    state: &AppState,
    account: &Account,
    matched: &Matched<'_>,
) -> Result<Option<CustomerObject>, ApiError> {
    let template = matched.operation.template.as_str();
    let param = |name: &str| {
        matched
            .path_params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let under = |prefix: &str| template == prefix || template.starts_with(&format!("{prefix}/"));
    let account = account.as_str();
    let by = if under("/customers/{customer_id}") {
        param("customer_id").map(|id| CustomerRef::Id(id.to_owned()))
    } else if under("/customers/external_customer_id/{external_customer_id}") {
        param("external_customer_id").map(|id| CustomerRef::External(id.to_owned()))
    } else {
        None
    };
    if let Some(by) = by {
        let customer = state.store.customer(account, &by).await?;
        let id = match &by {
            CustomerRef::Id(id) | CustomerRef::External(id) => id,
        };
        let customer = customer.ok_or_else(|| ApiError::not_found("Customer", id))?;
        return Ok(Some(CustomerObject::from(&customer)));
    }
    if under("/invoices/{invoice_id}") {
        if let Some(id) = param("invoice_id") {
            state.store.invoice(account, id).await?;
        }
    } else if under("/subscriptions/{subscription_id}") {
        if let Some(id) = param("subscription_id") {
            let (_, customer) = state.store.subscription(account, id).await?;
            return Ok(Some(CustomerObject::from(&customer)));
        }
    }
    Ok(None)
}

/// Makes a generated body read like an answer to this request: the path's ids, the stored
/// customer, and a list that is one whole page.
fn believable(value: &mut Value, matched: &Matched<'_>, customer: Option<&CustomerObject>) {
    let Value::Object(object) = value else {
        return;
    };
    for (name, id) in &matched.path_params {
        if let Some(slot @ Value::String(_)) = object.get_mut(name) {
            *slot = Value::String(id.clone());
        }
    }
    let last_is_param = matched.operation.template.ends_with('}');
    if let (true, Some((name, id))) = (last_is_param, matched.path_params.last()) {
        if !name.starts_with("external_") {
            if let Some(slot @ Value::String(_)) = object.get_mut("id") {
                *slot = Value::String(id.clone());
            }
        }
    }
    if let Some(customer) = customer.and_then(|c| serde_json::to_value(c).ok()) {
        if let Some(Value::Object(embedded)) = object.get_mut("customer") {
            for (key, slot) in embedded.iter_mut() {
                if let Some(stored) = customer.get(key) {
                    *slot = stored.clone();
                }
            }
        }
        for (key, stored) in [
            ("customer_id", "id"),
            ("external_customer_id", "external_customer_id"),
        ] {
            if let (Some(slot), Some(stored)) = (object.get_mut(key), customer.get(stored)) {
                *slot = stored.clone();
            }
        }
    }
    if object.get("data").is_some_and(Value::is_array) {
        if let Some(Value::Object(pagination)) = object.get_mut("pagination_metadata") {
            pagination.insert("has_more".to_owned(), Value::Bool(false));
            pagination.insert("next_cursor".to_owned(), Value::Null);
        }
    }
}
