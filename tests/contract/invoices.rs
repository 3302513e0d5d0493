//! README, "Emulated routes", one-off invoices: create (by customer id or external id), fetch, the draft → issued
//! → paid / void life cycle with its refusals, line-item validation, and the filtered list.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{assert_pages_visit_each_once, id_of, listed_ids, TestApp};
use crate::on_both_stores;

/// A valid one-off invoice body for `customer` (a `{"customer_id": …}` or
/// `{"external_customer_id": …}` object), two seats at 4.00.
fn invoice_body(customer: Value) -> Value {
    let mut body = crate::common::invoice_body("");
    body.as_object_mut().unwrap().remove("customer_id");
    for (key, value) in customer.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

async fn invoice_count(app: &TestApp) -> usize {
    let statuses = "status[]=draft&status[]=issued&status[]=paid&status[]=synced&status[]=void";
    listed_ids(app, &format!("/invoices?limit=100&{statuses}"))
        .await
        .len()
}

on_both_stores!(creating_a_one_off_invoice_answers_201_with_a_draft_and_computed_totals);
/// 201, a draft, with totals computed from the lines.
async fn creating_a_one_off_invoice_answers_201_with_a_draft_and_computed_totals(app: &TestApp) {
    let customer = app.customer(Some("ext-inv")).await;
    let response = app
        .post(
            "/invoices",
            invoice_body(json!({"customer_id": customer["id"]})),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let invoice = response.json();
    assert_eq!(invoice["status"], "draft");
    assert_eq!(invoice["invoice_source"], "one_off");
    assert_eq!(invoice["subtotal"], "8.00");
    assert_eq!(invoice["total"], "8.00");
    assert_eq!(invoice["amount_due"], "8.00");
    assert_eq!(invoice["currency"], "USD");
    assert_eq!(
        invoice["customer"],
        json!({"id": customer["id"], "external_customer_id": "ext-inv"})
    );
    assert_eq!(invoice["subscription"], Value::Null);
    assert_eq!(invoice["issued_at"], Value::Null);
    assert_eq!(invoice["paid_at"], Value::Null);
    assert_eq!(invoice["voided_at"], Value::Null);
    assert_eq!(invoice["will_auto_issue"], false);
    assert_eq!(invoice["invoice_date"], "2026-01-05T10:00:00+00:00");
    let lines = invoice["line_items"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], "Seats");
    assert_eq!(lines[0]["quantity"], 2.0);
    assert_eq!(lines[0]["amount"], "8.00");
    assert_eq!(lines[0]["price"]["unit_config"]["unit_amount"], "4.00");
    assert_eq!(lines[0]["start_date"], "2026-01-01T00:00:00+00:00");
    assert_eq!(lines[0]["end_date"], "2026-01-31T00:00:00+00:00");
    let fetched = app.get(&format!("/invoices/{}", id_of(&invoice))).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), invoice);
}

on_both_stores!(invoice_totals_sum_every_line_in_decimal);
/// Totals add up over several lines, in decimal (no float drift).
async fn invoice_totals_sum_every_line_in_decimal(app: &TestApp) {
    let customer = app.customer(None).await;
    let mut body = invoice_body(json!({"customer_id": customer["id"]}));
    body["line_items"] = json!([
        {"name": "A", "quantity": 3, "unit_config": {"unit_amount": "0.10"},
         "start_date": "2026-01-01", "end_date": "2026-01-31"},
        {"name": "B", "quantity": "1.5", "unit_config": {"unit_amount": "0.20"},
         "start_date": "2026-01-01", "end_date": "2026-01-31"}
    ]);
    let invoice = app.post("/invoices", body).await;
    assert_eq!(invoice.status, StatusCode::CREATED);
    let invoice = invoice.json();
    assert_eq!(invoice["line_items"][0]["amount"], "0.30");
    assert_eq!(invoice["line_items"][1]["amount"], "0.30");
    assert_eq!(invoice["subtotal"], "0.60");
    assert_eq!(invoice["amount_due"], "0.60");
}

