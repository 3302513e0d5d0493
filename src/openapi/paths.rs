//! One description per emulated route, written as `#[utoipa::path]` stubs next to nothing: the
//! handlers in `crate::http` stay free of the macro, and these stubs name the handlers' own
//! request and response types. The stubs are never called, hence `dead_code`.
//!
//! Paths are Orb's, relative to the `/v1` server, exactly as in Orb's document. Response links
//! chain a created resource into the routes that act on it, so a fuzzer reaches past 404s.

#![allow(dead_code)]

use serde::Serialize;
use utoipa::ToSchema;

use super::OrbErrors;
use crate::http::customers::{CreateCustomer, CustomerView, UpdateCustomer};
use crate::http::invoices::{CreateInvoice, IssueInvoice, MarkPaid};
use crate::http::subscriptions::{Cancel, CreateSubscription};
use crate::http::webhook_endpoints::{
    CreateWebhookEndpoint, UpdateWebhookEndpoint, WebhookEndpointObject,
    WebhookEndpointWithSecretObject,
};
use crate::objects::{
    CustomerObject, InvoiceObject, MutatedSubscriptionObject, Page, SubscriptionObject,
};

/// The values `status[]` takes on the invoice list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatusParam {
    Draft,
    Issued,
    Paid,
    Synced,
    Void,
}

/// The values `date_type` takes on the invoice list: which date `due_date_window` applies to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateTypeParam {
    DueDate,
    InvoiceDate,
}

/// The values `status` takes on the subscription list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatusParam {
    Active,
    Ended,
    Upcoming,
}

// ---- customers ------------------------------------------------------------------------------

/// Create a customer.
#[utoipa::path(
    post, path = "/customers", tag = "Customers", operation_id = "create_customer",
    request_body = CreateCustomer,
    responses(
        (status = 201, description = "Created", body = CustomerObject, links(
            ("FetchCustomer" = (operation_id = "fetch_customer", parameters(("customer_id" = "$response.body#/id")))),
            ("UpdateCustomer" = (operation_id = "update_customer", parameters(("customer_id" = "$response.body#/id")))),
            ("DeleteCustomer" = (operation_id = "delete_customer", parameters(("customer_id" = "$response.body#/id")))),
            ("InvoiceCustomer" = (operation_id = "create_invoice", request_body = json!({"customer_id": "$response.body#/id"}))),
            ("SubscribeCustomer" = (operation_id = "create_subscription", request_body = json!({"customer_id": "$response.body#/id"}))),
        )),
        OrbErrors,
    ),
)]
fn create_customer() {}

/// List customers, newest first; one being deleted shows as `{"id", "deleted": true}`.
#[utoipa::path(
    get, path = "/customers", tag = "Customers", operation_id = "list_customers",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("created_at[gte]" = Option<DateTime<Utc>>, Query),
        ("created_at[gt]" = Option<DateTime<Utc>>, Query),
        ("created_at[lt]" = Option<DateTime<Utc>>, Query),
        ("created_at[lte]" = Option<DateTime<Utc>>, Query),
    ),
    responses((status = 200, description = "OK", body = Page<CustomerView>), OrbErrors),
)]
fn list_customers() {}

/// Fetch a customer; `{"id", "deleted": true}` while its deletion is in progress.
#[utoipa::path(
    get, path = "/customers/{customer_id}", tag = "Customers", operation_id = "fetch_customer",
    params(("customer_id" = String, Path)),
    responses((status = 200, description = "OK", body = CustomerView), OrbErrors),
)]
fn fetch_customer() {}

/// Edit a customer: `metadata` merges, a `null` value removes a key, `metadata: null` clears.
#[utoipa::path(
    put, path = "/customers/{customer_id}", tag = "Customers", operation_id = "update_customer",
    params(("customer_id" = String, Path)),
    request_body = UpdateCustomer,
    responses((status = 200, description = "OK", body = CustomerObject), OrbErrors),
)]
fn update_customer() {}

/// Delete a customer: 204 once the deletion is queued; the cascade runs later.
#[utoipa::path(
    delete, path = "/customers/{customer_id}", tag = "Customers", operation_id = "delete_customer",
    params(("customer_id" = String, Path)),
    responses((status = 204, description = "No Content"), OrbErrors),
)]
fn delete_customer() {}

