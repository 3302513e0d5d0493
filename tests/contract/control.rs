//! README, "Control surface": the `/_mock` control surface, route by route and rule by rule.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::common::{id_of, listed_ids, Persistent, TestApp};
use crate::on_both_stores;

/// A request as another account (another bearer token).
async fn as_account(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::common::TestResponse {
    app.call_as(token, method, path, body).await
}

fn fixtures() -> Value {
    json!({
        "customers": [
            {
                "id": "cust_a", "name": "A", "email": "a@example.com",
                "external_customer_id": "ext-a"
            },
            {"id": "cust_b", "name": "B", "email": "b@example.com"}
        ],
        "invoices": [{
            "id": "inv_issued", "customer_id": "cust_a", "status": "issued", "currency": "USD",
            "invoice_date": "2026-01-01T00:00:00+00:00",
            "line_items": [{
                "name": "Seat", "quantity": 2, "unit_config": {"unit_amount": "4.00"},
                "start_date": "2026-01-01", "end_date": "2026-01-31", "item_id": "item_1",
                "model_type": "unit"
            }]
        }, {
            "id": "inv_draft", "external_customer_id": "ext-a", "currency": "USD",
            "invoice_date": "2026-01-01",
            "line_items": []
        }],
        "subscriptions": [
            {"id": "sub_1", "customer_id": "cust_b", "plan_id": "plan_basic"},
            {"id": "sub_2", "customer_id": "cust_b", "plan_id": "plan_old", "status": "ended"}
        ]
    })
}

on_both_stores!(health_answers_ok_without_a_key);
/// Health needs no key.
async fn health_answers_ok_without_a_key(app: &TestApp) {
    let response = app
        .send(Request::get("/_mock/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"status": "ok"}));
}

on_both_stores!(control_routes_require_an_api_key);
/// Every other control route takes the same bearer key as Orb's routes.
async fn control_routes_require_an_api_key(app: &TestApp) {
    for (method, path) in [
        (Method::POST, "/_mock/reset"),
        (Method::GET, "/_mock/settings"),
        (Method::GET, "/_mock/deletions"),
        (Method::POST, "/_mock/deletions/complete"),
        (Method::POST, "/_mock/fixtures"),
        (Method::GET, "/_mock/requests"),
        (Method::GET, "/_mock/faults"),
        (Method::DELETE, "/_mock/faults"),
    ] {
        let response = app
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        response.assert_error(401, "401-authentication-error");
    }
}

on_both_stores!(reset_wipes_only_the_callers_account);
/// Reset wipes the caller's data, settings, faults and journal, and no other account's.
async fn reset_wipes_only_the_callers_account(app: &TestApp) {
    let mine = app.customer(Some("ext-mine")).await;
    app.invoice(&id_of(&mine), true).await;
    let theirs = as_account(
        app,
        "other-account",
        Method::POST,
        "/customers",
        Some(json!({"name": "Theirs", "email": "t@example.com"})),
    )
    .await
    .created();
    app.call(
        Method::PATCH,
        "/_mock/settings",
        Some(json!({"deletion_delay": "0s"})),
    )
    .await;
    app.post("/_mock/faults", json!({"path": "/invoices", "status": 500}))
        .await
        .created();
    as_account(
        app,
        "other-account",
        Method::POST,
        "/_mock/faults",
        Some(json!({"path": "/invoices", "status": 500})),
    )
    .await
    .created();

    let reset = app.call(Method::POST, "/_mock/reset", None).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert!(
        app.get("/_mock/requests").await.data().is_empty(),
        "the journal is empty"
    );

    assert!(
        listed_ids(app, "/customers").await.is_empty(),
        "my customers are gone"
    );
    assert!(listed_ids(app, "/invoices?status[]=draft&status[]=issued")
        .await
        .is_empty());
    app.get(&format!("/customers/{}", id_of(&mine)))
        .await
        .assert_error(404, "404-resource-not-found");
    assert_eq!(
        app.get("/_mock/settings").await.json()["deletion_delay"],
        "1h",
        "the server's default again"
    );
    assert!(app.get("/_mock/faults").await.data().is_empty());
    // The external id is free again.
    app.customer(Some("ext-mine")).await;

    let still = as_account(
        app,
        "other-account",
        Method::GET,
        &format!("/customers/{}", id_of(&theirs)),
        None,
    )
    .await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "the other account's data stays"
    );
    let faults = as_account(app, "other-account", Method::GET, "/_mock/faults", None).await;
    assert_eq!(faults.data().len(), 1, "the other account's faults stay");
}

on_both_stores!(settings_override_the_deletion_delay_per_account);
/// Settings show the server's values until overridden; `null` restores them.
async fn settings_override_the_deletion_delay_per_account(app: &TestApp) {
    assert_eq!(
        app.get("/_mock/settings").await.json(),
        json!({"deletion_delay": "1h"})
    );
    let patched = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "0s"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.json(), json!({"deletion_delay": "0s"}));
    assert_eq!(
        app.get("/_mock/settings").await.json()["deletion_delay"],
        "0s"
    );

    let customer = app.customer(None).await;
    app.delete_customer(&id_of(&customer)).await;
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert!(
        jobs[0].due_at <= app.clock.now(),
        "due at once with a 0s delay"
    );
    let other = as_account(app, "other-account", Method::GET, "/_mock/settings", None).await;
    assert_eq!(
        other.json()["deletion_delay"],
        "1h",
        "other accounts keep the default"
    );

    let restored = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": null})),
        )
        .await;
    assert_eq!(restored.json()["deletion_delay"], "1h");
}