on_both_stores!(an_invoice_can_be_created_by_external_customer_id);
async fn an_invoice_can_be_created_by_external_customer_id(app: &TestApp) {
    let customer = app.customer(Some("ext-by-external")).await;
    let response = app
        .post(
            "/invoices",
            invoice_body(json!({"external_customer_id": "ext-by-external"})),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let invoice = response.json();
    assert_eq!(invoice["customer"]["id"], customer["id"]);
    assert_eq!(
        invoice["customer"]["external_customer_id"],
        "ext-by-external"
    );
}

on_both_stores!(will_auto_issue_creates_the_invoice_issued);
/// `will_auto_issue: true` issues at once.
async fn will_auto_issue_creates_the_invoice_issued(app: &TestApp) {
    let customer = app.customer(None).await;
    let mut body = invoice_body(json!({"customer_id": customer["id"]}));
    body["will_auto_issue"] = json!(true);
    let invoice = app.post("/invoices", body).await;
    assert_eq!(invoice.status, StatusCode::CREATED);
    let invoice = invoice.json();
    assert_eq!(invoice["status"], "issued");
    assert_eq!(invoice["will_auto_issue"], true);
    let issued_at = invoice["issued_at"].as_str().expect("issued_at is set");
    assert!(chrono::DateTime::parse_from_rfc3339(issued_at).is_ok());
}

on_both_stores!(issuing_a_draft_issues_it_and_issuing_again_is_a_constraint_violation);
/// Issue moves a draft to issued, once; a second issue is refused.
async fn issuing_a_draft_issues_it_and_issuing_again_is_a_constraint_violation(app: &TestApp) {
    let customer = app.customer(None).await;
    let draft = app.invoice(customer["id"].as_str().unwrap(), false).await;
    let id = id_of(&draft);
    let issued = app.post(&format!("/invoices/{id}/issue"), json!({})).await;
    assert_eq!(issued.status, StatusCode::OK);
    let issued = issued.json();
    assert_eq!(issued["status"], "issued");
    assert!(issued["issued_at"].is_string());
    assert_eq!(issued["total"], "8.00");
    let again = app.post(&format!("/invoices/{id}/issue"), json!({})).await;
    again.assert_error(400, "400-constraint-violation");
    assert_eq!(
        app.get(&format!("/invoices/{id}")).await.json(),
        issued,
        "nothing changed"
    );
}

on_both_stores!(issuing_with_an_empty_body_is_accepted);
/// Orb's SDKs send no body on some POST actions: an empty body is accepted.
async fn issuing_with_an_empty_body_is_accepted(app: &TestApp) {
    let customer = app.customer(None).await;
    let draft = app.invoice(customer["id"].as_str().unwrap(), false).await;
    let request = app
        .request(
            axum::http::Method::POST,
            &format!("/invoices/{}/issue", id_of(&draft)),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let issued = app.send(request).await;
    assert_eq!(issued.status, StatusCode::OK);
    assert_eq!(issued.json()["status"], "issued");
}

on_both_stores!(voiding_an_issued_invoice_voids_it_and_voiding_a_draft_is_a_constraint_violation);
/// Void moves an issued invoice to void; a draft cannot be voided.
async fn voiding_an_issued_invoice_voids_it_and_voiding_a_draft_is_a_constraint_violation(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let issued = app.invoice(customer_id, true).await;
    let voided = app
        .post(&format!("/invoices/{}/void", id_of(&issued)), json!({}))
        .await;
    assert_eq!(voided.status, StatusCode::OK);
    let voided = voided.json();
    assert_eq!(voided["status"], "void");
    assert!(voided["voided_at"].is_string());
    app.post(&format!("/invoices/{}/void", id_of(&issued)), json!({}))
        .await
        .assert_error(400, "400-constraint-violation");

    let draft = app.invoice(customer_id, false).await;
    app.post(&format!("/invoices/{}/void", id_of(&draft)), json!({}))
        .await
        .assert_error(400, "400-constraint-violation");
    assert_eq!(
        app.get(&format!("/invoices/{}", id_of(&draft)))
            .await
            .json()["status"],
        "draft"
    );
}

on_both_stores!(marking_an_issued_invoice_paid_needs_a_payment_received_date);
/// Mark paid moves an issued invoice to paid; it needs `payment_received_date`, and a draft
/// cannot be paid.
async fn marking_an_issued_invoice_paid_needs_a_payment_received_date(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let issued = app.invoice(customer_id, true).await;
    let path = format!("/invoices/{}/mark_paid", id_of(&issued));
    app.post(&path, json!({}))
        .await
        .assert_validation(&["payment_received_date"]);
    app.post(&path, json!({"payment_received_date": "someday"}))
        .await
        .assert_validation(&["payment_received_date"]);
    assert_eq!(
        app.get(&format!("/invoices/{}", id_of(&issued)))
            .await
            .json()["status"],
        "issued"
    );

    let payment = json!({
        "payment_received_date": "2026-02-01", "external_id": "chk_1", "notes": "by cheque"
    });
    let paid = app.post(&path, payment).await;
    assert_eq!(paid.status, StatusCode::OK);
    let paid = paid.json();
    assert_eq!(paid["status"], "paid");
    assert!(paid["paid_at"].is_string());
    app.post(&path, json!({"payment_received_date": "2026-02-01"}))
        .await
        .assert_error(400, "400-constraint-violation");
    app.post(&format!("/invoices/{}/void", id_of(&issued)), json!({}))
        .await
        .assert_error(400, "400-constraint-violation");

    let draft = app.invoice(customer_id, false).await;
    app.post(
        &format!("/invoices/{}/mark_paid", id_of(&draft)),
        json!({"payment_received_date": "2026-02-01"}),
    )
    .await
    .assert_error(400, "400-constraint-violation");
}

on_both_stores!(an_unknown_customer_or_invoice_is_resource_not_found);
/// An unknown customer (by id or external id) and an unknown invoice are 404s.
async fn an_unknown_customer_or_invoice_is_resource_not_found(app: &TestApp) {
    let response = app
        .post(
            "/invoices",
            invoice_body(json!({"customer_id": "unknownCustomer1"})),
        )
        .await;
    let body = response.assert_error(404, "404-resource-not-found");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unknownCustomer1"),
        "{body}"
    );
    app.post(
        "/invoices",
        invoice_body(json!({"external_customer_id": "nobody"})),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    assert_eq!(invoice_count(app).await, 0);
    for path in [
        "/invoices/unknownInvoice12",
        "/invoices/unknownInvoice12/issue",
        "/invoices/unknownInvoice12/void",
        "/invoices/unknownInvoice12/mark_paid",
    ] {
        let response = if path.ends_with("12") {
            app.get(path).await
        } else {
            app.post(path, json!({"payment_received_date": "2026-02-01"}))
                .await
        };
        let body = response.assert_error(404, "404-resource-not-found");
        assert_eq!(
            body["detail"],
            "Could not find a resource of type Invoice with identifier: unknownInvoice12"
        );
    }
    // Another account's invoice is unknown too.
    let customer = app.customer(None).await;
    let invoice = app.invoice(customer["id"].as_str().unwrap(), false).await;
    app.call_as(
        "other-account",
        axum::http::Method::GET,
        &format!("/invoices/{}", id_of(&invoice)),
        None,
    )
    .await
    .assert_error(404, "404-resource-not-found");
}

on_both_stores!(creating_an_invoice_without_required_fields_is_a_validation_error);
/// Missing top-level fields are reported together.
async fn creating_an_invoice_without_required_fields_is_a_validation_error(app: &TestApp) {
    let body = app.post("/invoices", json!({})).await.assert_validation(&[
        "customer_id",
        "currency",
        "invoice_date",
        "line_items",
    ]);
    assert_eq!(
        body["validation_errors"].as_array().unwrap().len(),
        4,
        "{body}"
    );
    // Both customer ids are accepted together (they are checked to name the same customer once
    // the body is valid: fidelity.rs); the body's own problems are reported.
    let customer = app.customer(None).await;
    let mut both =
        invoice_body(json!({"customer_id": customer["id"], "external_customer_id": "x"}));
    both["currency"] = json!("US$");
    both["invoice_date"] = json!("not a date");
    app.post("/invoices", both)
        .await
        .assert_validation(&["currency", "invoice_date"]);
    assert_eq!(invoice_count(app).await, 0);
}

on_both_stores!(line_item_problems_are_reported_with_their_line_and_field);
/// Line-item problems are reported per line and per field, all at once.
async fn line_item_problems_are_reported_with_their_line_and_field(app: &TestApp) {
    let customer = app.customer(None).await;
    let mut body = invoice_body(json!({"customer_id": customer["id"]}));
    body["line_items"] = json!([{
        "name": "Seats", "start_date": "yesterday", "end_date": "2026-01-31"
    }]);
    let errors = app
        .post("/invoices", body.clone())
        .await
        .assert_validation(&[
            "line_items[0].quantity",
            "line_items[0].unit_config",
            "line_items[0].start_date",
        ]);
    assert_eq!(
        errors["validation_errors"].as_array().unwrap().len(),
        3,
        "{errors}"
    );

    body["line_items"] = json!([
        {"name": "Fine", "quantity": 1, "unit_config": {"unit_amount": "1.00"},
         "start_date": "2026-01-01", "end_date": "2026-01-31"},
        {"name": "Backwards", "quantity": 1, "unit_config": {"unit_amount": "1.00"},
         "start_date": "2026-02-01", "end_date": "2026-01-01"}
    ]);
    let errors = app
        .post("/invoices", body.clone())
        .await
        .assert_validation(&["line_items[1].end_date"]);
    assert_eq!(
        errors["validation_errors"].as_array().unwrap().len(),
        1,
        "only the bad line: {errors}"
    );

    body["line_items"] = json!([{
        "quantity": "lots", "unit_config": {},
        "start_date": "2026-01-01", "end_date": "2026-13-45"
    }]);
    app.post("/invoices", body.clone())
        .await
        .assert_validation(&[
            "line_items[0].name",
            "line_items[0].quantity",
            "line_items[0].unit_config.unit_amount",
            "line_items[0].end_date",
        ]);

    body["line_items"] = json!([{
        "name": "Seats", "quantity": -1, "unit_config": {"unit_amount": "abc"},
        "start_date": "2026-01-01", "end_date": "2026-01-31", "model_type": "tiered"
    }]);
    app.post("/invoices", body).await.assert_validation(&[
        "line_items[0].quantity",
        "line_items[0].unit_config.unit_amount",
        "line_items[0].model_type",
    ]);
    assert_eq!(invoice_count(app).await, 0, "nothing was created");
}

on_both_stores!(the_invoice_list_defaults_to_issued_paid_and_synced);
/// By default the list shows issued, paid and synced invoices (as Orb): drafts and void
/// ones only when asked for.
async fn the_invoice_list_defaults_to_issued_paid_and_synced(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let draft = id_of(&app.invoice(customer_id, false).await);
    let issued = id_of(&app.invoice(customer_id, true).await);
    let paid = id_of(&app.invoice(customer_id, true).await);
    let marked = app
        .post(
            &format!("/invoices/{paid}/mark_paid"),
            json!({"payment_received_date": "2026-02-01"}),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK);
    let void = id_of(&app.invoice(customer_id, true).await);
    assert_eq!(
        app.post(&format!("/invoices/{void}/void"), json!({}))
            .await
            .status,
        StatusCode::OK
    );

    let default: HashSet<String> = listed_ids(app, "/invoices").await.into_iter().collect();
    assert_eq!(default, HashSet::from([issued.clone(), paid.clone()]));
    assert_eq!(
        listed_ids(app, "/invoices?status[]=draft").await,
        vec![draft.clone()]
    );
    assert_eq!(
        listed_ids(app, "/invoices?status[]=void").await,
        vec![void.clone()]
    );
    assert_eq!(
        listed_ids(app, "/invoices?status=paid").await,
        vec![paid.clone()]
    );
    let some: HashSet<String> = listed_ids(app, "/invoices?status[]=draft&status[]=paid")
        .await
        .into_iter()
        .collect();
    assert_eq!(some, HashSet::from([draft, paid]));
    assert!(listed_ids(app, "/invoices?status[]=synced")
        .await
        .is_empty());
}

on_both_stores!(the_invoice_list_is_newest_first);
/// The list is newest first.
async fn the_invoice_list_is_newest_first(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id_of(&app.invoice(customer_id, true).await));
    }
    ids.reverse();
    assert_eq!(listed_ids(app, "/invoices").await, ids);
}