/// Fetch a customer by its external id.
#[utoipa::path(
    get, path = "/customers/external_customer_id/{external_customer_id}", tag = "Customers",
    operation_id = "fetch_customer_by_external_id",
    params(("external_customer_id" = String, Path)),
    responses((status = 200, description = "OK", body = CustomerView), OrbErrors),
)]
fn fetch_customer_by_external_id() {}

/// Edit a customer by its external id.
#[utoipa::path(
    put, path = "/customers/external_customer_id/{external_customer_id}", tag = "Customers",
    operation_id = "update_customer_by_external_id",
    params(("external_customer_id" = String, Path)),
    request_body = UpdateCustomer,
    responses((status = 200, description = "OK", body = CustomerObject), OrbErrors),
)]
fn update_customer_by_external_id() {}

// ---- invoices -------------------------------------------------------------------------------

/// Create a one-off invoice: `draft`, or `issued` at once with `will_auto_issue`.
#[utoipa::path(
    post, path = "/invoices", tag = "Invoices", operation_id = "create_invoice",
    request_body = CreateInvoice,
    responses(
        (status = 201, description = "Created", body = InvoiceObject, links(
            ("FetchInvoice" = (operation_id = "fetch_invoice", parameters(("invoice_id" = "$response.body#/id")))),
            ("IssueInvoice" = (operation_id = "issue_invoice", parameters(("invoice_id" = "$response.body#/id")))),
            ("VoidInvoice" = (operation_id = "void_invoice", parameters(("invoice_id" = "$response.body#/id")))),
            ("PayInvoice" = (operation_id = "mark_invoice_paid", parameters(("invoice_id" = "$response.body#/id")))),
            ("DeleteCustomer" = (operation_id = "delete_customer", parameters(("customer_id" = "$response.body#/customer/id")))),
        )),
        OrbErrors,
    ),
)]
fn create_invoice() {}

/// List invoices; `status[]` defaults to issued, paid and synced, as Orb.
#[utoipa::path(
    get, path = "/invoices", tag = "Invoices", operation_id = "list_invoices",
    params(
        ("customer_id" = Option<String>, Query),
        ("external_customer_id" = Option<String>, Query),
        ("status[]" = Option<Vec<InvoiceStatusParam>>, Query, explode),
        ("subscription_id" = Option<String>, Query),
        ("is_recurring" = Option<bool>, Query, description = "true: invoices of a subscription; false: one-off invoices"),
        ("invoice_date[gte]" = Option<DateTime<Utc>>, Query),
        ("invoice_date[gt]" = Option<DateTime<Utc>>, Query),
        ("invoice_date[lt]" = Option<DateTime<Utc>>, Query),
        ("invoice_date[lte]" = Option<DateTime<Utc>>, Query),
        ("due_date" = Option<NaiveDate>, Query, description = "Due on this day (UTC)"),
        ("due_date[gt]" = Option<NaiveDate>, Query, description = "Due after this day (UTC)"),
        ("due_date[lt]" = Option<NaiveDate>, Query, description = "Due before this day (UTC)"),
        ("amount" = Option<String>, Query, pattern = r"^[0-9]{1,9}(\.[0-9]{1,2})?$", description = "Amount due equal to this"),
        ("amount[gt]" = Option<String>, Query, pattern = r"^[0-9]{1,9}(\.[0-9]{1,2})?$", description = "Amount due above this"),
        ("amount[lt]" = Option<String>, Query, pattern = r"^[0-9]{1,9}(\.[0-9]{1,2})?$", description = "Amount due below this"),
        ("date_type" = Option<DateTypeParam>, Query, description = "The date `due_date_window` applies to (default `invoice_date`)"),
        ("due_date_window" = Option<String>, Query, pattern = r"^[0-9]{1,4}[dm]$", description = "Dated within this many days (`7d`) or months (`2m`) before now"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "OK", body = Page<InvoiceObject>), OrbErrors),
)]
fn list_invoices() {}