on_both_stores!(an_accounts_deletion_delay_makes_its_cascades_due_that_long_after_the_delete);
/// An account's own delay sets when its cascades are due: the request's time plus the delay
/// (the setting's precision is a millisecond).
async fn an_accounts_deletion_delay_makes_its_cascades_due_that_long_after_the_delete(
    app: &TestApp,
) {
    let patched = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "90m 250ms"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let customer = id_of(&app.customer(None).await);
    app.delete_customer(&customer).await;
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let after = jobs[0].due_at - jobs[0].created_at;
    let delay = chrono::Duration::milliseconds(90 * 60_000 + 250);
    assert!(
        after <= delay && after > delay - chrono::Duration::milliseconds(1),
        "due {after} after the request, expected {delay}"
    );
    let customer_row = app.get(&format!("/customers/{customer}")).await;
    assert_eq!(
        customer_row.json()["deleted"],
        true,
        "the customer reads as deleting meanwhile"
    );
}

on_both_stores!(bad_settings_are_validation_errors);
/// Bad settings are 400s naming the key, and change nothing.
async fn bad_settings_are_validation_errors(app: &TestApp) {
    let response = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "soon"})),
        )
        .await;
    response.assert_validation(&["deletion_delay"]);
    let response = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": 5})),
        )
        .await;
    response.assert_validation(&["deletion_delay"]);
    let response = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "0s", "colour": "red"})),
        )
        .await;
    response.assert_validation(&["colour"]);
    let response = app
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "400days"})),
        )
        .await;
    response.assert_validation(&["deletion_delay"]);
    assert_eq!(
        app.get("/_mock/settings").await.json()["deletion_delay"],
        "1h",
        "unchanged"
    );
}

