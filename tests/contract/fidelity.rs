//! README, "What is emulated, and what is not": every input Orb documents on a modelled route
//! is honoured or refused, never silently dropped. The table of refused inputs is held to Orb's
//! document by `openapi::tests::every_documented_input_is_honoured_or_refused`; these tests
//! hold the routes to the table, and the honoured filters to their meaning.

use serde_json::{json, Value};

use crate::common::{id_of, invoice_body, listed_ids, TestApp};
use crate::on_both_stores;
use orb_mock::http::unhonoured::UNHONOURED;

/// A value of the right general shape for any refused property: refusal does not look at it.
fn something() -> Value {
    json!("set")
}

/// A request path for a route template, with the test's own resources in its path ids.
fn path_of(route: &str, customer: &str, subscription: &str) -> String {
    route
        .replace("{customer_id}", customer)
        .replace("{external_customer_id}", "ext-fidelity")
        .replace("{subscription_id}", subscription)
}

on_both_stores!(every_refused_input_is_answered_feature_not_available_naming_it);
/// Each refused body property and query parameter of each modelled route gets 400
/// `feature-not-available` naming it, and changes nothing.
async fn every_refused_input_is_answered_feature_not_available_naming_it(app: &TestApp) {
    let customer = id_of(&app.customer(Some("ext-fidelity")).await);
    let subscription = id_of(&app.subscription(&customer).await);
    let before = app.get("/_mock/webhooks/events?limit=100").await.json();
    for entry in UNHONOURED {
        let path = path_of(entry.route, &customer, &subscription);
        for name in entry.body {
            let body = json!({ *name: something() });
            let response = app.call(entry.method.clone(), &path, Some(body)).await;
            let error = response.assert_error(400, "404-feature-not-available");
            let detail = error["detail"].as_str().unwrap();
            assert!(
                detail.contains(&format!("`{name}`")) && detail.contains(entry.route),
                "{} {}: {detail}",
                entry.method,
                entry.route
            );
        }
        for name in entry.query {
            let response = app
                .call(entry.method.clone(), &format!("{path}?{name}=x"), None)
                .await;
            let error = response.assert_error(400, "404-feature-not-available");
            assert!(error["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")));
        }
    }
    let after = app.get("/_mock/webhooks/events?limit=100").await.json();
    assert_eq!(before, after, "no refused request changed anything");
}

on_both_stores!(a_refused_property_sent_as_null_is_accepted);
/// `null`, or leaving a key out, is always accepted.
async fn a_refused_property_sent_as_null_is_accepted(app: &TestApp) {
    let created = app
        .post(
            "/customers",
            json!({"name": "N", "email": "n@example.com", "billing_address": null, "tax_id": null}),
        )
        .await
        .created();
    assert_eq!(created["billing_address"], Value::Null);
}

on_both_stores!(invoice_filters_filter);
/// `GET /invoices`: `subscription_id`, `is_recurring`, `invoice_date[gte|gt|lt|lte]` and
/// `due_date`, `due_date[gt|lt]` each narrow the list.
async fn invoice_filters_filter(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let mut body = invoice_body(&customer);
    body["invoice_date"] = json!("2026-01-05T10:00:00+00:00");
    body["due_date"] = json!("2026-02-04");
    let january = id_of(&app.post("/invoices", body.clone()).await.created());
    body["invoice_date"] = json!("2026-03-05T10:00:00+00:00");
    body["due_date"] = json!("2026-04-04");
    let march = id_of(&app.post("/invoices", body).await.created());
    let listed = |query: &str| {
        let query = query.to_owned();
        async move { listed_ids(app, &format!("/invoices?status[]=draft&{query}")).await }
    };
    assert_eq!(listed("").await, vec![march.clone(), january.clone()]);
    assert_eq!(
        listed("invoice_date[gt]=2100-01-01").await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed("invoice_date[gte]=2026-03-05T10:00:00Z").await,
        vec![march.clone()]
    );
    assert_eq!(
        listed("invoice_date[lt]=2026-03-05T10:00:00Z").await,
        vec![january.clone()]
    );
    assert_eq!(
        listed("invoice_date[lte]=2026-01-05T10:00:00Z").await,
        vec![january.clone()]
    );
    assert_eq!(listed("due_date=2026-02-04").await, vec![january.clone()]);
    assert_eq!(listed("due_date[gt]=2026-02-04").await, vec![march.clone()]);
    assert_eq!(
        listed("due_date[lt]=2026-04-04").await,
        vec![january.clone()]
    );
    assert_eq!(
        listed("due_date[gt]=2026-02-03&due_date[lt]=2026-02-05").await,
        vec![january.clone()]
    );
    assert_eq!(
        listed("is_recurring=false").await,
        vec![march.clone(), january.clone()]
    );
    assert_eq!(listed("is_recurring=true").await, Vec::<String>::new());
    assert_eq!(listed("subscription_id=nope").await, Vec::<String>::new());
    app.get("/invoices?is_recurring=maybe")
        .await
        .assert_validation(&["is_recurring"]);
    app.get("/invoices?due_date=soon")
        .await
        .assert_validation(&["due_date"]);
}