/// Fetch an invoice.
#[utoipa::path(
    get, path = "/invoices/{invoice_id}", tag = "Invoices", operation_id = "fetch_invoice",
    params(("invoice_id" = String, Path)),
    responses((status = 200, description = "OK", body = InvoiceObject), OrbErrors),
)]
fn fetch_invoice() {}

/// Issue a draft invoice.
#[utoipa::path(
    post, path = "/invoices/{invoice_id}/issue", tag = "Invoices", operation_id = "issue_invoice",
    params(("invoice_id" = String, Path)),
    request_body(content = Option<IssueInvoice>, description = "Optional; may be empty"),
    responses(
        (status = 200, description = "OK", body = InvoiceObject, links(
            ("VoidInvoice" = (operation_id = "void_invoice", parameters(("invoice_id" = "$response.body#/id")))),
            ("PayInvoice" = (operation_id = "mark_invoice_paid", parameters(("invoice_id" = "$response.body#/id")))),
            ("DeleteCustomer" = (operation_id = "delete_customer", parameters(("customer_id" = "$response.body#/customer/id")))),
        )),
        OrbErrors,
    ),
)]
fn issue_invoice() {}

/// Void an issued invoice.
#[utoipa::path(
    post, path = "/invoices/{invoice_id}/void", tag = "Invoices", operation_id = "void_invoice",
    params(("invoice_id" = String, Path)),
    responses((status = 200, description = "OK", body = InvoiceObject), OrbErrors),
)]
fn void_invoice() {}

/// Mark an issued or synced invoice paid.
#[utoipa::path(
    post, path = "/invoices/{invoice_id}/mark_paid", tag = "Invoices",
    operation_id = "mark_invoice_paid",
    params(("invoice_id" = String, Path)),
    request_body = MarkPaid,
    responses((status = 200, description = "OK", body = InvoiceObject), OrbErrors),
)]
fn mark_invoice_paid() {}

// ---- subscriptions --------------------------------------------------------------------------

/// Create a subscription (to a minimal plan carrying the given id).
#[utoipa::path(
    post, path = "/subscriptions", tag = "Subscriptions", operation_id = "create_subscription",
    request_body = CreateSubscription,
    responses(
        (status = 201, description = "Created", body = MutatedSubscriptionObject, links(
            ("FetchSubscription" = (operation_id = "fetch_subscription", parameters(("subscription_id" = "$response.body#/id")))),
            ("CancelSubscription" = (operation_id = "cancel_subscription", parameters(("subscription_id" = "$response.body#/id")))),
            ("DeleteCustomer" = (operation_id = "delete_customer", parameters(("customer_id" = "$response.body#/customer/id")))),
        )),
        OrbErrors,
    ),
)]
fn create_subscription() {}

/// List subscriptions.
#[utoipa::path(
    get, path = "/subscriptions", tag = "Subscriptions", operation_id = "list_subscriptions",
    params(
        ("customer_id[]" = Option<Vec<String>>, Query, explode),
        ("external_customer_id[]" = Option<Vec<String>>, Query, explode),
        ("status" = Option<SubscriptionStatusParam>, Query),
        ("status[]" = Option<Vec<SubscriptionStatusParam>>, Query, explode),
        ("plan_id" = Option<String>, Query),
        ("external_plan_id" = Option<String>, Query),
        ("created_at[gte]" = Option<DateTime<Utc>>, Query),
        ("created_at[gt]" = Option<DateTime<Utc>>, Query),
        ("created_at[lt]" = Option<DateTime<Utc>>, Query),
        ("created_at[lte]" = Option<DateTime<Utc>>, Query),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "OK", body = Page<SubscriptionObject>), OrbErrors),
)]
fn list_subscriptions() {}

/// Fetch a subscription, embedding its customer.
#[utoipa::path(
    get, path = "/subscriptions/{subscription_id}", tag = "Subscriptions",
    operation_id = "fetch_subscription",
    params(("subscription_id" = String, Path)),
    responses((status = 200, description = "OK", body = SubscriptionObject), OrbErrors),
)]
fn fetch_subscription() {}