on_both_stores!(deletions_list_each_deletion_with_its_state);
/// Deletions list each customer's deletion, newest first, with its state.
async fn deletions_list_each_deletion_with_its_state(app: &TestApp) {
    let first = id_of(&app.customer(None).await);
    let second = id_of(&app.customer(None).await);
    app.delete_customer(&first).await;
    app.delete_customer(&second).await;
    let listed = app.get("/_mock/deletions").await.data();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["customer_id"], second.as_str(), "newest first");
    assert_eq!(listed[1]["customer_id"], first.as_str());
    for deletion in &listed {
        assert_eq!(deletion["state"], "pending");
        assert_eq!(deletion["attempts"], 0);
        assert_eq!(deletion["last_error"], Value::Null);
        assert!(deletion["due_at"].is_string() && deletion["requested_at"].is_string());
    }
    app.finish_deletions().await;
    let listed = app.get("/_mock/deletions").await.data();
    assert!(
        listed
            .iter()
            .all(|d| d["state"] == "completed" && d["completed_at"].is_string()),
        "{listed:?}"
    );
}

on_both_stores!(completing_deletions_runs_the_cascades_before_answering);
/// Complete runs the pending cascades now and answers once they are committed: the
/// customer is already 404 when the call returns.
async fn completing_deletions_runs_the_cascades_before_answering(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    app.subscription(&customer).await;
    app.invoice(&customer, false).await;
    app.delete_customer(&customer).await;
    let done = app.post("/_mock/deletions/complete", json!({})).await;
    assert_eq!(done.status, StatusCode::OK);
    let body = done.json();
    assert_eq!(body["completed"], 1);
    assert_eq!(body["data"][0]["state"], "completed");
    app.get(&format!("/customers/{customer}"))
        .await
        .assert_error(404, "404-resource-not-found");
    assert!(listed_ids(app, "/subscriptions").await.is_empty());
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
}

on_both_stores!(completing_one_customers_deletion_leaves_the_others_pending);
/// Complete with a customer id runs only that customer's cascade.
async fn completing_one_customers_deletion_leaves_the_others_pending(app: &TestApp) {
    let one = id_of(&app.customer(None).await);
    let other = id_of(&app.customer(None).await);
    app.delete_customer(&one).await;
    app.delete_customer(&other).await;
    let done = app
        .post("/_mock/deletions/complete", json!({"customer_id": one}))
        .await;
    let body = done.json();
    assert_eq!(body["completed"], 1);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["customer_id"], one.as_str());
    app.get(&format!("/customers/{one}"))
        .await
        .assert_error(404, "404-resource-not-found");
    let still = app.get(&format!("/customers/{other}")).await;
    assert_eq!(
        still.json(),
        json!({"id": other, "deleted": true}),
        "still deleting"
    );
}

