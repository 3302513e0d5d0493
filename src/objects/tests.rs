//! Every object is checked against Orb's own OpenAPI document, read at test time, so a schema
//! change in a new document version shows up as a failing test rather than an SDK error.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use super::*;
use crate::store::model::{
    Customer, CustomerState, Invoice, InvoiceStatus, LineItem, Subscription, SubscriptionStatus,
};

/// Orb's OpenAPI document as the checks read it (see [`exclude_null_from_unconstrained_schemas`]),
/// or `None` when the check `what` is skipped (see `crate::test_env`).
fn document_or_skip(what: &str) -> Option<&'static Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    let orb = crate::test_env::orb_openapi(what)?;
    Some(DOCUMENT.get_or_init(|| {
        let mut document = orb.clone();
        exclude_null_from_unconstrained_schemas(&mut document);
        document
    }))
}

/// Works around one quirk of the document. A component that constrains nothing (4.69.0 has one,
/// `DEPRECATED_InvoiceLevelDiscount`, behind `Invoice.discount`) accepts `null` too, so
/// `oneOf: [that, {"type": "null"}]` rejects `null` under strict JSON Schema: both arms match.
/// Orb itself sends `null` there and the SDKs type the field as an optional object, so such a
/// component is read as "any non-null value", which is what the `oneOf` with null means.
fn exclude_null_from_unconstrained_schemas(document: &mut Value) {
    const ANNOTATIONS: [&str; 5] = ["title", "description", "deprecated", "examples", "example"];
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        let Some(schema) = schema.as_object_mut() else {
            continue;
        };
        if schema.keys().all(|key| ANNOTATIONS.contains(&key.as_str())) {
            schema.insert("not".to_owned(), json!({"type": "null"}));
        }
    }
}

/// Serialises `object` and asserts it satisfies `#/components/schemas/{schema}`. The whole
/// document becomes a Draft 2020-12 schema whose root is a `$ref` to the component (its other
/// top-level keys are not keywords and are ignored), so every nested `$ref` resolves in place.
/// Formats are asserted, so `date-time` values must be real RFC 3339 timestamps.
/// Returns the serialised value for further assertions.
fn assert_satisfies(schema: &str, object: &impl Serialize) -> Value {
    let value = serde_json::to_value(object).expect("object serialises");
    let Some(document) = document_or_skip(&format!("validation against {schema}")) else {
        return value;
    };
    let errors = schema_errors(document, schema, &value);
    assert!(
        errors.is_empty(),
        "not a valid Orb {schema}:\n{}\nobject: {value:#}",
        errors.join("\n")
    );
    value
}

/// The validation errors of `value` against the named component schema.
fn schema_errors(document: &Value, schema: &str, value: &Value) -> Vec<String> {
    let mut root = document.clone();
    root.as_object_mut()
        .expect("the document is an object")
        .insert(
            "$ref".to_owned(),
            Value::String(format!("#/components/schemas/{schema}")),
        );
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|err| panic!("cannot compile schema {schema}: {err}"));
    validator
        .iter_errors(value)
        .map(|err| format!("  at {}: {err}", err.instance_path()))
        .collect()
}

