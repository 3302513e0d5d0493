//! README, "Dry runs": `Dry-Run: true` on a modelled route is processed as if real and answered
//! as the real request would be, with `Orb-Dry-Run: true`, and changes nothing: a dump of the
//! database is the same before and after, and no event exists. Every modelled write route is
//! tried, on both stores.

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::{id_of, invoice_body, sql, Persistent, TestApp, TestResponse};
use crate::on_both_persistent_stores;

const DRY: (&str, &str) = ("Dry-Run", "true");

/// One write to try: its route as orb-mock's document names it, and the request.
struct Case {
    route: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
}

fn case(route: &'static str, path: String, body: Option<Value>) -> Case {
    let method = Method::from_bytes(route.split(' ').next().unwrap().as_bytes()).unwrap();
    Case {
        route,
        method,
        path,
        body,
    }
}

/// Every value that differs between two runs of the same request: new ids and secrets.
fn without_fresh_values(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let fresh = matches!(key.as_str(), "id" | "secret") && value.is_string();
                    let value = match fresh {
                        true => Value::from("<fresh>"),
                        false => without_fresh_values(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_fresh_values).collect()),
        other => other.clone(),
    }
}

fn body_of(response: &TestResponse) -> Value {
    match response.bytes.is_empty() {
        true => Value::Null,
        false => without_fresh_values(&response.json()),
    }
}

async fn event_ids(app: &TestApp) -> Vec<Value> {
    app.get("/_mock/webhooks/events?limit=100")
        .await
        .data()
        .iter()
        .map(|event| event["id"].clone())
        .collect()
}