on_both_stores!(completing_an_unknown_deletion_is_not_found);
/// Complete for a customer that has no deletion is a 404; with nothing pending it is a
/// no-op that says so.
async fn completing_an_unknown_deletion_is_not_found(app: &TestApp) {
    app.post(
        "/_mock/deletions/complete",
        json!({"customer_id": "nobody"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    let done = app.post("/_mock/deletions/complete", json!({})).await;
    assert_eq!(done.json(), json!({"completed": 0, "data": []}));
    // No body at all is the same as {}.
    let done = app
        .call(Method::POST, "/_mock/deletions/complete", None)
        .await;
    assert_eq!(done.status, StatusCode::OK);
}

on_both_stores!(fixtures_load_resources_with_the_ids_given);
/// Fixtures load customers, invoices in any status and subscriptions with the ids given,
/// and Orb's rules then apply to them.
async fn fixtures_load_resources_with_the_ids_given(app: &TestApp) {
    let loaded = app.post("/_mock/fixtures", fixtures()).await;
    assert_eq!(
        loaded.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&loaded.bytes)
    );
    assert_eq!(
        loaded.json(),
        json!({
            "customers": ["cust_a", "cust_b"],
            "invoices": ["inv_issued", "inv_draft"],
            "subscriptions": ["sub_1", "sub_2"]
        })
    );
    let a = app.get("/customers/cust_a").await.json();
    assert_eq!(a["external_customer_id"], "ext-a");
    let issued = app.get("/invoices/inv_issued").await.json();
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["total"], "8.00");
    assert!(issued["issued_at"].is_string());
    assert_eq!(
        app.get("/invoices/inv_draft").await.json()["customer"]["id"],
        "cust_a"
    );
    assert_eq!(
        app.get("/subscriptions/sub_1").await.json()["status"],
        "active"
    );
    assert_eq!(
        app.get("/subscriptions/sub_2").await.json()["status"],
        "ended"
    );
    // The issued invoice blocks deletion, as any issued invoice does.
    app.delete("/customers/cust_a")
        .await
        .assert_error(400, "400-constraint-violation");
    app.delete_customer("cust_b").await;
}

on_both_stores!(a_fixtures_document_with_one_bad_entry_loads_nothing);
/// One bad entry loads nothing, and the 400 names the entry.
async fn a_fixtures_document_with_one_bad_entry_loads_nothing(app: &TestApp) {
    let mut document = fixtures();
    document["invoices"][1]["status"] = json!("lost");
    document["customers"][1]["email"] = json!("not-an-email");
    let response = app.post("/_mock/fixtures", document).await;
    response.assert_validation(&["invoices[1].status", "customers[1].email"]);
    assert!(
        listed_ids(app, "/customers").await.is_empty(),
        "nothing loaded"
    );

    // A problem only the store can see (an unknown customer) also loads nothing.
    let mut document = fixtures();
    document["subscriptions"][0]["customer_id"] = json!("cust_missing");
    let response = app.post("/_mock/fixtures", document).await;
    let body = response.assert_validation(&["subscriptions[0]"]);
    assert!(
        body["detail"].as_str().unwrap().contains("cust_missing"),
        "{body}"
    );
    assert!(
        listed_ids(app, "/customers").await.is_empty(),
        "nothing loaded"
    );

    // A taken id, likewise.
    app.post(
        "/_mock/fixtures",
        json!({"customers": [{"id": "cust_a", "name": "A", "email": "a@example.com"}]}),
    )
    .await
    .created();
    let response = app.post("/_mock/fixtures", fixtures()).await;
    let body = response.assert_validation(&["customers[0]"]);
    assert!(
        body["detail"].as_str().unwrap().contains("cust_a"),
        "{body}"
    );
    assert_eq!(
        listed_ids(app, "/customers").await,
        ["cust_a"],
        "only the first load"
    );
}

on_both_stores!(fixture_ids_and_keys_are_checked);
/// Ids must be usable in a URL; unknown keys are refused (a typo must not pass silently).
async fn fixture_ids_and_keys_are_checked(app: &TestApp) {
    let response = app
        .post(
            "/_mock/fixtures",
            json!({"customers": [
                {"id": "has space", "name": "A", "email": "a@example.com"},
                {"id": "x".repeat(65), "name": "A", "email": "a@example.com"}
            ]}),
        )
        .await;
    response.assert_validation(&["customers[0].id", "customers[1].id"]);
    let response = app.post("/_mock/fixtures", json!({"customer": []})).await;
    response.assert_validation(&["customer"]);
}

on_both_stores!(the_journal_records_requests_newest_first);
/// The journal records each Orb request (never the key), newest first, with its answer,
/// filterable by method and path prefix; control routes are not journalled.
async fn the_journal_records_requests_newest_first(app: &TestApp) {
    let customer = app
        .call_with(
            Method::POST,
            "/v1/customers",
            &[("idempotency-key", "k1"), ("x-stainless-retry-count", "0")],
            Some(json!({"name": "J", "email": "j@example.com"})),
        )
        .await
        .created();
    let id = id_of(&customer);
    app.get(&format!("/customers/{id}?expand=x")).await;
    app.get("/customers/nobody").await;
    app.get("/_mock/deletions").await;

    let entries = app.get("/_mock/requests").await.data();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries[0]["path"], "/customers/nobody");
    assert_eq!(entries[0]["status"], 404);
    assert_eq!(entries[1]["query"], "expand=x");
    let post = &entries[2];
    assert_eq!(post["method"], "POST");
    assert_eq!(post["path"], "/customers", "without /v1");
    assert_eq!(post["status"], 201);
    assert_eq!(post["body"], json!({"name": "J", "email": "j@example.com"}));
    assert_eq!(post["headers"]["idempotency-key"], "k1");
    assert_eq!(post["headers"]["x-stainless-retry-count"], "0");
    assert_eq!(post["headers"]["content-type"], "application/json");
    assert!(
        post["headers"].get("authorization").is_none(),
        "never the key"
    );
    assert!(
        !post.to_string().contains(&app.token),
        "the token appears nowhere"
    );
    assert!(post["timestamp"].is_string());

    let gets = app
        .get("/_mock/requests?method=get&path=/v1/customers/nobody")
        .await
        .data();
    assert_eq!(gets.len(), 1);
    let posts = app.get("/_mock/requests?method=POST").await.data();
    assert_eq!(posts.len(), 1);

    let cleared = app.call(Method::DELETE, "/_mock/requests", None).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert!(app.get("/_mock/requests").await.data().is_empty());
    let other = as_account(app, "other-account", Method::GET, "/_mock/requests", None).await;
    assert!(
        other.data().is_empty(),
        "accounts do not see each other's journal"
    );
}

