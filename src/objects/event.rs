//! Webhook event bodies, in Orb's two payload styles (README, "Testing webhook handlers").
//!
//! Every body has `id`, `created_at` (to the second), `type`, `properties` and
//! `payload_style`; the resource an event is about sits under its own key (`customer`,
//! `invoice` or `subscription`). In the `expanded` style it is the full object the API returns.
//! In the `standard` style it is the summary the SDKs' `*StandardWebhookEvent` types describe:
//! a customer in full, an invoice without its line items, subtotal, discounts, minimums or
//! maximums (and its customer minified), a subscription's own fields with its customer and plan
//! as references.

use serde_json::{json, Map, Value};

use super::{ts, CustomerObject, InvoiceObject, SubscriptionObject};
use crate::store::model::Customer;
use crate::store::{Event, PayloadStyle, Properties, Subject};

/// The invoice fields a standard payload carries, in the SDK's order.
const STANDARD_INVOICE: [&str; 34] = [
    "id",
    "amount_due",
    "auto_collection",
    "billing_address",
    "created_at",
    "credit_notes",
    "currency",
    "customer",
    "customer_balance_transactions",
    "customer_tax_id",
    "due_date",
    "eligible_to_issue_at",
    "hosted_invoice_url",
    "invoice_date",
    "invoice_number",
    "invoice_pdf",
    "invoice_source",
    "issue_failed_at",
    "issued_at",
    "memo",
    "metadata",
    "paid_at",
    "payment_attempts",
    "payment_failed_at",
    "payment_received_at",
    "payment_started_at",
    "scheduled_issue_at",
    "shipping_address",
    "status",
    "subscription",
    "sync_failed_at",
    "total",
    "voided_at",
    "will_auto_issue",
];

/// The subscription fields a standard payload carries.
const STANDARD_SUBSCRIPTION: [&str; 9] = [
    "id",
    "created_at",
    "customer",
    "end_date",
    "metadata",
    "name",
    "plan",
    "start_date",
    "status",
];

/// The body of `event` as an endpoint of `style` receives it.
pub fn event_body(event: &Event, style: PayloadStyle) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), event.id.clone().into());
    body.insert("created_at".into(), ts::format(&event.created_at).into());
    body.insert("type".into(), event.kind.clone().into());
    body.insert("properties".into(), properties(event));
    match &event.subject {
        Subject::None => {}
        Subject::Customer { customer } => {
            body.insert(
                "customer".into(),
                to_value(CustomerObject::from(&**customer)),
            );
        }
        Subject::Invoice { invoice } => {
            let expanded = to_value(InvoiceObject::new(invoice));
            let invoice = match style {
                PayloadStyle::Expanded => expanded,
                PayloadStyle::Standard => only(expanded, &STANDARD_INVOICE),
            };
            body.insert("invoice".into(), invoice);
        }
        Subject::Subscription {
            subscription,
            customer,
        } => {
            let expanded = to_value(SubscriptionObject::new(
                subscription,
                customer,
                event.created_at,
            ));
            let subscription = match style {
                PayloadStyle::Expanded => expanded,
                PayloadStyle::Standard => standard_subscription(expanded),
            };
            body.insert("subscription".into(), subscription);
        }
    }
    body.insert("payload_style".into(), style.as_str().into());
    Value::Object(body)
}

/// The event's `properties`, typed per event.
fn properties(event: &Event) -> Value {
    match &event.properties {
        Properties::None => json!({}),
        Properties::Test { message } => json!({ "message": message }),
        Properties::Edited { before } => {
            let previous = match &event.subject {
                Subject::Customer { customer } => previous_attributes(before, customer),
                _ => Map::new(),
            };
            json!({ "previous_attributes": previous })
        }
        Properties::Issued {
            automatically_marked_as_paid,
        } => json!({ "automatically_marked_as_paid": automatically_marked_as_paid }),
        Properties::MarkedPaid {
            payment_received,
            external_id,
            notes,
        } => json!({
            "payment_received_date": ts::format(payment_received),
            "external_id": external_id,
            "notes": notes,
        }),
        Properties::CancellationScheduled { cancellation_date } => {
            json!({ "cancellation_date": ts::format(cancellation_date) })
        }
    }
}

/// The old value of each field of `Customer` an edit changed.
fn previous_attributes(before: &Customer, after: &Customer) -> Map<String, Value> {
    match (
        to_value(CustomerObject::from(before)),
        to_value(CustomerObject::from(after)),
    ) {
        (Value::Object(was), Value::Object(is)) => was
            .into_iter()
            .filter(|(key, value)| is.get(key) != Some(value))
            .collect(),
        _ => Map::new(),
    }
}

fn standard_subscription(expanded: Value) -> Value {
    let mut summary = only(expanded, &STANDARD_SUBSCRIPTION);
    if let Some(object) = summary.as_object_mut() {
        if let Some(customer) = object.remove("customer") {
            object.insert(
                "customer".into(),
                only(customer, &["id", "external_customer_id"]),
            );
        }
        if let Some(plan) = object.remove("plan") {
            let plan = match plan {
                Value::Null => Value::Null,
                plan => only(plan, &["id", "external_plan_id", "name"]),
            };
            object.insert("plan".into(), plan);
        }
    }
    summary
}

/// `object` with only the `keys` it has among those given.
fn only(object: Value, keys: &[&str]) -> Value {
    let Value::Object(mut all) = object else {
        return object;
    };
    let mut kept = Map::new();
    for key in keys {
        if let Some(value) = all.remove(*key) {
            kept.insert((*key).to_owned(), value);
        }
    }
    Value::Object(kept)
}

fn to_value(object: impl serde::Serialize) -> Value {
    // The objects are plain data with string keys: serialising them cannot fail.
    serde_json::to_value(object).unwrap_or(Value::Null)
}