fn at(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn customer_with_external_id_and_currency() -> Customer {
    Customer {
        id: "cus_1".to_owned(),
        external_customer_id: Some("ext-1".to_owned()),
        name: "Ada".to_owned(),
        email: "ada@example.com".to_owned(),
        currency: Some("EUR".to_owned()),
        timezone: "Europe/London".to_owned(),
        metadata: BTreeMap::from([("tier".to_owned(), "gold".to_owned())]),
        balance: dec("12.5"),
        created_at: at(2026, 1, 5, 10),
        state: CustomerState::Active,
        profile: Default::default(),
    }
}

fn bare_customer() -> Customer {
    Customer {
        id: "cus_2".to_owned(),
        external_customer_id: None,
        name: "Bob".to_owned(),
        email: "bob@example.com".to_owned(),
        currency: None,
        timezone: "UTC".to_owned(),
        metadata: BTreeMap::new(),
        balance: Decimal::ZERO,
        created_at: at(2026, 1, 5, 10),
        state: CustomerState::Active,
        profile: Default::default(),
    }
}

fn line(id: &str, quantity: &str, unit_amount: &str) -> LineItem {
    LineItem {
        id: id.to_owned(),
        name: format!("Line {id}"),
        item_id: format!("item_{id}"),
        quantity: dec(quantity),
        unit_amount: dec(unit_amount),
        start_date: at(2026, 1, 1, 0),
        end_date: at(2026, 2, 1, 0),
    }
}

fn draft_invoice() -> Invoice {
    Invoice {
        id: "inv_1".to_owned(),
        customer_id: "cus_1".to_owned(),
        external_customer_id: Some("ext-1".to_owned()),
        subscription_id: None,
        invoice_number: "ORB-0001".to_owned(),
        currency: "USD".to_owned(),
        status: InvoiceStatus::Draft,
        invoice_date: at(2026, 1, 5, 10),
        due_date: None,
        net_terms: 0,
        memo: None,
        metadata: BTreeMap::new(),
        will_auto_issue: false,
        line_items: vec![line("li_1", "2", "4.00"), line("li_2", "3", "1.25")],
        created_at: at(2026, 1, 5, 10),
        issued_at: None,
        paid_at: None,
        voided_at: None,
        auto_collection: true,
        discount: None,
    }
}

fn issued_invoice() -> Invoice {
    Invoice {
        id: "inv_2".to_owned(),
        external_customer_id: None,
        subscription_id: Some("sub_1".to_owned()),
        status: InvoiceStatus::Issued,
        due_date: Some(at(2026, 2, 4, 10)),
        net_terms: 30,
        memo: Some("Thanks".to_owned()),
        metadata: BTreeMap::from([("po".to_owned(), "42".to_owned())]),
        will_auto_issue: true,
        line_items: vec![line("li_3", "1", "0.0025")],
        issued_at: Some(at(2026, 1, 5, 11)),
        ..draft_invoice()
    }
}

fn void_invoice() -> Invoice {
    Invoice {
        id: "inv_3".to_owned(),
        status: InvoiceStatus::Void,
        issued_at: Some(at(2026, 1, 5, 11)),
        voided_at: Some(at(2026, 1, 6, 9)),
        ..draft_invoice()
    }
}

fn active_subscription() -> Subscription {
    Subscription {
        id: "sub_1".to_owned(),
        customer_id: "cus_1".to_owned(),
        plan_id: "plan_1".to_owned(),
        external_plan_id: Some("starter".to_owned()),
        status: SubscriptionStatus::Active,
        net_terms: 30,
        auto_collection: None,
        default_invoice_memo: None,
        metadata: BTreeMap::new(),
        // The 31st: the period end clamps to the end of February.
        start_date: at(2026, 1, 31, 0),
        end_date: None,
        created_at: at(2026, 1, 5, 10),
        name: None,
        currency: None,
        trial_end_date: None,
    }
}

fn ended_subscription() -> Subscription {
    Subscription {
        id: "sub_2".to_owned(),
        external_plan_id: None,
        status: SubscriptionStatus::Ended,
        auto_collection: Some(false),
        default_invoice_memo: Some("memo".to_owned()),
        metadata: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
        end_date: Some(at(2026, 3, 1, 0)),
        ..active_subscription()
    }
}

#[test]
fn a_customer_with_external_id_and_currency_satisfies_orbs_customer_schema() {
    let value = assert_satisfies(
        "Customer",
        &CustomerObject::from(&customer_with_external_id_and_currency()),
    );
    assert_eq!(value["external_customer_id"], "ext-1");
    assert_eq!(value["currency"], "EUR");
    assert_eq!(value["balance"], "12.50");
    assert_eq!(value["created_at"], "2026-01-05T10:00:00+00:00");
    assert_eq!(value["metadata"], json!({"tier": "gold"}));
}

#[test]
fn a_customer_without_external_id_or_currency_satisfies_orbs_customer_schema() {
    let value = assert_satisfies("Customer", &CustomerObject::from(&bare_customer()));
    assert_eq!(value["external_customer_id"], Value::Null);
    assert_eq!(value["currency"], Value::Null);
    assert_eq!(value["balance"], "0.00");
    assert_eq!(value["metadata"], json!({}));
    assert_eq!(value["additional_emails"], json!([]));
    assert_eq!(value["billing_address"], Value::Null);
    assert_eq!(value["shipping_address"], Value::Null);
    assert_eq!(value["auto_collection"], true);
    assert_eq!(value["exempt_from_automated_tax"], false);
    assert_eq!(value["email_delivery"], true);
    assert_eq!(value["hierarchy"], json!({"children": [], "parent": null}));
}

#[test]
fn a_customer_being_deleted_shows_only_its_id_and_deleted_true() {
    let value = serde_json::to_value(DeletedCustomerObject::from(&bare_customer())).unwrap();
    assert_eq!(value, json!({"id": "cus_2", "deleted": true}));
}

#[test]
fn a_draft_invoice_with_two_line_items_satisfies_orbs_invoice_schema() {
    let value = assert_satisfies("Invoice", &InvoiceObject::new(&draft_invoice()));
    assert_eq!(value["status"], "draft");
    assert_eq!(value["invoice_source"], "one_off");
    assert_eq!(value["subscription"], Value::Null);
    assert_eq!(
        value["customer"],
        json!({"id": "cus_1", "external_customer_id": "ext-1"})
    );
    // 2 × 4.00 + 3 × 1.25
    for key in ["subtotal", "total", "amount_due"] {
        assert_eq!(value[key], "11.75", "{key}");
    }
    let first = &value["line_items"][0];
    assert_eq!(first["amount"], "8.00");
    assert_eq!(first["subtotal"], "8.00");
    assert_eq!(first["quantity"], 2.0);
    assert_eq!(first["start_date"], "2026-01-01T00:00:00+00:00");
    assert_eq!(first["price"]["model_type"], "unit");
    assert_eq!(
        first["price"]["unit_config"],
        json!({"unit_amount": "4.00"})
    );
    assert_eq!(
        first["price"]["item"],
        json!({"id": "item_li_1", "name": "Line li_1"})
    );
    assert_eq!(value["line_items"][1]["amount"], "3.75");
    assert_eq!(value["issued_at"], Value::Null);
    assert_eq!(value["created_at"], "2026-01-05T10:00:00+00:00");
}

#[test]
fn an_issued_invoice_object_satisfies_orbs_invoice_schema() {
    let value = assert_satisfies("Invoice", &InvoiceObject::new(&issued_invoice()));
    assert_eq!(value["status"], "issued");
    assert_eq!(value["invoice_source"], "subscription");
    assert_eq!(value["subscription"], json!({"id": "sub_1"}));
    assert_eq!(value["customer"]["external_customer_id"], Value::Null);
    assert_eq!(value["issued_at"], "2026-01-05T11:00:00+00:00");
    assert_eq!(value["due_date"], "2026-02-04T10:00:00+00:00");
    assert_eq!(value["memo"], "Thanks");
    assert_eq!(value["will_auto_issue"], true);
    // A sub-cent unit price keeps its precision; the amount rounds to cents.
    let price = &value["line_items"][0]["price"];
    assert_eq!(price["unit_config"]["unit_amount"], "0.0025");
    assert_eq!(value["line_items"][0]["amount"], "0.00");
    assert_eq!(value["total"], "0.00");
}

#[test]
fn a_void_invoice_object_satisfies_orbs_invoice_schema() {
    let value = assert_satisfies("Invoice", &InvoiceObject::new(&void_invoice()));
    assert_eq!(value["status"], "void");
    assert_eq!(value["voided_at"], "2026-01-06T09:00:00+00:00");
    assert_eq!(value["paid_at"], Value::Null);
}

#[test]
fn an_active_subscription_object_satisfies_orbs_subscription_schema() {
    let value = assert_satisfies(
        "Subscription",
        &SubscriptionObject::new(
            &active_subscription(),
            &customer_with_external_id_and_currency(),
            at(2026, 2, 10, 0),
        ),
    );
    assert_eq!(value["status"], "active");
    assert_eq!(value["customer"]["id"], "cus_1");
    assert_eq!(value["plan"]["id"], "plan_1");
    assert_eq!(value["plan"]["external_plan_id"], "starter");
    assert_eq!(value["start_date"], "2026-01-31T00:00:00+00:00");
    assert_eq!(
        value["current_billing_period_start_date"],
        "2026-01-31T00:00:00+00:00"
    );
    assert_eq!(
        value["current_billing_period_end_date"],
        "2026-02-28T00:00:00+00:00"
    );
    assert_eq!(value["billing_cycle_day"], 31);
    assert_eq!(
        value["billing_cycle_anchor_configuration"],
        json!({"day": 31, "month": 1, "year": 2026})
    );
    assert_eq!(value["trial_info"], json!({"end_date": null}));
    assert_eq!(value["end_date"], Value::Null);
}

#[test]
fn an_ended_subscription_object_satisfies_orbs_subscription_schema() {
    let value = assert_satisfies(
        "Subscription",
        &SubscriptionObject::new(&ended_subscription(), &bare_customer(), at(2026, 2, 10, 0)),
    );
    assert_eq!(value["status"], "ended");
    assert_eq!(value["end_date"], "2026-03-01T00:00:00+00:00");
    assert_eq!(value["current_billing_period_start_date"], Value::Null);
    assert_eq!(value["current_billing_period_end_date"], Value::Null);
    assert_eq!(value["plan"]["external_plan_id"], Value::Null);
    assert_eq!(value["plan"]["currency"], "USD");
    assert_eq!(value["auto_collection"], false);
}

#[test]
fn a_mutated_subscription_object_satisfies_orbs_mutated_subscription_schema() {
    let mutated = MutatedSubscriptionObject::new(
        &active_subscription(),
        &bare_customer(),
        at(2026, 2, 10, 0),
    );
    let value = assert_satisfies("MutatedSubscription", &mutated);
    let plain = serde_json::to_value(&mutated.subscription).unwrap();
    let mut expected = plain.as_object().unwrap().clone();
    expected.insert("changed_resources".to_owned(), Value::Null);
    assert_eq!(value, Value::Object(expected));
}

#[test]
fn pages_of_customers_invoices_and_subscriptions_satisfy_orbs_list_schemas() {
    let customers = Page::new(
        vec![
            CustomerObject::from(&bare_customer()),
            CustomerObject::from(&customer_with_external_id_and_currency()),
        ],
        Some("cursor-2".to_owned()),
    );
    let value = assert_satisfies("Customers", &customers);
    assert_eq!(
        value["pagination_metadata"],
        json!({"has_more": true, "next_cursor": "cursor-2"})
    );

    let invoices = Page::new(vec![InvoiceObject::new(&draft_invoice())], None);
    let value = assert_satisfies("Invoices", &invoices);
    assert_eq!(
        value["pagination_metadata"],
        json!({"has_more": false, "next_cursor": null})
    );

    let subscriptions = Page::new(
        vec![SubscriptionObject::new(
            &ended_subscription(),
            &bare_customer(),
            at(2026, 2, 10, 0),
        )],
        None,
    );
    assert_satisfies("Subscriptions", &subscriptions);
}

/// Guards the validation trick itself: if the `$ref` at the root were ignored, every test above
/// would pass vacuously.
#[test]
fn the_schema_check_rejects_an_object_missing_a_required_key() {
    let Some(document) = document_or_skip("the negative schema check") else {
        return;
    };
    let mut value = serde_json::to_value(CustomerObject::from(&bare_customer())).unwrap();
    value.as_object_mut().unwrap().remove("hierarchy");
    assert!(!schema_errors(document, "Customer", &value).is_empty());

    let mut value = serde_json::to_value(InvoiceObject::new(&draft_invoice())).unwrap();
    value["line_items"][0]["price"]["unit_config"]["unit_amount"] = json!(4);
    assert!(!schema_errors(document, "Invoice", &value).is_empty());

    let mut value = serde_json::to_value(CustomerObject::from(&bare_customer())).unwrap();
    value["created_at"] = json!("5 January 2026");
    assert!(!schema_errors(document, "Customer", &value).is_empty());
}

#[test]
fn money_strings_always_have_exactly_two_places() {
    assert_eq!(money(dec("2") * dec("4.00")), "8.00");
    assert_eq!(money(dec("8")), "8.00");
    assert_eq!(money(dec("0")), "0.00");
    assert_eq!(money(dec("-1.5")), "-1.50");
    assert_eq!(money(dec("3.14159")), "3.14");
    assert_eq!(unit_amount(dec("4")), "4.00");
    assert_eq!(unit_amount(dec("4.5000")), "4.50");
    assert_eq!(unit_amount(dec("0.0025")), "0.0025");
}

#[test]
fn timestamps_use_a_plus_zero_offset_and_whole_seconds() {
    let with_nanos = at(2026, 1, 5, 10) + chrono::Duration::nanoseconds(123_456_789);
    assert_eq!(ts::format(&with_nanos), "2026-01-05T10:00:00+00:00");
}

/// Orb's error bodies, which the error module (not this one) writes: every leaf of the status
/// unions requires `type` (one fixed URL per error) and `status`; a 404 resource-not-found also
/// requires `title`, and a 400 request-validation error `validation_errors`.
#[test]
fn orbs_error_body_schemas_require_type_and_status() {
    let Some(document) = document_or_skip("the error body schemas") else {
        return;
    };
    let schemas = &document["components"]["schemas"];
    let expected: [(&str, &[&str]); 7] = [
        ("400Error", &["type", "status"]),
        ("401Error", &["type", "status"]),
        ("404Error", &["type", "status"]),
        ("409Error", &["type", "status"]),
        ("413Error", &["type", "status"]),
        ("429Error", &["type", "status"]),
        ("500Error", &["type", "status"]),
    ];
    for (name, common) in expected {
        let leaves = error_leaves(schemas, &schemas[name]);
        assert!(!leaves.is_empty(), "{name} has no leaf schemas");
        for (leaf, schema) in leaves {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap_or_else(|| panic!("{leaf} lists no required keys"))
                .iter()
                .map(|key| key.as_str().unwrap())
                .collect();
            for key in common {
                assert!(
                    required.contains(key),
                    "{name}/{leaf} does not require {key}"
                );
            }
            let extra: Vec<&str> = required
                .iter()
                .copied()
                .filter(|key| !common.contains(key))
                .collect();
            let expected_extra: &[&str] = match leaf.as_str() {
                "ResourceNotFoundError" => &["title"],
                "RequestValidationError" => &["validation_errors"],
                _ => &[],
            };
            assert_eq!(extra, expected_extra, "{name}/{leaf}");
        }
    }

    let not_found = json!({
        "type": "https://docs.withorb.com/reference/error-responses#404-resource-not-found",
        "status": 404,
        "title": "Not found",
        "detail": "Could not find a resource of type customer with identifier: cus_x",
    });
    assert_eq!(
        schema_errors(document, "404Error", &not_found),
        Vec::<String>::new()
    );
    let constraint = json!({
        "type": "https://docs.withorb.com/reference/error-responses#400-constraint-violation",
        "status": 400,
        "title": null,
        "detail": "Customer is being deleted",
    });
    assert_eq!(
        schema_errors(document, "400Error", &constraint),
        Vec::<String>::new()
    );
}

/// The concrete schemas behind an error schema, following `$ref` and `oneOf`.
fn error_leaves(schemas: &Value, schema: &Value) -> Vec<(String, Value)> {
    if let Some(options) = schema["oneOf"].as_array() {
        return options
            .iter()
            .flat_map(|option| error_leaves(schemas, option))
            .collect();
    }
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        let resolved = &schemas[name];
        if resolved.get("$ref").is_some() || resolved.get("oneOf").is_some() {
            return error_leaves(schemas, resolved);
        }
        return vec![(name.to_owned(), resolved.clone())];
    }
    Vec::new()
}