on_both_stores!(the_journal_drops_its_oldest_entries_beyond_its_size);
/// The journal is bounded per account: the oldest entries go.
async fn the_journal_drops_its_oldest_entries_beyond_its_size(app: &TestApp) {
    let app = TestApp::configured(app.kind, |config| config.journal_size = 3).await;
    for i in 0..5 {
        app.get(&format!("/customers/c{i}")).await;
    }
    let paths: Vec<Value> = app
        .get("/_mock/requests")
        .await
        .data()
        .iter()
        .map(|e| e["path"].clone())
        .collect();
    assert_eq!(
        paths,
        [
            json!("/customers/c4"),
            json!("/customers/c3"),
            json!("/customers/c2")
        ]
    );
    app.stop().await;
}

on_both_stores!(prefer_code_answers_that_error_and_changes_nothing);
/// `Prefer: code=NNN` answers that documented status with its Orb body and changes nothing.
async fn prefer_code_answers_that_error_and_changes_nothing(app: &TestApp) {
    for (code, suffix) in [
        ("400", "400-request-validation-errors"),
        ("401", "401-authentication-error"),
        ("404", "404-resource-not-found"),
        ("409", "409-resource-conflict"),
        ("413", "413-request-too-large"),
        ("429", "429-too-many-requests"),
        ("500", "500-internal-server-error"),
    ] {
        let response = app
            .call_with(
                Method::POST,
                "/customers",
                &[("prefer", &format!("code={code}"))],
                Some(json!({"name": "P", "email": "p@example.com"})),
            )
            .await;
        response.assert_error(code.parse().unwrap(), suffix);
    }
    assert!(
        listed_ids(app, "/customers").await.is_empty(),
        "nothing was created"
    );
    let response = app
        .call_with(Method::GET, "/customers", &[("prefer", "code=418")], None)
        .await;
    response.assert_validation(&["Prefer"]);
    let response = app
        .call_with(
            Method::GET,
            "/customers",
            &[("prefer", "return=minimal")],
            None,
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "other preferences are ignored"
    );
}

