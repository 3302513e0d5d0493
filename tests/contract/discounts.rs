//! README, "Emulated routes": `discount` on `POST /invoices`, each shape Orb's `Discount` allows
//! for an invoice, shown in `discounts` (and the deprecated `discount`) and reflected in
//! `total`, `amount_due` and the `amount` filters.

use serde_json::{json, Value};

use crate::common::{id_of, TestApp};
use crate::on_both_stores;

/// An invoice of 2 × 4.00 seats and 1 × 10.00 support (18.00), with `discount`.
fn body(customer: &str, discount: Value) -> Value {
    json!({
        "customer_id": customer, "currency": "USD", "invoice_date": "2026-01-05",
        "discount": discount,
        "line_items": [
            {"name": "Seats", "item_id": "seats", "model_type": "unit", "quantity": 2,
             "unit_config": {"unit_amount": "4.00"}, "start_date": "2026-01-01",
             "end_date": "2026-01-31"},
            {"name": "Support", "item_id": "support", "model_type": "unit", "quantity": 1,
             "unit_config": {"unit_amount": "10.00"}, "start_date": "2026-01-01",
             "end_date": "2026-01-31"}
        ]
    })
}

/// Equal as JSON, numbers compared by value (`10` and `10.0` alike).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

on_both_stores!(each_discount_shape_takes_its_share_off_the_total_and_the_amount_due);
async fn each_discount_shape_takes_its_share_off_the_total_and_the_amount_due(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let cases = [
        (
            json!({"discount_type": "percentage", "percentage_discount": 0.25}),
            "13.50",
        ),
        (
            json!({"discount_type": "amount", "amount_discount": "5"}),
            "13.00",
        ),
        // Never more than the lines come to.
        (
            json!({"discount_type": "amount", "amount_discount": "100.00"}),
            "0.00",
        ),
        (json!({"discount_type": "trial"}), "0.00"),
        (
            json!({"discount_type": "trial", "trial_amount_discount": "3.00"}),
            "15.00",
        ),
        (
            json!({"discount_type": "trial", "trial_percentage_discount": 0.5}),
            "9.00",
        ),
        // 10 % of the first 10.00, 50 % of the 8.00 above it.
        (
            json!({"discount_type": "tiered_percentage", "tiers": [
                {"lower_bound": 0, "upper_bound": 10, "percentage": 0.1},
                {"lower_bound": 10, "upper_bound": null, "percentage": 0.5}
            ]}),
            "13.00",
        ),
        // Narrowed to some lines.
        (
            json!({"discount_type": "percentage", "percentage_discount": 0.5,
                   "filters": [{"field": "item_id", "operator": "includes",
                                "values": ["support"]}]}),
            "13.00",
        ),
        (
            json!({"discount_type": "percentage", "percentage_discount": 0.5,
                   "filters": [{"field": "item_id", "operator": "excludes",
                                "values": ["support"]}]}),
            "14.00",
        ),
        (
            json!({"discount_type": "percentage", "percentage_discount": 0.5,
                   "applies_to_price_ids": ["price_none"]}),
            "18.00",
        ),
        (Value::Null, "18.00"),
    ];
    for (discount, total) in cases {
        let created = app
            .post("/invoices", body(&customer, discount.clone()))
            .await;
        assert_eq!(created.status, 201, "{discount}: {}", created.text());
        let id = id_of(&created.json());
        for invoice in [
            created.json(),
            app.get(&format!("/invoices/{id}")).await.json(),
        ] {
            assert_eq!(invoice["subtotal"], "18.00", "{discount}");
            assert_eq!(invoice["total"], total, "{discount}");
            assert_eq!(invoice["amount_due"], total, "{discount}");
            match discount.is_null() {
                true => {
                    assert_eq!(invoice["discounts"], json!([]));
                    assert_eq!(invoice["discount"], Value::Null);
                }
                false => {
                    let shown = &invoice["discounts"][0];
                    assert_eq!(shown["discount_type"], discount["discount_type"]);
                    assert_eq!(
                        &invoice["discount"], shown,
                        "the deprecated key is the first"
                    );
                    for (key, value) in discount.as_object().unwrap() {
                        if key != "amount_discount" && key != "trial_amount_discount" {
                            assert!(same(&shown[key], value), "{key} of {discount}: {shown}");
                        }
                    }
                }
            }
        }
        // The amount filter sees the amount due after the discount.
        let listed = app
            .get(&format!(
                "/invoices?customer_id={customer}&status[]=draft&amount={total}"
            ))
            .await
            .data();
        assert!(
            listed.iter().any(|invoice| invoice["id"] == json!(id)),
            "amount={total} lists {id}"
        );
    }
}

on_both_stores!(a_malformed_discount_is_refused_naming_the_field_and_creates_nothing);
async fn a_malformed_discount_is_refused_naming_the_field_and_creates_nothing(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let cases = [
        (
            json!({"discount_type": "percentage", "percentage_discount": 1.5}),
            "discount.percentage_discount",
        ),
        (
            json!({"discount_type": "percentage"}),
            "discount.percentage_discount",
        ),
        (
            json!({"discount_type": "amount"}),
            "discount.amount_discount",
        ),
        (
            json!({"discount_type": "amount", "amount_discount": "-1"}),
            "discount.amount_discount",
        ),
        (json!({"discount_type": "bogus"}), "discount.discount_type"),
        (
            json!({"percentage_discount": 0.1}),
            "discount.discount_type",
        ),
        (
            json!({"discount_type": "amount", "amount_discount": "1", "tiers": []}),
            "discount.tiers",
        ),
        (json!("ten percent"), "discount"),
        (
            json!({"discount_type": "tiered_percentage", "tiers": [
                {"lower_bound": 0, "upper_bound": 10, "percentage": 0.1},
                {"lower_bound": 20, "upper_bound": null, "percentage": 0.5}
            ]}),
            "discount.tiers[1].lower_bound",
        ),
        (
            json!({"discount_type": "tiered_percentage", "tiers": [
                {"lower_bound": 0, "upper_bound": null, "percentage": 0.1},
                {"lower_bound": 10, "upper_bound": 20, "percentage": 0.5}
            ]}),
            "discount.tiers[0].upper_bound",
        ),
        (
            json!({"discount_type": "tiered_percentage", "tiers": []}),
            "discount.tiers",
        ),
        (
            json!({"discount_type": "percentage", "percentage_discount": 0.1,
                   "filters": [{"field": "item_id", "operator": "maybe", "values": ["a"]}]}),
            "discount.filters[0].operator",
        ),
    ];
    for (discount, field) in cases {
        app.post("/invoices", body(&customer, discount))
            .await
            .assert_validation(&[field]);
    }
    let listed = app
        .get(&format!("/invoices?customer_id={customer}&status[]=draft"))
        .await
        .data();
    assert!(listed.is_empty(), "nothing was created: {listed:?}");
}

on_both_stores!(a_usage_discount_is_refused_as_not_emulated);
/// A usage discount counts usage units; a one-off invoice has none.
async fn a_usage_discount_is_refused_as_not_emulated(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let refused = app
        .post(
            "/invoices",
            body(
                &customer,
                json!({"discount_type": "usage", "usage_discount": 5}),
            ),
        )
        .await;
    let error = refused.assert_error(400, "404-feature-not-available");
    assert!(
        error["detail"].as_str().unwrap().contains("usage"),
        "{error}"
    );
}
