//! README, "What is emulated, and what is not": each create and edit route, sent every input it
//! honours with a valid value that is not the default, answers with each one where Orb's schema
//! puts it, and reads each one back. The walk below holds this table to orb-mock's own
//! document, so an input honoured later without a test here fails it (and
//! `openapi::tests::every_documented_input_is_honoured_or_refused` holds that document and the
//! refusal table to Orb's).

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::{id_of, TestApp};
use crate::on_both_stores;

/// The resources a body refers to, made fresh for each entry.
struct World {
    /// A customer with no currency, no external id and nothing else set.
    plain: String,
    /// A customer with external id `ext-all` and currency `EUR`.
    euro: String,
    subscription: String,
    draft_invoice: String,
    issued_invoice: String,
    endpoint: String,
    /// A customer with external id `ext-parent`, to be a parent.
    parent: String,
    /// A customer with nothing set, to be a child.
    child: String,
}

/// Where a value is read back: the answer itself, or a later `GET` of this path (`{id}`: the
/// answer's id).
enum Source {
    Answer,
    Get(&'static str),
}

/// One route sent every honoured input.
struct Entry {
    method: Method,
    /// The route as in Orb's document.
    route: &'static str,
    path: fn(&World) -> String,
    body: fn(&World) -> Value,
    /// `(source, JSON pointer, expected)`: timestamps compare as instants.
    reads: fn(&World) -> Vec<(Source, &'static str, Value)>,
}

/// Each `(pointer, value)` read from the answer and from a `GET` of `path`.
fn answer_and_get(
    path: &'static str,
    pairs: impl IntoIterator<Item = (&'static str, Value)>,
) -> Vec<(Source, &'static str, Value)> {
    pairs
        .into_iter()
        .flat_map(|(pointer, value)| {
            [
                (Source::Answer, pointer, value.clone()),
                (Source::Get(path), pointer, value),
            ]
        })
        .collect()
}

fn address(city: &str) -> Value {
    json!({"line1": "1 Main St", "line2": "Suite 2", "city": city, "state": "IL",
           "postal_code": "62701", "country": "US"})
}

/// The reads every customer entry shares: each profile property where `Customer` keeps it.
fn customer_reads(body: &Value) -> Vec<(Source, &'static str, Value)> {
    // Each read back at the pointer of its own key.
    let pointers = [
        "/name",
        "/email",
        "/external_customer_id",
        "/currency",
        "/metadata",
        "/billing_address",
        "/shipping_address",
        "/additional_emails",
        "/auto_collection",
        "/email_delivery",
        "/payment_provider",
        "/payment_provider_id",
        "/tax_id",
        "/auto_issuance",
        "/reporting_configuration",
        "/accounting_sync_configuration",
        "/payment_configuration",
    ];
    // The tax configuration shows where Orb's `Customer` shows it.
    let tax = &body["tax_configuration"];
    let tax_reads = [
        ("/exempt_from_automated_tax", tax["tax_exempt"].clone()),
        (
            "/automatic_tax_enabled",
            tax["automatic_tax_enabled"].clone(),
        ),
    ];
    let pairs = pointers
        .into_iter()
        .map(|pointer| (pointer, body[&pointer[1..]].clone()))
        .chain(tax_reads);
    answer_and_get("/customers/{id}", pairs)
}

fn customer_edit(external: &str, currency: &str) -> Value {
    json!({
        "name": "Renamed", "email": "renamed@example.com", "external_customer_id": external,
        "currency": currency, "metadata": {"tier": "gold"},
        "billing_address": address("Chicago"), "shipping_address": address("Peoria"),
        "additional_emails": ["billing@example.com", "ops@example.com"],
        "auto_collection": false, "email_delivery": false,
        "payment_provider": "quickbooks", "payment_provider_id": "qb_42",
        "tax_id": {"country": "DE", "type": "eu_vat", "value": "DE123456789"},
        "auto_issuance": true, "reporting_configuration": {"exempt": false},
        "accounting_sync_configuration": {
            "excluded": false,
            "accounting_providers": [{"provider_type": "quickbooks", "external_provider_id": "qb"}]
        },
        "tax_configuration": {"tax_provider": "taxjar", "tax_exempt": false,
                              "automatic_tax_enabled": true},
        "payment_configuration": {"payment_providers": [{
            "provider_type": "stripe", "excluded_payment_method_types": ["link"],
            "default_shared_payment_token": "spt_edit"
        }]}
    })
}

fn customer_creation() -> Value {
    json!({
        "name": "All Parameters", "email": "all@example.com",
        "external_customer_id": "ext-created", "currency": "JPY", "timezone": "Asia/Tokyo",
        "metadata": {"k": "v"}, "billing_address": address("Springfield"),
        "shipping_address": address("Shelbyville"), "additional_emails": ["finance@example.com"],
        "auto_collection": false, "email_delivery": false, "payment_provider": "stripe_charge",
        "payment_provider_id": "cus_stripe_1",
        "tax_id": {"country": "AU", "type": "au_abn", "value": "12345678912"},
        "auto_issuance": false, "reporting_configuration": {"exempt": true},
        "accounting_sync_configuration": {
            "excluded": true,
            "accounting_providers": [{"provider_type": "netsuite", "external_provider_id": "ns_1"}]
        },
        "tax_configuration": {"tax_provider": "avalara", "tax_exempt": true,
                              "automatic_tax_enabled": true, "tax_exemption_code": "E"},
        "payment_configuration": {"payment_providers": [{
            "provider_type": "stripe", "excluded_payment_method_types": ["card", "us_bank_account"],
            "default_shared_payment_token": "spt_1"
        }]}
    })
}

const SUBSCRIPTION_START: &str = "2026-01-10T00:00:00Z";

fn entries() -> Vec<Entry> {
    vec![
        Entry {
            method: Method::POST,
            route: "/customers",
            path: |_| "/customers".to_owned(),
            body: |w| {
                let mut body = customer_creation();
                body["hierarchy"] = json!({"parent_customer_id": w.parent});
                body
            },
            reads: |w| {
                let mut reads = customer_reads(&customer_creation());
                reads.extend(answer_and_get(
                    "/customers/{id}",
                    [
                        ("/timezone", json!("Asia/Tokyo")),
                        ("/hierarchy/parent/id", json!(w.parent)),
                        (
                            "/hierarchy/parent/external_customer_id",
                            json!("ext-parent"),
                        ),
                        ("/hierarchy/children", json!([])),
                    ],
                ));
                reads
            },
        },
        Entry {
            method: Method::PUT,
            route: "/customers/{customer_id}",
            path: |w| format!("/customers/{}", w.plain),
            body: |w| {
                let mut body = customer_edit("ext-edited", "GBP");
                body["hierarchy"] = json!({"child_customer_ids": [w.child]});
                body
            },
            reads: |w| {
                let mut reads = customer_reads(&customer_edit("ext-edited", "GBP"));
                reads.extend(answer_and_get(
                    "/customers/{id}",
                    [
                        ("/hierarchy/parent", Value::Null),
                        ("/hierarchy/children/0/id", json!(w.child)),
                    ],
                ));
                reads
            },
        },
        Entry {
            method: Method::PUT,
            route: "/customers/external_customer_id/{external_customer_id}",
            path: |_| "/customers/external_customer_id/ext-all".to_owned(),
            // Set once: the values the customer already has are accepted as no-ops.
            body: |w| {
                let mut body = customer_edit("ext-all", "EUR");
                body["hierarchy"] = json!({"parent_customer_id": w.parent});
                body
            },
            reads: |w| {
                let mut reads = customer_reads(&customer_edit("ext-all", "EUR"));
                reads.extend(answer_and_get(
                    "/customers/{id}",
                    [
                        ("/hierarchy/parent/id", json!(w.parent)),
                        (
                            "/hierarchy/parent/external_customer_id",
                            json!("ext-parent"),
                        ),
                    ],
                ));
                reads
            },
        },
        Entry {
            method: Method::POST,
            route: "/subscriptions",
            path: |_| "/subscriptions".to_owned(),
            body: |w| {
                json!({
                    "customer_id": w.euro, "external_customer_id": "ext-all",
                    "plan_id": "plan_all", "external_plan_id": "ext_plan_all",
                    "start_date": SUBSCRIPTION_START, "end_date": "2099-01-01T00:00:00Z",
                    "net_terms": 15, "auto_collection": true, "default_invoice_memo": "Thanks",
                    "metadata": {"k": "v"}, "name": "Gold", "currency": "EUR",
                    "trial_duration_days": 14
                })
            },
            reads: |w| {
                answer_and_get(
                    "/subscriptions/{id}",
                    [
                        ("/customer/id", json!(w.euro)),
                        ("/customer/external_customer_id", json!("ext-all")),
                        ("/plan/id", json!("plan_all")),
                        ("/plan/external_plan_id", json!("ext_plan_all")),
                        ("/start_date", json!(SUBSCRIPTION_START)),
                        ("/end_date", json!("2099-01-01T00:00:00Z")),
                        ("/status", json!("active")),
                        ("/net_terms", json!(15)),
                        ("/auto_collection", json!(true)),
                        ("/default_invoice_memo", json!("Thanks")),
                        ("/metadata", json!({"k": "v"})),
                        ("/name", json!("Gold")),
                        ("/plan/currency", json!("EUR")),
                        ("/plan/invoicing_currency", json!("EUR")),
                        ("/trial_info/end_date", json!("2026-01-24T00:00:00Z")),
                    ],
                )
            },
        },
        Entry {
            method: Method::POST,
            route: "/invoices",
            path: |_| "/invoices".to_owned(),
            body: |w| {
                json!({
                    "customer_id": w.euro, "external_customer_id": "ext-all", "currency": "EUR",
                    "invoice_date": "2026-02-01T09:00:00Z", "due_date": "2026-03-01T00:00:00Z",
                    "memo": "Hello", "metadata": {"k": "v"}, "will_auto_issue": true,
                    "auto_collection": false,
                    "discount": {"discount_type": "percentage", "percentage_discount": 0.2,
                                 "reason": "launch"},
                    "line_items": [{
                        "name": "Seats", "item_id": "seats", "model_type": "unit",
                        "quantity": 3, "unit_config": {"unit_amount": "5.00"},
                        "start_date": "2026-01-01", "end_date": "2026-01-31"
                    }]
                })
            },
            reads: |w| {
                answer_and_get(
                    "/invoices/{id}",
                    [
                        ("/customer/id", json!(w.euro)),
                        ("/customer/external_customer_id", json!("ext-all")),
                        ("/currency", json!("EUR")),
                        ("/invoice_date", json!("2026-02-01T09:00:00Z")),
                        ("/due_date", json!("2026-03-01T00:00:00Z")),
                        ("/memo", json!("Hello")),
                        ("/metadata", json!({"k": "v"})),
                        ("/status", json!("issued")),
                        ("/line_items/0/name", json!("Seats")),
                        ("/line_items/0/quantity", json!(3.0)),
                        ("/subtotal", json!("15.00")),
                        ("/total", json!("12.00")),
                        ("/amount_due", json!("12.00")),
                        ("/discounts/0/discount_type", json!("percentage")),
                        ("/discounts/0/percentage_discount", json!(0.2)),
                        ("/discounts/0/reason", json!("launch")),
                        ("/discount/percentage_discount", json!(0.2)),
                        ("/auto_collection/enabled", json!(false)),
                    ],
                )
            },
        },
        Entry {
            method: Method::POST,
            route: "/invoices",
            path: |_| "/invoices".to_owned(),
            // `net_terms` sets the due date when none is given.
            body: |w| {
                json!({
                    "customer_id": w.plain, "currency": "USD",
                    "invoice_date": "2026-02-01T00:00:00Z", "net_terms": 30,
                    "line_items": [{
                        "name": "Seats", "item_id": "seats", "model_type": "unit",
                        "quantity": 1, "unit_config": {"unit_amount": "1.00"},
                        "start_date": "2026-01-01", "end_date": "2026-01-31"
                    }]
                })
            },
            reads: |_| {
                vec![
                    (Source::Answer, "/due_date", json!("2026-03-03T00:00:00Z")),
                    (Source::Answer, "/status", json!("draft")),
                    (Source::Answer, "/auto_collection/enabled", json!(true)),
                ]
            },
        },
        Entry {
            method: Method::POST,
            route: "/invoices/{invoice_id}/issue",
            path: |w| format!("/invoices/{}/issue", w.draft_invoice),
            body: |_| json!({"synchronous": true}),
            reads: |_| {
                vec![
                    (Source::Answer, "/status", json!("issued")),
                    (Source::Get("/invoices/{id}"), "/status", json!("issued")),
                ]
            },
        },
        Entry {
            method: Method::POST,
            route: "/invoices/{invoice_id}/mark_paid",
            path: |w| format!("/invoices/{}/mark_paid", w.issued_invoice),
            body: |_| {
                json!({"payment_received_date": "2026-02-03", "external_id": "wire-7",
                       "notes": "by wire"})
            },
            reads: |_| {
                let event = "/_mock/webhooks/events?type=invoice.manually_marked_as_paid";
                vec![
                    (Source::Answer, "/status", json!("paid")),
                    (Source::Answer, "/paid_at", json!("2026-02-03T00:00:00Z")),
                    (
                        Source::Get(event),
                        "/data/0/properties/payment_received_date",
                        json!("2026-02-03T00:00:00Z"),
                    ),
                    (
                        Source::Get(event),
                        "/data/0/properties/external_id",
                        json!("wire-7"),
                    ),
                    (
                        Source::Get(event),
                        "/data/0/properties/notes",
                        json!("by wire"),
                    ),
                ]
            },
        },
        Entry {
            method: Method::POST,
            route: "/subscriptions/{subscription_id}/cancel",
            path: |w| format!("/subscriptions/{}/cancel", w.subscription),
            body: |_| {
                json!({"cancel_option": "requested_date",
                       "cancellation_date": "2099-06-01T00:00:00Z"})
            },
            reads: |_| {
                vec![
                    (Source::Answer, "/end_date", json!("2099-06-01T00:00:00Z")),
                    (Source::Answer, "/status", json!("active")),
                    (
                        Source::Get("/subscriptions/{id}"),
                        "/end_date",
                        json!("2099-06-01T00:00:00Z"),
                    ),
                ]
            },
        },
        Entry {
            method: Method::POST,
            route: "/webhook_endpoints",
            path: |_| "/webhook_endpoints".to_owned(),
            body: |_| {
                json!({"url": "https://example.com/hooks", "payload_style": "standard",
                       "enabled_event_types": ["customer.created", "invoice.issued"]})
            },
            reads: |_| {
                answer_and_get(
                    "/webhook_endpoints/{id}",
                    [
                        ("/url", json!("https://example.com/hooks")),
                        ("/payload_style", json!("standard")),
                        (
                            "/enabled_event_types",
                            json!(["customer.created", "invoice.issued"]),
                        ),
                    ],
                )
            },
        },
        Entry {
            method: Method::PUT,
            route: "/webhook_endpoints/{webhook_endpoint_id}",
            path: |w| format!("/webhook_endpoints/{}", w.endpoint),
            body: |_| {
                json!({"url": "http://127.0.0.1:9/moved", "payload_style": "expanded",
                       "enabled_event_types": ["subscription.ended"]})
            },
            reads: |_| {
                answer_and_get(
                    "/webhook_endpoints/{id}",
                    [
                        ("/url", json!("http://127.0.0.1:9/moved")),
                        ("/payload_style", json!("expanded")),
                        ("/enabled_event_types", json!(["subscription.ended"])),
                    ],
                )
            },
        },
    ]
}

/// Equal as JSON, or as instants when both are timestamps.
fn same(actual: &Value, expected: &Value) -> bool {
    let instant = |value: &Value| {
        value
            .as_str()
            .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
    };
    match (instant(actual), instant(expected)) {
        (Some(a), Some(e)) => a == e,
        _ => actual == expected,
    }
}

async fn world(app: &TestApp) -> World {
    let plain = id_of(&app.customer(None).await);
    let euro = id_of(
        &app.post(
            "/customers",
            json!({"name": "Euro", "email": "euro@example.com",
                   "external_customer_id": "ext-all", "currency": "EUR"}),
        )
        .await
        .created(),
    );
    let subscription = id_of(&app.subscription(&plain).await);
    let draft_invoice = id_of(&app.invoice(&plain, false).await);
    let issued_invoice = id_of(&app.invoice(&plain, true).await);
    let endpoint = id_of(
        &app.post(
            "/webhook_endpoints",
            json!({"url": "https://example.com/first"}),
        )
        .await
        .created(),
    );
    let parent = id_of(&app.customer(Some("ext-parent")).await);
    let child = id_of(&app.customer(None).await);
    World {
        plain,
        euro,
        subscription,
        draft_invoice,
        issued_invoice,
        endpoint,
        parent,
        child,
    }
}

on_both_stores!(every_create_and_edit_route_honours_all_its_inputs_at_once);
/// Each entry, on a fresh world: a 2xx, and every input read back from the answer and from a
/// later read.
async fn every_create_and_edit_route_honours_all_its_inputs_at_once(app: &TestApp) {
    for entry in entries() {
        app.post("/_mock/reset", json!({})).await;
        let w = world(app).await;
        let path = (entry.path)(&w);
        let response = app
            .call(entry.method.clone(), &path, Some((entry.body)(&w)))
            .await;
        assert!(
            response.status.is_success(),
            "{} {path}: {} {}",
            entry.method,
            response.status,
            response.text()
        );
        let answer = response.json();
        for (source, pointer, expected) in (entry.reads)(&w) {
            let (whence, read) = match source {
                Source::Answer => ("the answer".to_owned(), answer.clone()),
                Source::Get(template) => {
                    let at = template.replace("{id}", answer["id"].as_str().unwrap_or(""));
                    let read = app.get(&at).await;
                    assert_eq!(read.status, 200, "GET {at}: {}", read.text());
                    (format!("GET {at}"), read.json())
                }
            };
            let actual = read.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert!(
                same(&actual, &expected),
                "{} {}: {pointer} in {whence} is {actual}, expected {expected}",
                entry.method,
                entry.route
            );
        }
    }
}

/// Every body property orb-mock's document gives a create or edit route is sent by an entry
/// above: an input honoured without a test here fails this.
#[test]
fn every_honoured_body_property_is_sent_by_an_all_parameters_entry() {
    let document = orb_mock::openapi::document();
    let w = World {
        plain: "cus_p".into(),
        euro: "cus_e".into(),
        subscription: "sub".into(),
        draft_invoice: "inv_d".into(),
        issued_invoice: "inv_i".into(),
        endpoint: "we".into(),
        parent: "cus_parent".into(),
        child: "cus_child".into(),
    };
    let mut sent: BTreeMap<(String, &str), BTreeSet<String>> = BTreeMap::new();
    for entry in entries() {
        let body = (entry.body)(&w);
        sent.entry((entry.method.as_str().to_lowercase(), entry.route))
            .or_default()
            .extend(body.as_object().unwrap().keys().cloned());
    }
    let mut missing = Vec::new();
    for (path, method, operation) in orb_mock::openapi::inputs::operations(&document) {
        let (_, body) = orb_mock::openapi::inputs::inputs(&document, &path, operation);
        if body.is_empty() {
            continue;
        }
        let ours = sent
            .get(&(method.to_owned(), path.as_str()))
            .cloned()
            .unwrap_or_default();
        for name in body.difference(&ours) {
            missing.push(format!("{} {path}: `{name}`", method.to_uppercase()));
        }
    }
    assert!(missing.is_empty(), "honoured but never sent: {missing:#?}");
}

/// Every query parameter orb-mock's document gives a route appears, set to a value, in a
/// request of the contract tests (`?name=`, `&name=` or a query string starting `name=` in
/// their source): a filter honoured without a test fails this.
#[test]
fn every_honoured_query_parameter_is_sent_by_a_contract_test() {
    let document = orb_mock::openapi::document();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract");
    let sources: String = std::fs::read_dir(dir)
        .expect("tests/contract")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "rs"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
        .collect();
    let mut missing = Vec::new();
    for (path, method, operation) in orb_mock::openapi::inputs::operations(&document) {
        let (query, _) = orb_mock::openapi::inputs::inputs(&document, &path, operation);
        for name in query {
            let sent = ["?", "&", "\""].iter().any(|before| {
                sources.contains(&format!("{before}{name}="))
                    || sources.contains(&format!("{before}{name}[]="))
            });
            if !sent {
                missing.push(format!("{} {path}: `{name}`", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "honoured but never sent by a test: {missing:#?}"
    );
}