on_both_stores!(subscription_filters_filter);
/// `GET /subscriptions`: `plan_id`, `external_plan_id`, `created_at[…]` and `status[]` (any of
/// several) each narrow the list.
async fn subscription_filters_filter(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let basic = id_of(&app.subscription(&customer).await);
    let external = id_of(
        &app.post(
            "/subscriptions",
            json!({"customer_id": customer, "external_plan_id": "ext-plan"}),
        )
        .await
        .created(),
    );
    app.post(
        &format!("/subscriptions/{basic}/cancel"),
        json!({"cancel_option": "immediate"}),
    )
    .await;
    let listed = |query: &str| {
        let query = query.to_owned();
        async move { listed_ids(app, &format!("/subscriptions?{query}")).await }
    };
    assert_eq!(listed("plan_id=nope").await, Vec::<String>::new());
    assert_eq!(listed("plan_id=plan_basic").await, vec![basic.clone()]);
    assert_eq!(
        listed("external_plan_id=ext-plan").await,
        vec![external.clone()]
    );
    assert_eq!(listed("status[]=ended").await, vec![basic.clone()]);
    assert_eq!(
        listed("status[]=ended&status[]=active").await,
        vec![external.clone(), basic.clone()]
    );
    assert_eq!(
        listed("created_at[gt]=2100-01-01").await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed("created_at[lte]=2100-01-01").await,
        vec![external.clone(), basic.clone()]
    );
}

on_both_stores!(customer_id_and_external_customer_id_together_must_name_the_same_customer);
/// `POST /invoices` and `POST /subscriptions` accept both ids when they name the same customer,
/// as they accept `plan_id` with `external_plan_id`, and refuse a mismatch naming both fields.
async fn customer_id_and_external_customer_id_together_must_name_the_same_customer(app: &TestApp) {
    let ada = id_of(&app.customer(Some("ext-ada")).await);
    let other = id_of(&app.customer(Some("ext-other")).await);
    let bare = id_of(&app.customer(None).await);
    let mut invoice = invoice_body(&ada);
    invoice["external_customer_id"] = json!("ext-ada");
    let created = app.post("/invoices", invoice.clone()).await.created();
    assert_eq!(created["customer"]["id"], ada.as_str());
    let subscription = json!({
        "customer_id": ada, "external_customer_id": "ext-ada", "plan_id": "plan_basic",
        "external_plan_id": "ext-plan"
    });
    let created = app.post("/subscriptions", subscription).await.created();
    assert_eq!(created["customer"]["id"], ada.as_str());
    for customer in [&other, &bare] {
        invoice["customer_id"] = json!(customer);
        app.post("/invoices", invoice.clone())
            .await
            .assert_validation(&["customer_id", "external_customer_id"]);
        app.post(
            "/subscriptions",
            json!({"customer_id": customer, "external_customer_id": "ext-ada", "plan_id": "p"}),
        )
        .await
        .assert_validation(&["customer_id", "external_customer_id"]);
    }
}