on_both_stores!(the_invoice_list_filters_by_customer_id_and_external_customer_id);
/// `customer_id` and `external_customer_id` narrow the list to one customer.
async fn the_invoice_list_filters_by_customer_id_and_external_customer_id(app: &TestApp) {
    let alice = app.customer(Some("alice")).await;
    let bob = app.customer(Some("bob")).await;
    let alice_invoice = id_of(&app.invoice(alice["id"].as_str().unwrap(), true).await);
    let bob_invoice = id_of(&app.invoice(bob["id"].as_str().unwrap(), true).await);
    let alice_id = alice["id"].as_str().unwrap();
    assert_eq!(
        listed_ids(app, &format!("/invoices?customer_id={alice_id}")).await,
        vec![alice_invoice.clone()]
    );
    assert_eq!(
        listed_ids(app, "/invoices?external_customer_id=bob").await,
        vec![bob_invoice]
    );
    assert_eq!(
        listed_ids(app, "/v1/invoices?external_customer_id=alice").await,
        vec![alice_invoice]
    );
    assert!(listed_ids(app, "/invoices?customer_id=unknownCustomer1")
        .await
        .is_empty());
    assert!(listed_ids(app, "/invoices?external_customer_id=nobody")
        .await
        .is_empty());
    // Another account sees none of them.
    let theirs = app
        .call_as("other-account", axum::http::Method::GET, "/invoices", None)
        .await;
    assert!(theirs.data().is_empty());
}