/// The modelled routes that can change something: every operation but a GET in orb-mock's own
/// document.
fn modelled_writes() -> BTreeSet<String> {
    let document = orb_mock::openapi::document();
    let mut writes = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            if method != "get" && method != "parameters" {
                writes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    writes
}

on_both_persistent_stores!(
    a_dry_run_of_every_modelled_write_answers_as_the_real_one_and_changes_nothing
);
async fn a_dry_run_of_every_modelled_write_answers_as_the_real_one_and_changes_nothing(
    store: &Persistent,
) {
    let app = store.app().await;
    // Frozen, so that the dry run and the real request carry the same timestamps.
    let frozen = app.post("/_mock/clock", json!({"freeze": true})).await;
    assert_eq!(frozen.status, 200, "{}", frozen.text());
    let endpoint = app
        .post(
            "/webhook_endpoints",
            json!({"url": "http://127.0.0.1:9/hooks"}),
        )
        .await
        .created();
    let customer = app.customer(Some("dry-ext")).await;
    let c = id_of(&customer);
    let doomed = id_of(&app.customer(None).await);
    let blocked = id_of(&app.customer(None).await);
    app.invoice(&blocked, true).await;
    let draft = id_of(&app.invoice(&c, false).await);
    let to_void = id_of(&app.invoice(&c, true).await);
    let to_pay = id_of(&app.invoice(&c, true).await);
    let subscription = id_of(&app.subscription(&c).await);
    let w = id_of(&endpoint);
    let cases = [
        case(
            "POST /customers",
            "/customers".into(),
            Some(
                json!({"name": "Dry", "email": "dry@example.com", "external_customer_id": "new-ext"}),
            ),
        ),
        case(
            "PUT /customers/{customer_id}",
            format!("/customers/{c}"),
            Some(json!({"name": "Renamed", "metadata": {"k": "v"}})),
        ),
        case(
            "PUT /customers/external_customer_id/{external_customer_id}",
            "/customers/external_customer_id/dry-ext".into(),
            Some(json!({"email": "new@example.com"})),
        ),
        case(
            "DELETE /customers/{customer_id}",
            format!("/customers/{blocked}"),
            None,
        ),
        case(
            "DELETE /customers/{customer_id}",
            format!("/customers/{doomed}"),
            None,
        ),
        case("POST /invoices", "/invoices".into(), Some(invoice_body(&c))),
        case(
            "POST /invoices/{invoice_id}/issue",
            format!("/invoices/{draft}/issue"),
            Some(json!({})),
        ),
        case(
            "POST /invoices/{invoice_id}/void",
            format!("/invoices/{to_void}/void"),
            None,
        ),
        case(
            "POST /invoices/{invoice_id}/mark_paid",
            format!("/invoices/{to_pay}/mark_paid"),
            Some(json!({"payment_received_date": "2026-01-10", "notes": "wire"})),
        ),
        case(
            "POST /subscriptions",
            "/subscriptions".into(),
            Some(json!({"customer_id": c, "plan_id": "plan_basic", "end_date": "2099-01-01"})),
        ),
        case(
            "POST /subscriptions/{subscription_id}/cancel",
            format!("/subscriptions/{subscription}/cancel"),
            Some(json!({"cancel_option": "end_of_subscription_term"})),
        ),
        case(
            "POST /webhook_endpoints",
            "/webhook_endpoints".into(),
            Some(json!({"url": "http://127.0.0.1:9/other"})),
        ),
        case(
            "PUT /webhook_endpoints/{webhook_endpoint_id}",
            format!("/webhook_endpoints/{w}"),
            Some(json!({"url": "http://127.0.0.1:9/moved"})),
        ),
        case(
            "POST /webhook_endpoints/{webhook_endpoint_id}/disable",
            format!("/webhook_endpoints/{w}/disable"),
            None,
        ),
        case(
            "POST /webhook_endpoints/{webhook_endpoint_id}/enable",
            format!("/webhook_endpoints/{w}/enable"),
            None,
        ),
        case(
            "DELETE /webhook_endpoints/{webhook_endpoint_id}",
            format!("/webhook_endpoints/{w}"),
            None,
        ),
    ];
    let tried: BTreeSet<String> = cases.iter().map(|c| c.route.to_owned()).collect();
    assert_eq!(
        tried,
        modelled_writes(),
        "every modelled write route is tried"
    );
    let mut statuses = Vec::new();
    for case in &cases {
        let before = sql::dump(&store.url).await;
        let events = event_ids(&app).await;
        let dry = app
            .call_with(case.method.clone(), &case.path, &[DRY], case.body.clone())
            .await;
        assert_eq!(dry.header("orb-dry-run"), Some("true"), "{}", case.route);
        assert!(
            sql::dump(&store.url).await == before,
            "{} {}: a dry run changed the database",
            case.method,
            case.path
        );
        assert_eq!(event_ids(&app).await, events, "{}: no event", case.route);
        let real = app
            .call(case.method.clone(), &case.path, case.body.clone())
            .await;
        assert_eq!(real.header("orb-dry-run"), None);
        assert_eq!(dry.status, real.status, "{} {}", case.method, case.path);
        assert_eq!(
            body_of(&dry),
            body_of(&real),
            "{} {}",
            case.method,
            case.path
        );
        statuses.push(real.status.as_u16());
    }
    // The blocked DELETE is refused as the real one is; the other changes succeed.
    assert_eq!(statuses[3], 400);
    assert!(
        statuses
            .iter()
            .enumerate()
            .all(|(at, s)| at == 3 || *s < 300),
        "{statuses:?}"
    );
    app.stop().await;
}

on_both_persistent_stores!(
    a_dry_run_delete_of_a_deletable_customer_answers_204_and_leaves_it_active
);
async fn a_dry_run_delete_of_a_deletable_customer_answers_204_and_leaves_it_active(
    store: &Persistent,
) {
    let mut config = crate::common::test_config(&store.url);
    config.deletion_delay = std::time::Duration::ZERO;
    let app = TestApp::with_config(store.kind, config, None).await;
    let id = id_of(&app.customer(None).await);
    let deleted = app
        .call_with(Method::DELETE, &format!("/customers/{id}"), &[DRY], None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.header("orb-dry-run"), Some("true"));
    let customer = app.get(&format!("/customers/{id}")).await;
    assert_eq!(customer.status, 200, "the customer is still there");
    assert!(customer.json().get("deleted").is_none_or(|d| d == false));
    assert!(app.get("/_mock/deletions").await.data().is_empty());
    app.stop().await;
}

on_both_persistent_stores!(a_dry_run_with_an_idempotency_key_or_a_bad_value_is_a_validation_error);
async fn a_dry_run_with_an_idempotency_key_or_a_bad_value_is_a_validation_error(
    store: &Persistent,
) {
    let app = store.app().await;
    let body = json!({"name": "Dry", "email": "dry@example.com"});
    let keyed = app
        .call_with(
            Method::POST,
            "/customers",
            &[DRY, ("Idempotency-Key", "k-1")],
            Some(body.clone()),
        )
        .await;
    keyed.assert_validation(&["Idempotency-Key"]);
    assert_eq!(keyed.header("orb-dry-run"), None);
    let bad = app
        .call_with(
            Method::POST,
            "/customers",
            &[("Dry-Run", "maybe")],
            Some(body.clone()),
        )
        .await;
    bad.assert_validation(&["Dry-Run"]);
    assert_eq!(sql::customers(&store.url).await, 0, "nothing was created");
    // An empty key is no key (how the Python SDK is told to send none).
    let unkeyed = app
        .call_with(
            Method::POST,
            "/customers",
            &[("dry-run", "TRUE"), ("Idempotency-Key", "")],
            Some(body.clone()),
        )
        .await;
    assert_eq!(unkeyed.status, 201, "{}", unkeyed.text());
    assert_eq!(unkeyed.header("orb-dry-run"), Some("true"));
    // `false` is a real request.
    let real = app
        .call_with(
            Method::POST,
            "/customers",
            &[("Dry-Run", "false")],
            Some(body),
        )
        .await;
    assert_eq!(real.status, 201);
    assert_eq!(real.header("orb-dry-run"), None);
    assert_eq!(sql::customers(&store.url).await, 1);
    app.stop().await;
}

on_both_persistent_stores!(a_dry_run_is_ignored_where_orb_mock_cannot_dry_run);
/// The control surface and the routes orb-mock does not model take no dry run: the header is
/// ignored and `Orb-Dry-Run` is absent.
async fn a_dry_run_is_ignored_where_orb_mock_cannot_dry_run(store: &Persistent) {
    let app = store.app().await;
    let unmodelled = app.call_with(Method::GET, "/plans", &[DRY], None).await;
    assert_eq!(unmodelled.header("orb-dry-run"), None);
    assert_eq!(unmodelled.status, 400, "{}", unmodelled.text());
    let control = app
        .call_with(
            Method::POST,
            "/_mock/clock",
            &[DRY],
            Some(json!({"advance": "1d"})),
        )
        .await;
    assert_eq!(control.status, 200);
    assert_eq!(control.header("orb-dry-run"), None);
    assert_eq!(app.get("/_mock/clock").await.json()["real_time"], false);
    // A read on a modelled route is answered as usual, and says it was a dry run.
    let listed = app.call_with(Method::GET, "/customers", &[DRY], None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("orb-dry-run"), Some("true"));
    app.stop().await;
}