on_both_stores!(currencies_are_iso_4217_and_time_zones_are_iana);
/// Orb's document requires an ISO 4217 `currency` and an IANA `timezone`.
async fn currencies_are_iso_4217_and_time_zones_are_iana(app: &TestApp) {
    app.post(
        "/customers",
        json!({"name": "C", "email": "c@example.com", "currency": "currency", "timezone": "timezone"}),
    )
    .await
    .assert_validation(&["currency", "timezone"]);
    let created = app
        .post(
            "/customers",
            json!({"name": "C", "email": "c@example.com", "currency": "eur",
                   "timezone": "America/New_York"}),
        )
        .await
        .created();
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["timezone"], "America/New_York");
    let customer = id_of(&created);
    let mut invoice = invoice_body(&customer);
    invoice["currency"] = json!("XYZ");
    app.post("/invoices", invoice)
        .await
        .assert_validation(&["currency"]);
}

on_both_stores!(a_customers_addresses_emails_and_payment_provider_are_stored_and_returned);
/// Billing and shipping addresses, additional emails, auto collection, email delivery and the
/// payment provider are validated, stored and returned where Orb's `Customer` puts them; an
/// edit changes them (`null` clears), and its event names their old values.
async fn a_customers_addresses_emails_and_payment_provider_are_stored_and_returned(app: &TestApp) {
    let address = json!({
        "line1": "1 Main St", "line2": null, "city": "Springfield", "state": "IL",
        "postal_code": "62701", "country": "US"
    });
    let created = app
        .post(
            "/customers",
            json!({
                "name": "A", "email": "a@example.com", "billing_address": address,
                "additional_emails": ["b@example.com"], "auto_collection": false,
                "email_delivery": false, "payment_provider": "stripe_charge",
                "payment_provider_id": "cus_123"
            }),
        )
        .await
        .created();
    assert_eq!(created["billing_address"], address);
    assert_eq!(created["shipping_address"], Value::Null);
    assert_eq!(created["additional_emails"], json!(["b@example.com"]));
    assert_eq!(created["auto_collection"], false);
    assert_eq!(created["email_delivery"], false);
    assert_eq!(created["payment_provider"], "stripe_charge");
    assert_eq!(created["payment_provider_id"], "cus_123");
    let id = id_of(&created);
    let fetched = app.get(&format!("/customers/{id}")).await.json();
    assert_eq!(fetched, created, "read back as created");
    let edited = app
        .put(
            &format!("/customers/{id}"),
            json!({"billing_address": null, "shipping_address": {"city": "Paris"},
                   "auto_collection": true}),
        )
        .await
        .json();
    assert_eq!(edited["billing_address"], Value::Null);
    assert_eq!(edited["shipping_address"]["city"], "Paris");
    assert_eq!(edited["shipping_address"]["line1"], Value::Null);
    assert_eq!(edited["auto_collection"], true);
    assert_eq!(
        edited["payment_provider"], "stripe_charge",
        "left as it was"
    );
    let events = app
        .get("/_mock/webhooks/events?type=customer.edited")
        .await
        .json();
    let previous = &events["data"][0]["properties"]["previous_attributes"];
    assert_eq!(previous["billing_address"], address);
    assert_eq!(previous["shipping_address"], Value::Null);
    assert_eq!(previous["auto_collection"], false);
    app.post(
        "/customers",
        json!({
            "name": "B", "email": "b@example.com", "payment_provider": "paypal",
            "additional_emails": ["not an email"], "billing_address": {"street": "x"}
        }),
    )
    .await
    .assert_orb_error(400);
    let refused = app
        .post(
            "/customers",
            json!({"name": "B", "email": "b@example.com", "payment_provider": "paypal",
                   "additional_emails": ["not an email"]}),
        )
        .await;
    refused.assert_validation(&["payment_provider", "additional_emails[0]"]);
}