on_both_stores!(a_fault_rule_fires_times_after_skipping_after_matches);
/// A fault rule answers its status with its headers, `times` times after skipping `after`
/// matches, on both spellings of the path, and only for its method.
async fn a_fault_rule_fires_times_after_skipping_after_matches(app: &TestApp) {
    let rule = app
        .post(
            "/_mock/faults",
            json!({
                "method": "GET", "path": "/customers/*", "status": 429,
                "headers": {"Retry-After": "1", "retry-after-ms": "5", "x-should-retry": "true"},
                "times": 2, "after": 1
            }),
        )
        .await
        .created();
    assert!(rule["id"].is_string());
    assert_eq!(rule["fired"], 0);
    let customer = id_of(&app.customer(None).await);
    let path = format!("/customers/{customer}");
    assert_eq!(
        app.get(&path).await.status,
        StatusCode::OK,
        "the first match is skipped"
    );
    for spelling in [path.clone(), format!("/v1{path}")] {
        let response = app.get(&spelling).await;
        let body = response.assert_error(429, "429-too-many-requests");
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains(rule["id"].as_str().unwrap()));
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(response.header("retry-after-ms"), Some("5"));
        assert_eq!(response.header("x-should-retry"), Some("true"));
    }
    assert_eq!(
        app.get(&path).await.status,
        StatusCode::OK,
        "spent after two"
    );
    assert_eq!(
        app.get("/customers").await.status,
        StatusCode::OK,
        "one segment only"
    );
    app.put(&path, json!({"name": "x"})).await;
    let listed = app.get("/_mock/faults").await.data();
    assert_eq!(listed[0]["fired"], 2);
    assert_eq!(
        listed[0]["matched"], 3,
        "a spent rule stops counting; PUT and the list never matched"
    );
}

on_both_stores!(a_faulted_request_changes_nothing);
/// A fault answers without running anything: a faulted POST creates nothing.
async fn a_faulted_request_changes_nothing(app: &TestApp) {
    app.post(
        "/_mock/faults",
        json!({"method": "POST", "path": "/customers", "status": 500,
        "headers": {"Transient-Error": "true"}}),
    )
    .await
    .created();
    let response = app
        .post("/customers", json!({"name": "F", "email": "f@example.com"}))
        .await;
    response.assert_error(500, "500-internal-server-error");
    assert_eq!(response.header("transient-error"), Some("true"));
    let cleared = app.call(Method::DELETE, "/_mock/faults", None).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert!(listed_ids(app, "/customers").await.is_empty());
    app.customer(None).await;
}

on_both_stores!(fault_rules_fire_in_the_order_they_were_added);
/// Rules fire in the order they were added: the first with budget left wins.
async fn fault_rules_fire_in_the_order_they_were_added(app: &TestApp) {
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "status": 500, "times": 1}),
    )
    .await
    .created();
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "status": 404, "times": 1}),
    )
    .await
    .created();
    app.get("/customers")
        .await
        .assert_error(500, "500-internal-server-error");
    app.get("/customers")
        .await
        .assert_error(404, "404-resource-not-found");
    assert_eq!(app.get("/customers").await.status, StatusCode::OK);
}

on_both_stores!(a_fault_can_name_its_error_type_and_be_removed);
/// A rule can pick a specific documented type, and one rule can be removed by id.
async fn a_fault_can_name_its_error_type_and_be_removed(app: &TestApp) {
    let rule = app
        .post(
            "/_mock/faults",
            json!({"path": "/customers", "type": "413-too-many-results"}),
        )
        .await
        .created();
    app.get("/customers")
        .await
        .assert_error(413, "413-too-many-results");
    let removed = app
        .call(
            Method::DELETE,
            &format!("/_mock/faults/{}", rule["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/customers").await.status, StatusCode::OK);
    app.call(Method::DELETE, "/_mock/faults/nope", None)
        .await
        .assert_error(404, "404-resource-not-found");
}

on_both_stores!(bad_fault_rules_are_validation_errors);
/// Bad rules are 400s naming each problem.
async fn bad_fault_rules_are_validation_errors(app: &TestApp) {
    let response = app
        .post(
            "/_mock/faults",
            json!({"status": 418, "method": "GE T", "delay": "soon", "times": 0}),
        )
        .await;
    response.assert_validation(&["path", "status", "method", "delay", "times"]);
    let response = app
        .post("/_mock/faults", json!({"path": "/customers"}))
        .await;
    response.assert_validation(&["status"]);
    let response = app
        .post(
            "/_mock/faults",
            json!({"path": "/customers", "status": 500, "close": true}),
        )
        .await;
    response.assert_validation(&["close"]);
    let response = app
        .post(
            "/_mock/faults",
            json!({"path": "/customers", "status": 404, "type": "429-too-many-requests"}),
        )
        .await;
    response.assert_validation(&["type"]);
    assert!(app.get("/_mock/faults").await.data().is_empty());
}

on_both_stores!(a_latency_fault_delays_a_normal_answer);
/// A latency rule delays the normal answer.
async fn a_latency_fault_delays_a_normal_answer(app: &TestApp) {
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "delay": "200ms", "times": 1}),
    )
    .await
    .created();
    let started = std::time::Instant::now();
    let response = app.get("/customers").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "waited the delay"
    );
}