on_both_stores!(paging_through_invoices_visits_each_exactly_once);
/// 25 invoices in pages of 10: 10, 10, 5, each exactly once.
async fn paging_through_invoices_visits_each_exactly_once(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let mut created = HashSet::new();
    for _ in 0..25 {
        created.insert(id_of(&app.invoice(customer_id, true).await));
    }
    // Drafts are not in the default list, so they must not appear on any page.
    app.invoice(customer_id, false).await;
    assert_pages_visit_each_once(app, "/invoices?limit=10", &created, &[10, 10, 5]).await;
}

on_both_stores!(zero_quantity_lines_are_hidden_and_counted);
/// As Orb does, a zero-quantity line is left out of `line_items` and counted in
/// `hidden_line_item_count`; the totals still cover every line.
async fn zero_quantity_lines_are_hidden_and_counted(app: &TestApp) {
    let customer = app.customer(None).await;
    let line = |quantity: u32| {
        json!({
            "name": "Seats", "item_id": "seats", "model_type": "unit", "quantity": quantity,
            "unit_config": {"unit_amount": "4.00"},
            "start_date": "2026-01-01", "end_date": "2026-01-31"
        })
    };
    let response = app
        .post(
            "/invoices",
            json!({
                "customer_id": customer["id"], "currency": "USD", "invoice_date": "2026-01-05",
                "line_items": [line(0), line(3), line(0)]
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let invoice = response.json();
    assert_eq!(invoice["line_items"].as_array().unwrap().len(), 1);
    assert_eq!(invoice["line_items"][0]["quantity"], 3.0);
    assert_eq!(invoice["hidden_line_item_count"], 2);
    assert_eq!(invoice["total"], "12.00");
}