on_both_stores!(a_subscription_takes_its_own_name_end_date_trial_and_currency);
/// `name`, `end_date`, `trial_duration_days` and `currency` on `POST /subscriptions`: an end
/// date already past makes the subscription ended at once (created, started and ended events);
/// an end date not after the start, a currency the customer does not bill in, and values out of
/// the document's ranges are refused naming the field.
async fn a_subscription_takes_its_own_name_end_date_trial_and_currency(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let past = app
        .post(
            "/subscriptions",
            json!({"customer_id": customer, "plan_id": "p", "name": "Legacy",
                   "start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}),
        )
        .await
        .created();
    assert_eq!(past["status"], "ended");
    assert_eq!(past["name"], "Legacy");
    assert_eq!(past["current_billing_period_start_date"], Value::Null);
    assert_eq!(
        past["trial_info"]["end_date"],
        Value::Null,
        "no trial asked"
    );
    let events = app.get("/_mock/webhooks/events").await.json();
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["subscription"]["id"] == past["id"])
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "subscription.ended",
            "subscription.started",
            "subscription.created"
        ],
        "newest first"
    );
    let plain = app
        .post(
            "/subscriptions",
            json!({"customer_id": customer, "plan_id": "p", "trial_duration_days": 0}),
        )
        .await
        .created();
    assert_eq!(plain["name"], "orb-mock plan", "the plan's name");
    assert_eq!(
        plain["trial_info"]["end_date"],
        Value::Null,
        "0 skips the trial"
    );
    assert_eq!(plain["plan"]["currency"], "USD", "the customer has none");
    let subscriptions_before = listed_ids(app, "/subscriptions").await;

    app.post(
        "/subscriptions",
        json!({"customer_id": customer, "plan_id": "p",
               "start_date": "2026-05-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}),
    )
    .await
    .assert_validation(&["end_date"]);
    app.post(
        "/subscriptions",
        json!({"customer_id": customer, "plan_id": "p", "name": "", "currency": "EURO",
               "trial_duration_days": -1, "end_date": "soon"}),
    )
    .await
    .assert_validation(&["name", "currency", "trial_duration_days", "end_date"]);
    app.post(
        "/subscriptions",
        json!({"customer_id": customer, "plan_id": "p", "trial_duration_days": 1_000_000}),
    )
    .await
    .assert_validation(&["trial_duration_days"]);
    let euro = id_of(
        &app.post(
            "/customers",
            json!({"name": "E", "email": "e@example.com", "currency": "EUR"}),
        )
        .await
        .created(),
    );
    app.post(
        "/subscriptions",
        json!({"customer_id": euro, "plan_id": "p", "currency": "GBP"}),
    )
    .await
    .assert_validation(&["currency"]);
    assert_eq!(
        listed_ids(app, "/subscriptions").await,
        subscriptions_before,
        "a refused subscription is not made"
    );
}

/// README, "Emulated routes": its table of inputs names every refused input on the row of its
/// route, in the refused column.
#[test]
fn the_readme_table_lists_every_refused_input() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let rows: Vec<String> = readme
        .split("<!-- inputs-table -->")
        .nth(1)
        .expect("the README marks its inputs table")
        .trim_start()
        .lines()
        .take_while(|line| line.starts_with('|'))
        // A `\|` inside a cell is not a column.
        .map(|line| line.replace("\\|", "/"))
        .collect();
    let mut missing = Vec::new();
    for entry in UNHONOURED {
        let route = format!("`{} {}`", entry.method, entry.route);
        let Some(row) = rows.iter().find(|row| {
            row.split('|')
                .nth(1)
                .is_some_and(|cell| cell.contains(&route))
        }) else {
            missing.push(format!("no row for {route}"));
            continue;
        };
        let refused = row.split('|').nth(3).unwrap_or_default();
        let inherits = refused.contains("the create route's");
        for name in entry.body.iter().chain(entry.query) {
            let listed = refused.contains(&format!("`{name}`"))
                || (inherits && CUSTOMER_CREATE_REFUSED_IN_README.contains(name));
            if !listed {
                missing.push(format!("{route}: `{name}`"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// What the `POST /customers` row refuses, which the edit rows refer to as "the create route's".
const CUSTOMER_CREATE_REFUSED_IN_README: &[&str] = &["hierarchy"];

on_both_stores!(a_tax_id_takes_a_country_and_type_from_orbs_list_and_an_edit_changes_or_clears_it);
/// `tax_id` is stored and returned as Orb's `CustomerTaxId`; each part is required and the
/// country and type come from Orb's list; an edit replaces it or (`null`) clears it, and the
/// `customer.edited` event names the old one.
async fn a_tax_id_takes_a_country_and_type_from_orbs_list_and_an_edit_changes_or_clears_it(
    app: &TestApp,
) {
    let tax_id = json!({"country": "GB", "type": "gb_vat", "value": "GB123456789"});
    let created = app
        .post(
            "/customers",
            json!({"name": "T", "email": "t@example.com", "tax_id": tax_id}),
        )
        .await
        .created();
    assert_eq!(created["tax_id"], tax_id);
    let id = id_of(&created);
    let path = format!("/customers/{id}");
    assert_eq!(app.get(&path).await.json()["tax_id"], tax_id);
    let other = json!({"country": "FR", "type": "eu_vat", "value": "FR12345678901"});
    assert_eq!(
        app.put(&path, json!({"tax_id": other})).await.json()["tax_id"],
        other
    );
    assert_eq!(
        app.put(&path, json!({"tax_id": null})).await.json()["tax_id"],
        Value::Null
    );
    let events = app
        .get("/_mock/webhooks/events?type=customer.edited")
        .await
        .json();
    assert_eq!(
        events["data"][0]["properties"]["previous_attributes"]["tax_id"],
        other
    );
    assert_eq!(
        events["data"][1]["properties"]["previous_attributes"]["tax_id"],
        tax_id
    );
    app.post(
        "/customers",
        json!({"name": "T", "email": "t@example.com",
               "tax_id": {"country": "XX", "type": "gb_vat_number", "value": ""}}),
    )
    .await
    .assert_validation(&["tax_id.country", "tax_id.type", "tax_id.value"]);
    app.put(&path, json!({"tax_id": {"country": "GB"}}))
        .await
        .assert_validation(&["tax_id.type", "tax_id.value"]);
    app.put(
        &path,
        json!({"tax_id": {"country": "GB", "type": "gb_vat", "value": "1", "extra": 1}}),
    )
    .await
    .assert_orb_error(400);
    assert_eq!(
        app.get(&path).await.json()["tax_id"],
        Value::Null,
        "unchanged"
    );
}

on_both_stores!(invoices_filter_by_amount_and_by_a_window_of_either_date);
/// `GET /invoices`: `amount`, `amount[gt]` and `amount[lt]` compare the amount due;
/// `due_date_window` (`Nd`, `Nm`) keeps invoices dated within that much of now, in the past,
/// by `invoice_date` unless `date_type=due_date`. Filters combine, and a page under a filter
/// walks only its rows.
async fn invoices_filter_by_amount_and_by_a_window_of_either_date(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let now = app.clock.now();
    let day = |days: i64| (now + chrono::Duration::days(days)).to_rfc3339();
    // (quantity at 4.00, invoice date, due date), in creation order.
    let shapes = [(1, -3, 40), (3, -20, -2), (5, -40, -30), (2, 5, 6)];
    let mut ids = Vec::new();
    for (quantity, dated, due) in shapes {
        let mut body = invoice_body(&customer);
        body["line_items"][0]["quantity"] = json!(quantity);
        body["invoice_date"] = json!(day(dated));
        body["due_date"] = json!(day(due));
        ids.push(id_of(&app.post("/invoices", body).await.created()));
    }
    let [four, twelve, twenty, eight] = [0, 1, 2, 3].map(|at| ids[at].clone());
    let listed = |query: &str| {
        let query = query.to_owned();
        async move { listed_ids(app, &format!("/invoices?status[]=draft&{query}")).await }
    };
    assert_eq!(listed("amount=12").await, vec![twelve.clone()]);
    assert_eq!(listed("amount=12.00").await, vec![twelve.clone()]);
    assert_eq!(
        listed("amount[gt]=8").await,
        vec![twenty.clone(), twelve.clone()]
    );
    assert_eq!(listed("amount[lt]=8").await, vec![four.clone()]);
    assert_eq!(
        listed("amount[gt]=4&amount[lt]=20").await,
        vec![eight.clone(), twelve.clone()]
    );
    assert_eq!(listed("due_date_window=7d").await, vec![four.clone()]);
    assert_eq!(
        listed("due_date_window=1m&date_type=invoice_date").await,
        vec![twelve.clone(), four.clone()]
    );
    assert_eq!(
        listed("due_date_window=7d&date_type=due_date").await,
        vec![twelve.clone()]
    );
    assert_eq!(
        listed("due_date_window=2m&date_type=due_date").await,
        vec![twenty.clone(), twelve.clone()]
    );
    assert_eq!(
        listed("due_date_window=2m&date_type=due_date&amount[gt]=12").await,
        vec![twenty.clone()]
    );
    assert_eq!(
        listed("date_type=due_date").await.len(),
        4,
        "no window: no effect"
    );
    // One row per page under a filter: the three matching rows, newest first, then no more.
    let first = app
        .get("/invoices?status[]=draft&amount[gt]=4&limit=1")
        .await
        .json();
    assert_eq!(listed_in(&first), vec![eight.clone()]);
    assert_eq!(first["pagination_metadata"]["has_more"], true);
    let cursor = first["pagination_metadata"]["next_cursor"]
        .as_str()
        .unwrap();
    let second = app
        .get(&format!(
            "/invoices?status[]=draft&amount[gt]=4&limit=1&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(listed_in(&second), vec![twenty.clone()]);
    let cursor = second["pagination_metadata"]["next_cursor"]
        .as_str()
        .unwrap();
    let third = app
        .get(&format!(
            "/invoices?status[]=draft&amount[gt]=4&limit=1&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(listed_in(&third), vec![twelve.clone()]);
    assert_eq!(third["pagination_metadata"]["has_more"], false);
    app.get("/invoices?amount=lots&amount[gt]=1e&due_date_window=7w&date_type=paid_date")
        .await
        .assert_validation(&["amount", "amount[gt]", "due_date_window", "date_type"]);
}

/// The ids of a page body, in order.
fn listed_in(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(id_of).collect()
}

on_both_stores!(a_customers_issuance_reporting_accounting_and_tax_settings_are_kept_and_cleared);
/// `auto_issuance`, `reporting_configuration`, `accounting_sync_configuration`,
/// `tax_configuration` and `payment_configuration` are validated as Orb's document describes, returned where Orb's
/// `Customer` puts them, and cleared by `null` on an edit (back to Orb's defaults).
async fn a_customers_issuance_reporting_accounting_and_tax_settings_are_kept_and_cleared(
    app: &TestApp,
) {
    let created = app.customer(None).await;
    assert_eq!(created["auto_issuance"], Value::Null);
    assert_eq!(created["reporting_configuration"], Value::Null);
    assert_eq!(created["accounting_sync_configuration"], Value::Null);
    assert_eq!(created["exempt_from_automated_tax"], false);
    assert_eq!(created["automatic_tax_enabled"], false);
    assert_eq!(created["payment_configuration"], Value::Null);
    let path = format!("/customers/{}", id_of(&created));
    let set = app
        .put(
            &path,
            json!({"auto_issuance": false, "reporting_configuration": {"exempt": true},
                   "accounting_sync_configuration": {"accounting_providers": [
                       {"provider_type": "netsuite", "external_provider_id": "ns"}]},
                   "tax_configuration": {"tax_provider": "stripe", "tax_exempt": true},
                   "payment_configuration": {"payment_providers": [{"provider_type": "stripe"}]}}),
        )
        .await
        .json();
    assert_eq!(
        set["payment_configuration"],
        json!({"payment_providers": [{"provider_type": "stripe",
               "excluded_payment_method_types": [], "default_shared_payment_token": null}]}),
        "Orb's defaults for what the item leaves out"
    );
    assert_eq!(set["auto_issuance"], false);
    assert_eq!(set["reporting_configuration"], json!({"exempt": true}));
    assert_eq!(
        set["accounting_sync_configuration"],
        json!({"excluded": false, "accounting_providers": [
            {"provider_type": "netsuite", "external_provider_id": "ns"}]})
    );
    assert_eq!(set["exempt_from_automated_tax"], true);
    assert_eq!(set["automatic_tax_enabled"], false, "not asked for");
    let cleared = app
        .put(
            &path,
            json!({"auto_issuance": null, "reporting_configuration": null,
                   "accounting_sync_configuration": null, "tax_configuration": null,
                   "payment_configuration": null}),
        )
        .await
        .json();
    for (key, value) in [
        ("auto_issuance", Value::Null),
        ("reporting_configuration", Value::Null),
        ("accounting_sync_configuration", Value::Null),
        ("exempt_from_automated_tax", json!(false)),
        ("payment_configuration", Value::Null),
    ] {
        assert_eq!(cleared[key], value, "{key}");
    }
    app.put(
        &path,
        json!({"reporting_configuration": {},
               "accounting_sync_configuration": {"accounting_providers": [
                   {"provider_type": "xero", "external_provider_id": ""}]},
               "tax_configuration": {"tax_provider": "taxjar", "tax_exemption_code": "E"},
               "payment_configuration": {"payment_providers": [{"provider_type": "adyen"}]}}),
    )
    .await
    .assert_validation(&[
        "payment_configuration.payment_providers[0].provider_type",
        "reporting_configuration.exempt",
        "accounting_sync_configuration.accounting_providers[0].provider_type",
        "accounting_sync_configuration.accounting_providers[0].external_provider_id",
        "tax_configuration.tax_exempt",
        "tax_configuration.tax_exemption_code",
    ]);
    app.post(
        "/customers",
        json!({"name": "A", "email": "a@example.com",
               "tax_configuration": {"tax_provider": "vertex", "tax_exempt": false}}),
    )
    .await
    .assert_validation(&["tax_configuration.tax_provider"]);
    assert_eq!(
        app.get(&path).await.json(),
        cleared,
        "a refused edit changes nothing"
    );
}

on_both_stores!(an_invoice_is_auto_collected_as_asked_else_as_its_customer_is);
/// `auto_collection` on `POST /invoices` shows as `auto_collection.enabled`; left out, the
/// invoice takes its customer's setting at creation.
async fn an_invoice_is_auto_collected_as_asked_else_as_its_customer_is(app: &TestApp) {
    let manual = id_of(
        &app.post(
            "/customers",
            json!({"name": "M", "email": "m@example.com", "auto_collection": false}),
        )
        .await
        .created(),
    );
    let inherited = app.post("/invoices", invoice_body(&manual)).await.created();
    assert_eq!(inherited["auto_collection"]["enabled"], false);
    let mut body = invoice_body(&manual);
    body["auto_collection"] = json!(true);
    let asked = app.post("/invoices", body).await.created();
    assert_eq!(asked["auto_collection"]["enabled"], true);
    let fetched = app
        .get(&format!("/invoices/{}", id_of(&asked)))
        .await
        .json();
    assert_eq!(fetched["auto_collection"]["enabled"], true);
    let mut body = invoice_body(&manual);
    body["auto_collection"] = json!("yes");
    let before = listed_ids(app, "/invoices?status[]=draft").await;
    app.post("/invoices", body).await.assert_orb_error(400);
    assert_eq!(
        listed_ids(app, "/invoices?status[]=draft").await,
        before,
        "a refused invoice is not made"
    );
}