on_both_stores!(fault_counts_are_exact_under_concurrency);
/// Counts are exact under concurrency: 20 racing requests against `times: 7` see exactly
/// seven faults.
async fn fault_counts_are_exact_under_concurrency(app: &TestApp) {
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "status": 500, "times": 7, "after": 3}),
    )
    .await
    .created();
    let client = app.client();
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                client
                    .call_with(Method::GET, "/customers", &[], None)
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 7);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 13);
    let rule = &app.get("/_mock/faults").await.data()[0];
    assert_eq!(rule["matched"], 10);
    assert_eq!(rule["fired"], 7);
}

on_both_stores!(faults_are_per_account);
/// Two accounts: one's faults never touch the other.
async fn faults_are_per_account(app: &TestApp) {
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "status": 500}),
    )
    .await
    .created();
    let other = as_account(app, "other-account", Method::GET, "/customers", None).await;
    assert_eq!(other.status, StatusCode::OK);
    app.get("/customers")
        .await
        .assert_error(500, "500-internal-server-error");
}

on_both_stores!(the_rate_limit_answers_429_with_retry_after_per_account);
/// The rate limit is per account: over budget, 429 with the Orb body and a whole-second
/// `Retry-After` of at least 1; another account still has its budget.
async fn the_rate_limit_answers_429_with_retry_after_per_account(app: &TestApp) {
    let app = TestApp::configured(app.kind, |config| {
        config.rate_limit = Some(orb_mock::config::parse_rate_limit("3/m").unwrap());
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/customers").await.status, StatusCode::OK);
    }
    let limited = app.get("/customers").await;
    limited.assert_error(429, "429-too-many-requests");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let other = as_account(&app, "other-account", Method::GET, "/customers", None).await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another account has its own budget"
    );
    assert_eq!(
        app.get("/_mock/health").await.status,
        StatusCode::OK,
        "control routes are not limited"
    );
    assert_eq!(app.get("/_mock/requests").await.status, StatusCode::OK);
    app.stop().await;
}

fn example_fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fixtures.json")
}

crate::on_both_persistent_stores!(a_fixtures_file_loads_at_start_up_once_per_store);
/// `--fixtures` loads the example file at start-up into the accounts it names; a restart
/// on the same store skips what an earlier start loaded instead of failing.
async fn a_fixtures_file_loads_at_start_up_once_per_store(store: &Persistent) {
    for start in 0..2 {
        let mut config = crate::common::test_config(&store.url);
        config.fixtures = Some(example_fixtures());
        let app = TestApp::with_config(store.kind, config, None).await;
        let acme = as_account(
            &app,
            "sk_test_example",
            Method::GET,
            "/customers/cust_acme",
            None,
        )
        .await;
        assert_eq!(acme.status, StatusCode::OK, "start {start}");
        assert_eq!(acme.json()["external_customer_id"], "acme");
        let invoice = as_account(
            &app,
            "sk_test_example",
            Method::GET,
            "/invoices/inv_acme_jan",
            None,
        )
        .await;
        assert_eq!(invoice.json()["total"], "300.00");
        let listed = as_account(&app, "sk_test_example", Method::GET, "/customers", None).await;
        assert_eq!(
            listed.data().len(),
            2,
            "start {start}: loaded once, not twice"
        );
        app.get("/customers/cust_acme")
            .await
            .assert_error(404, "404-resource-not-found");
        app.stop().await;
    }
}