/// Every error body orb-mock can send, one per documented kind, satisfies the schema Orb's
/// document gives for that error type (the component whose `type` enum names its URI), or the
/// status's union when the document has no schema of its own for the type.
#[test]
fn every_error_body_orb_mock_sends_satisfies_orbs_schema_for_it() {
    use crate::http::error::{ErrorBody, ErrorKind};
    let Some(document) = document_or_skip("the error bodies") else {
        return;
    };
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    for kind in ErrorKind::ALL {
        let mut body = ErrorBody::new(kind, "A detail.");
        if kind == ErrorKind::RequestValidation {
            body.validation_errors = Some(vec!["name: field required".to_owned()]);
        }
        let uri = kind.type_uri();
        let own = schemas.iter().find(|(_, schema)| {
            schema["properties"]["type"]["enum"]
                .as_array()
                .is_some_and(|values| values.iter().any(|value| value == uri.as_str()))
        });
        let schema = match own {
            Some((name, _)) => name.clone(),
            None => format!("{}Error", kind.status().as_u16()),
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            schema_errors(document, &schema, &value),
            Vec::<String>::new(),
            "{kind:?} against {schema}: {value}"
        );
    }
}

#[test]
fn the_current_billing_period_is_the_month_that_contains_now() {
    let subscription = active_subscription();
    let period = |now| subscription.current_period(now);
    assert_eq!(
        period(at(2026, 1, 31, 0)),
        Some((at(2026, 1, 31, 0), at(2026, 2, 28, 0)))
    );
    assert_eq!(
        period(at(2026, 3, 5, 0)),
        Some((at(2026, 2, 28, 0), at(2026, 3, 31, 0))),
        "periods are counted from the start date, so they do not drift to the 28th"
    );
    assert_eq!(
        period(at(2026, 3, 31, 0)),
        Some((at(2026, 3, 31, 0), at(2026, 4, 30, 0)))
    );
    assert_eq!(ended_subscription().current_period(at(2026, 3, 5, 0)), None);
}