/// Cancel a subscription.
#[utoipa::path(
    post, path = "/subscriptions/{subscription_id}/cancel", tag = "Subscriptions",
    operation_id = "cancel_subscription",
    params(("subscription_id" = String, Path)),
    request_body = Cancel,
    responses((status = 200, description = "OK", body = MutatedSubscriptionObject), OrbErrors),
)]
fn cancel_subscription() {}

// ---- webhook endpoints (newer than Orb's published document; the SDKs' types) ---------------

/// Create a webhook endpoint; the only answer that carries its secret.
#[utoipa::path(
    post, path = "/webhook_endpoints", tag = "Webhook endpoints", operation_id = "create_webhook_endpoint",
    request_body = CreateWebhookEndpoint,
    responses(
        (status = 201, description = "Created", body = WebhookEndpointWithSecretObject, links(
            ("FetchWebhookEndpoint" = (operation_id = "fetch_webhook_endpoint", parameters(("webhook_endpoint_id" = "$response.body#/id")))),
            ("UpdateWebhookEndpoint" = (operation_id = "update_webhook_endpoint", parameters(("webhook_endpoint_id" = "$response.body#/id")))),
            ("DisableWebhookEndpoint" = (operation_id = "disable_webhook_endpoint", parameters(("webhook_endpoint_id" = "$response.body#/id")))),
            ("EnableWebhookEndpoint" = (operation_id = "enable_webhook_endpoint", parameters(("webhook_endpoint_id" = "$response.body#/id")))),
            ("DeleteWebhookEndpoint" = (operation_id = "delete_webhook_endpoint", parameters(("webhook_endpoint_id" = "$response.body#/id")))),
        )),
        OrbErrors,
    ),
)]
fn create_webhook_endpoint() {}

/// List webhook endpoints, newest first.
#[utoipa::path(
    get, path = "/webhook_endpoints", tag = "Webhook endpoints", operation_id = "list_webhook_endpoints",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "OK", body = Page<WebhookEndpointObject>), OrbErrors),
)]
fn list_webhook_endpoints() {}

/// Fetch a webhook endpoint (without its secret).
#[utoipa::path(
    get, path = "/webhook_endpoints/{webhook_endpoint_id}", tag = "Webhook endpoints", operation_id = "fetch_webhook_endpoint",
    params(("webhook_endpoint_id" = String, Path)),
    responses((status = 200, description = "OK", body = WebhookEndpointObject), OrbErrors),
)]
fn fetch_webhook_endpoint() {}

/// Edit a webhook endpoint: `url`, `enabled_event_types` (null: every type), `payload_style`.
#[utoipa::path(
    put, path = "/webhook_endpoints/{webhook_endpoint_id}", tag = "Webhook endpoints", operation_id = "update_webhook_endpoint",
    params(("webhook_endpoint_id" = String, Path)),
    request_body = UpdateWebhookEndpoint,
    responses((status = 200, description = "OK", body = WebhookEndpointObject), OrbErrors),
)]
fn update_webhook_endpoint() {}

/// Delete a webhook endpoint; nothing more is sent to it.
#[utoipa::path(
    delete, path = "/webhook_endpoints/{webhook_endpoint_id}", tag = "Webhook endpoints", operation_id = "delete_webhook_endpoint",
    params(("webhook_endpoint_id" = String, Path)),
    responses((status = 204, description = "No Content"), OrbErrors),
)]
fn delete_webhook_endpoint() {}

/// Disable a webhook endpoint: it is sent nothing until enabled again.
#[utoipa::path(
    post, path = "/webhook_endpoints/{webhook_endpoint_id}/disable", tag = "Webhook endpoints", operation_id = "disable_webhook_endpoint",
    params(("webhook_endpoint_id" = String, Path)),
    responses((status = 200, description = "OK", body = WebhookEndpointObject), OrbErrors),
)]
fn disable_webhook_endpoint() {}

/// Enable a webhook endpoint.
#[utoipa::path(
    post, path = "/webhook_endpoints/{webhook_endpoint_id}/enable", tag = "Webhook endpoints", operation_id = "enable_webhook_endpoint",
    params(("webhook_endpoint_id" = String, Path)),
    responses((status = 200, description = "OK", body = WebhookEndpointObject), OrbErrors),
)]
fn enable_webhook_endpoint() {}
