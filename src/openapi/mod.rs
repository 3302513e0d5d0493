//! orb-mock's own OpenAPI description of the Orb routes it emulates, served at
//! `GET /_mock/openapi.json`.
//!
//! The document is derived from the types orb-mock actually sends and receives (the response
//! objects in [`crate::objects`], the request bodies in the handlers, the error body in
//! [`crate::http::error`]), so it cannot drift from the wire format: change a field and the
//! document changes with it. The routes themselves are declared in [`paths`], one stub per
//! handler, because annotating the handlers would tie their signatures to the macro.
//!
//! Two checks keep it honest: the unit tests compare it with Orb's published document (same
//! paths, methods and success statuses; every key Orb requires is required here), and
//! `tests/schemathesis/run.sh` fuzzes a live orb-mock with it, failing on any 5xx or any answer
//! that violates it.

pub mod inputs;
mod paths;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::http::error::ErrorBody;
use crate::objects::Never;
use serde_json::Value;

/// The name of the bearer scheme, as Orb's document calls it (also spelled out in `security`).
const SECURITY_SCHEME: &str = "APIKeyAuth";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orb-mock",
        description = "The subset of Orb's billing API that orb-mock emulates, described from \
                       orb-mock's own types. Every route is also served without the /v1 prefix.",
    ),
    servers((url = "/v1", description = "orb-mock (the same routes answer at the root)")),
    paths(
        paths::create_customer,
        paths::create_webhook_endpoint,
        paths::list_webhook_endpoints,
        paths::fetch_webhook_endpoint,
        paths::update_webhook_endpoint,
        paths::delete_webhook_endpoint,
        paths::disable_webhook_endpoint,
        paths::enable_webhook_endpoint,
        paths::list_customers,
        paths::fetch_customer,
        paths::update_customer,
        paths::delete_customer,
        paths::fetch_customer_by_external_id,
        paths::update_customer_by_external_id,
        paths::create_invoice,
        paths::list_invoices,
        paths::fetch_invoice,
        paths::issue_invoice,
        paths::void_invoice,
        paths::mark_invoice_paid,
        paths::create_subscription,
        paths::list_subscriptions,
        paths::fetch_subscription,
        paths::cancel_subscription,
    ),
    components(schemas(
        ErrorBody,
        paths::InvoiceStatusParam,
        paths::SubscriptionStatusParam,
        paths::DateTypeParam
    )),
    modifiers(&BearerAuth),
    security(("APIKeyAuth" = [])),
    tags(
        (name = "Customers", description = "Create, read, edit and delete customers"),
        (name = "Invoices", description = "One-off invoices and their issue, void and mark-paid actions"),
        (name = "Subscriptions", description = "Plan subscriptions (orb-mock has no plan catalogue)"),
    ),
)]
pub struct OrbMockApi;

/// Declares the `Authorization: Bearer <API key>` scheme every route requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Any non-empty token (or one of --api-keys); each token is its own account.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as a JSON value.
pub fn document() -> Value {
    let mut document =
        serde_json::to_value(OrbMockApi::openapi()).expect("the OpenAPI document serialises");
    require_every_response_field(&mut document);
    camel_case_links(&mut document);
    document
}

/// The document, serialised once: it depends on nothing but the code.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises")
});

/// Marks every property of every success-response object `required`. utoipa leaves `Option`
/// fields optional, which suits request bodies; but the response types are plain serde structs
/// with no `skip_serializing_if`, so every field is always sent (`None` as `null`), and Orb's
/// schemas require them to be. The error body, whose `validation_errors` is skipped when absent,
/// is reached only from error responses and is left as derived.
fn require_every_response_field(document: &mut Value) {
    let mut pending: Vec<String> = Vec::new();
    for item in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
    {
        for operation in item.as_object().into_iter().flat_map(|item| item.values()) {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if status.starts_with('2') {
                    collect_refs(response, &mut pending);
                }
            }
        }
    }
    let mut done = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = document["components"]["schemas"].get_mut(&name) {
            require_all_properties(schema);
            collect_refs(schema, &mut pending);
        }
    }
}

/// utoipa 5.5 writes a Link Object's keys in snake case (`operation_id`, `request_body`); the
/// OpenAPI specification, and every tool that follows links, spells them in camel case.
fn camel_case_links(document: &mut Value) {
    for item in document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
    {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut())
        {
            let responses = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut);
            for response in responses
                .into_iter()
                .flat_map(|responses| responses.values_mut())
            {
                let links = response.get_mut("links").and_then(Value::as_object_mut);
                for link in links.into_iter().flat_map(|links| links.values_mut()) {
                    let Some(link) = link.as_object_mut() else {
                        continue;
                    };
                    for (snake, camel) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(value) = link.remove(snake) {
                            link.insert(camel.to_owned(), value);
                        }
                    }
                }
            }
        }
    }
}

/// The component names behind every `$ref` under `value`.
fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    into.push(name.to_owned());
                }
            }
            map.values().for_each(|value| collect_refs(value, into));
        }
        Value::Array(values) => values.iter().for_each(|value| collect_refs(value, into)),
        _ => {}
    }
}

/// Sets `required` to every key of `properties`, in this schema and the inline ones under it.
fn require_all_properties(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                let keys = properties.keys().cloned().map(Value::String).collect();
                map.insert("required".to_owned(), Value::Array(keys));
            }
            map.values_mut().for_each(require_all_properties);
        }
        Value::Array(values) => values.iter_mut().for_each(require_all_properties),
        _ => {}
    }
}

/// `GET /_mock/openapi.json` (no auth): the document above.
pub async fn serve() -> Response {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

/// The error answers every emulated route can give, each an Orb error body: the statuses Orb's
/// document declares on these routes. Which `type` goes with which status is in
/// [`crate::http::error::ErrorKind::describe`].
pub struct OrbErrors;

impl utoipa::IntoResponses for OrbErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        [
            ("400", "Bad Request: constraint violation, duplicate, validation error, or a route orb-mock does not emulate"),
            ("401", "Unauthorized: missing or unknown API key"),
            ("404", "Not Found: unknown resource or URL"),
            ("409", "Conflict: an idempotency key in flight or reused with another payload"),
            ("413", "Content Too Large: the request body is over the limit"),
            ("429", "Too Many Requests: the rate limit is spent"),
            ("500", "Internal Server Error: the store failed; `Transient-Error: true` when a retry may succeed"),
        ]
        .into_iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            ErrorBody::name(),
                        ))))
                        .build(),
                )
                .build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
    }
}

/// `Never` has no values, so its schema admits none (`{"enum": []}`): `Option<Never>` can only
/// be `null` and `Vec<Never>` only `[]`, which is exactly what orb-mock sends for the Orb fields
/// it never fills.
impl PartialSchema for Never {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .enum_values(Some(Vec::<serde_json::Value>::new()))
            .description(Some(
                "A field orb-mock never fills: always null, or an empty list.",
            ))
            .into()
    }
}

impl ToSchema for Never {}