crate::on_both_persistent_stores!(a_bad_fixtures_file_stops_the_start_and_loads_nothing);
/// A fixtures file with one bad entry stops the start, names the entry, and loads nothing.
async fn a_bad_fixtures_file_stops_the_start_and_loads_nothing(store: &Persistent) {
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(example_fixtures()).unwrap()).unwrap();
    document["accounts"]["sk_test_example"]["subscriptions"][1]["customer_id"] =
        json!("cust_nobody");
    let path = std::env::temp_dir().join(format!(
        "orb-mock-bad-fixtures-{}.json",
        orb_mock::store::new_id()
    ));
    std::fs::write(&path, document.to_string()).unwrap();
    let mut config = crate::common::test_config(&store.url);
    config.fixtures = Some(path.clone());
    let error = orb_mock::server::App::start(&config, orb_mock::clock::Clock::default())
        .await
        .err()
        .expect("the start fails");
    let message = error.to_string();
    assert!(
        message.contains("subscriptions[1]") && message.contains("cust_nobody"),
        "{message}"
    );
    assert!(
        !message.contains("sk_test_example"),
        "the whole API key is never printed: {message}"
    );
    std::fs::remove_file(&path).ok();
    let config = crate::common::test_config(&store.url);
    let app = TestApp::with_config(store.kind, config, None).await;
    let listed = as_account(&app, "sk_test_example", Method::GET, "/customers", None).await;
    assert!(listed.data().is_empty(), "nothing was loaded");
    app.stop().await;
}

on_both_stores!(every_control_body_refuses_unknown_keys_naming_them);
/// Every `/_mock` body refuses a key it does not know with a validation error naming it, and
/// changes nothing: a typo (`methd`, `count`) must not become a broader rule.
async fn every_control_body_refuses_unknown_keys_naming_them(app: &TestApp) {
    let rule = json!({"methd": "DELETE", "path": "/customers/*", "status": 500});
    let response = app.post("/_mock/faults", rule).await;
    let body = response.assert_validation(&["methd"]);
    assert!(body["detail"].as_str().unwrap().contains("methd"), "{body}");
    let rule = json!({"path": "/customers", "status": 500, "count": 1});
    let response = app.post("/_mock/faults", rule).await;
    response.assert_validation(&["count"]);
    assert!(
        app.get("/_mock/faults").await.data().is_empty(),
        "no rule was added"
    );

    let customer = app.customer(None).await;
    let id = id_of(&customer);
    app.delete_customer(&id).await;
    let response = app
        .post("/_mock/deletions/complete", json!({"customer": id}))
        .await;
    response.assert_validation(&["customer"]);
    let pending = app.get("/_mock/deletions").await.data();
    assert_eq!(
        pending[0]["state"], "pending",
        "nothing was completed: {pending:?}"
    );

    let settings = json!({"deletion_dealy": "0s"});
    let response = app
        .call(Method::PATCH, "/_mock/settings", Some(settings))
        .await;
    response.assert_validation(&["deletion_dealy"]);

    let fixtures = json!({
        "customers": [{"id": "c1", "name": "A", "email": "a@example.com", "extrnal_customer_id": "x"}],
        "invoices": [],
        "subscriptions": [{"id": "s1", "customer_id": "c1", "plan_id": "p", "stauts": "ended"}]
    });
    let response = app.post("/_mock/fixtures", fixtures).await;
    response.assert_validation(&[
        "customers[0].extrnal_customer_id",
        "subscriptions[0].stauts",
    ]);
    app.get("/customers/c1")
        .await
        .assert_error(404, "404-resource-not-found");
}
