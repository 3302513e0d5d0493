//! README, "Deleting a customer": `DELETE /customers/{customer_id}`, rule by rule.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_stores;

async fn job_count(app: &TestApp) -> usize {
    app.store
        .deletions(&app.account())
        .await
        .expect("jobs")
        .len()
}

on_both_stores!(deleting_a_customer_answers_204_with_an_empty_body_and_queues_one_job);
/// Rule 4: 204, empty body, and the customer is marked deleting with one job queued.
async fn deleting_a_customer_answers_204_with_an_empty_body_and_queues_one_job(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let response = app.delete(&format!("/customers/{id}")).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.bytes.is_empty(), "204 has an empty body");
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].customer_id, id);
    assert_eq!(jobs[0].state, orb_mock::store::DeletionState::Pending);
    assert_eq!(jobs[0].attempts, 0);
}

on_both_stores!(deleting_an_unknown_customer_is_resource_not_found);
/// Rule 1: an id nobody has.
async fn deleting_an_unknown_customer_is_resource_not_found(app: &TestApp) {
    let response = app.delete("/customers/doesNotExist1234").await;
    let body = response.assert_error(404, "404-resource-not-found");
    assert_eq!(
        body["detail"],
        "Could not find a resource of type Customer with identifier: doesNotExist1234"
    );
    assert_eq!(job_count(app).await, 0);
}

on_both_stores!(another_accounts_customer_is_not_found_on_fetch_and_on_delete);
/// Rule 1 and README, "Accounts": another account's customer is answered exactly as an unknown one.
async fn another_accounts_customer_is_not_found_on_fetch_and_on_delete(app: &TestApp) {
    let customer = app.customer(Some("shared-external")).await;
    let id = customer["id"].as_str().unwrap();
    let other = "someone-else";
    let fetched = app
        .call_as(
            other,
            axum::http::Method::GET,
            &format!("/customers/{id}"),
            None,
        )
        .await;
    let unknown = app
        .call_as(
            other,
            axum::http::Method::GET,
            "/customers/unknownCustomer1",
            None,
        )
        .await;
    fetched.assert_error(404, "404-resource-not-found");
    unknown.assert_error(404, "404-resource-not-found");
    let by_external = app
        .call_as(
            other,
            axum::http::Method::GET,
            "/customers/external_customer_id/shared-external",
            None,
        )
        .await;
    by_external.assert_error(404, "404-resource-not-found");
    let deleted = app
        .call_as(
            other,
            axum::http::Method::DELETE,
            &format!("/customers/{id}"),
            None,
        )
        .await;
    deleted.assert_error(404, "404-resource-not-found");
    // Nor does the other account see anything in its lists.
    app.invoice(id, false).await;
    app.subscription(id).await;
    for list in ["/customers", "/invoices?status[]=draft", "/subscriptions"] {
        let listed = app
            .call_as(other, axum::http::Method::GET, list, None)
            .await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(
            listed.json()["data"],
            json!([]),
            "{list} is empty for another account"
        );
    }
    // Nothing changed for the owner.
    let mine = app.get(&format!("/customers/{id}")).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.json()["name"], "Ada Lovelace");
    assert_eq!(job_count(app).await, 0);
}

on_both_stores!(
    deleting_a_customer_again_while_its_deletion_is_pending_answers_204_and_queues_no_second_job
);
/// Rule 2: a second DELETE while the first is pending answers 204 and queues nothing.
async fn deleting_a_customer_again_while_its_deletion_is_pending_answers_204_and_queues_no_second_job(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let path = format!("/customers/{}", customer["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(job_count(app).await, 1);
}

on_both_stores!(deleting_a_fully_deleted_customer_is_resource_not_found);
/// Rule 1: once the cascade has run, the customer is gone.
async fn deleting_a_fully_deleted_customer_is_resource_not_found(app: &TestApp) {
    let customer = app.customer(None).await;
    let path = format!("/customers/{}", customer["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    app.finish_deletions().await;
    app.delete(&path)
        .await
        .assert_error(404, "404-resource-not-found");
    assert_eq!(job_count(app).await, 1, "no new job for a deleted customer");
}

on_both_stores!(deleting_a_customer_with_an_issued_invoice_is_a_constraint_violation);
/// Rule 3: an issued invoice blocks deletion, and nothing changes.
async fn deleting_a_customer_with_an_issued_invoice_is_a_constraint_violation(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    app.invoice(id, true).await;
    let response = app.delete(&format!("/customers/{id}")).await;
    let body = response.assert_error(400, "400-constraint-violation");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("1 issued invoice"),
        "detail names the count: {body}"
    );
    let fetched = app.get(&format!("/customers/{id}")).await.json();
    assert_eq!(fetched["id"], id);
    assert!(
        fetched.get("deleted").is_none(),
        "the customer is untouched: {fetched}"
    );
    assert_eq!(job_count(app).await, 0);
}

on_both_stores!(deleting_a_customer_with_paid_invoices_is_a_constraint_violation_naming_the_count);
/// Rule 3: paid invoices block too, and the count covers all of them.
async fn deleting_a_customer_with_paid_invoices_is_a_constraint_violation_naming_the_count(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    app.invoice(id, true).await;
    let paid = app.invoice(id, true).await;
    let paid_id = paid["id"].as_str().unwrap();
    let marked = app
        .post(
            &format!("/invoices/{paid_id}/mark_paid"),
            json!({"payment_received_date": "2026-02-01"}),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK);
    assert_eq!(marked.json()["status"], "paid");
    let body = app
        .delete(&format!("/customers/{id}"))
        .await
        .assert_error(400, "400-constraint-violation");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2 issued invoices"),
        "{body}"
    );
}

on_both_stores!(draft_and_void_invoices_do_not_block_deletion);
/// Decision (README, "Errors"): draft and void invoices do not block deletion.
async fn draft_and_void_invoices_do_not_block_deletion(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    app.invoice(id, false).await;
    let issued = app.invoice(id, true).await;
    let issued_id = issued["id"].as_str().unwrap();
    let voided = app
        .post(&format!("/invoices/{issued_id}/void"), json!({}))
        .await;
    assert_eq!(voided.json()["status"], "void");
    app.delete_customer(id).await;
}

on_both_stores!(a_deleting_customer_is_shown_as_deleted_true_on_fetch_and_list);
/// Rule 5: while deleting, fetch (by id and by external id) and list show only the id and
/// `deleted: true`.
async fn a_deleting_customer_is_shown_as_deleted_true_on_fetch_and_list(app: &TestApp) {
    let customer = app.customer(Some("ext-deleting")).await;
    let id = customer["id"].as_str().unwrap();
    let bystander = app.customer(None).await;
    app.delete_customer(id).await;
    let deleting = json!({"id": id, "deleted": true});
    let fetched = app.get(&format!("/customers/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), deleting);
    let by_external = app
        .get("/v1/customers/external_customer_id/ext-deleting")
        .await;
    assert_eq!(by_external.json(), deleting);
    let list = app.get("/customers").await.json();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(data.contains(&deleting), "{list}");
    assert!(data
        .iter()
        .any(|c| c["id"] == bystander["id"] && c["name"] == "Ada Lovelace"));
}

on_both_stores!(a_deleting_customers_subscriptions_and_invoices_stay_readable);
/// Rule 5: a deleting customer's subscriptions and invoices stay readable as they were.
async fn a_deleting_customers_subscriptions_and_invoices_stay_readable(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let invoice = app.invoice(id, false).await;
    let subscription = app.subscription(id).await;
    app.delete_customer(id).await;
    let invoice_now = app
        .get(&format!("/invoices/{}", invoice["id"].as_str().unwrap()))
        .await;
    assert_eq!(invoice_now.status, StatusCode::OK);
    assert_eq!(invoice_now.json(), invoice);
    let subscription_now = app
        .get(&format!(
            "/subscriptions/{}",
            subscription["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(subscription_now.status, StatusCode::OK);
    assert_eq!(subscription_now.json()["status"], "active");
    assert_eq!(subscription_now.json()["customer"]["id"], id);
    let listed = app
        .get(&format!("/subscriptions?customer_id[]={id}"))
        .await
        .json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let drafts = app
        .get(&format!("/invoices?customer_id={id}&status[]=draft"))
        .await
        .json();
    assert_eq!(drafts["data"].as_array().unwrap().len(), 1);
}

on_both_stores!(writes_on_a_deleting_customer_and_what_it_owns_are_constraint_violations);
/// Rule 5: every write that names a deleting customer or what it owns is refused.
async fn writes_on_a_deleting_customer_and_what_it_owns_are_constraint_violations(app: &TestApp) {
    let customer = app.customer(Some("ext-writes")).await;
    let id = customer["id"].as_str().unwrap();
    let draft = app.invoice(id, false).await;
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    let subscription = app.subscription(id).await;
    let subscription_id = subscription["id"].as_str().unwrap().to_owned();
    app.delete_customer(id).await;

    let refused = [
        app.put(&format!("/customers/{id}"), json!({"name": "New"}))
            .await,
        app.put(
            "/customers/external_customer_id/ext-writes",
            json!({"name": "New"}),
        )
        .await,
        app.post(
            "/invoices",
            json!({
                "customer_id": id, "currency": "USD", "invoice_date": "2026-01-05",
                "line_items": []
            }),
        )
        .await,
        app.post(
            "/invoices",
            json!({
                "external_customer_id": "ext-writes", "currency": "USD",
                "invoice_date": "2026-01-05", "line_items": []
            }),
        )
        .await,
        app.post("/subscriptions", json!({"customer_id": id, "plan_id": "p"}))
            .await,
        app.post(&format!("/invoices/{draft_id}/issue"), json!({}))
            .await,
        app.post(&format!("/invoices/{draft_id}/void"), json!({}))
            .await,
        app.post(
            &format!("/invoices/{draft_id}/mark_paid"),
            json!({"payment_received_date": "2026-02-01"}),
        )
        .await,
        app.post(
            &format!("/subscriptions/{subscription_id}/cancel"),
            json!({"cancel_option": "immediate"}),
        )
        .await,
    ];
    for response in &refused {
        response.assert_error(400, "400-constraint-violation");
    }
    // Nothing changed.
    assert_eq!(
        app.get(&format!("/invoices/{draft_id}")).await.json()["status"],
        "draft"
    );
    assert_eq!(
        app.get(&format!("/subscriptions/{subscription_id}"))
            .await
            .json()["status"],
        "active"
    );
    let all = app
        .get(&format!(
            "/invoices?customer_id={id}&status[]=draft&status[]=issued"
        ))
        .await
        .json();
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        1,
        "no invoice was created"
    );
}

on_both_stores!(after_the_cascade_the_customer_and_everything_it_owned_answer_404_and_leave_lists);
/// Rule 6: after the cascade, the customer, its subscriptions and its invoices answer 404
/// and vanish from lists; rows stay in the store (soft deletion).
async fn after_the_cascade_the_customer_and_everything_it_owned_answer_404_and_leave_lists(
    app: &TestApp,
) {
    let customer = app.customer(Some("ext-gone")).await;
    let id = customer["id"].as_str().unwrap();
    let invoice = app.invoice(id, false).await;
    let invoice_id = invoice["id"].as_str().unwrap();
    let subscription = app.subscription(id).await;
    let subscription_id = subscription["id"].as_str().unwrap();
    let keeper = app.customer(None).await;
    let kept_invoice = app.invoice(keeper["id"].as_str().unwrap(), false).await;
    app.delete_customer(id).await;

    app.finish_deletions().await;

    app.get(&format!("/customers/{id}"))
        .await
        .assert_error(404, "404-resource-not-found");
    app.get("/customers/external_customer_id/ext-gone")
        .await
        .assert_error(404, "404-resource-not-found");
    app.get(&format!("/invoices/{invoice_id}"))
        .await
        .assert_error(404, "404-resource-not-found");
    app.get(&format!("/subscriptions/{subscription_id}"))
        .await
        .assert_error(404, "404-resource-not-found");
    let customers = app.get("/customers").await.json();
    assert_eq!(customers["data"].as_array().unwrap().len(), 1);
    assert_eq!(customers["data"][0]["id"], keeper["id"]);
    let subscriptions = app.get("/subscriptions").await.json();
    assert!(subscriptions["data"].as_array().unwrap().is_empty());
    let invoices = app.get("/invoices?status[]=draft").await.json();
    assert_eq!(invoices["data"].as_array().unwrap().len(), 1);
    assert_eq!(invoices["data"][0]["id"], kept_invoice["id"]);

    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, orb_mock::store::DeletionState::Completed);
    assert_eq!(jobs[0].attempts, 1);
    assert!(jobs[0].completed_at.is_some());
}

on_both_stores!(after_the_cascade_the_external_customer_id_is_free_again);
/// Rule 6: the external id can be used by a new customer once the old one is fully deleted
/// (and not before).
async fn after_the_cascade_the_external_customer_id_is_free_again(app: &TestApp) {
    let customer = app.customer(Some("ext-reuse")).await;
    let id = customer["id"].as_str().unwrap();
    app.delete_customer(id).await;
    let early = app
        .post(
            "/customers",
            json!({"name": "B", "email": "b@example.com", "external_customer_id": "ext-reuse"}),
        )
        .await;
    early.assert_error(400, "400-duplicate-resource-creation");
    app.finish_deletions().await;
    let again = app.customer(Some("ext-reuse")).await;
    assert_ne!(again["id"], customer["id"]);
    let fetched = app
        .get("/customers/external_customer_id/ext-reuse")
        .await
        .json();
    assert_eq!(fetched["id"], again["id"]);
}

on_both_stores!(the_cascade_waits_for_the_deletion_delay);
/// The cascade only runs once its delay has passed.
async fn the_cascade_waits_for_the_deletion_delay(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    app.delete_customer(id).await;
    app.clock
        .advance(crate::common::DELAY - std::time::Duration::from_secs(60));
    let ran = orb_mock::worker::drain(
        &app.store,
        &app.clock,
        orb_mock::store::Queue::Deletions,
        None,
    )
    .await
    .unwrap();
    assert_eq!(ran, 0, "not due yet");
    assert_eq!(
        app.get(&format!("/customers/{id}")).await.json()["deleted"],
        true
    );
    app.clock.advance(std::time::Duration::from_secs(61));
    let ran = orb_mock::worker::drain(
        &app.store,
        &app.clock,
        orb_mock::store::Queue::Deletions,
        None,
    )
    .await
    .unwrap();
    assert_eq!(ran, 1);
    app.get(&format!("/customers/{id}"))
        .await
        .assert_error(404, "404-resource-not-found");
}

on_both_stores!(the_trigger_that_marks_a_customer_deleting_exists_by_the_name_the_code_relies_on);
/// The store relies on a trigger to mark a customer deleting as its deletion is queued; it
/// exists, on both stores, by the name the code gives it.
async fn the_trigger_that_marks_a_customer_deleting_exists_by_the_name_the_code_relies_on(
    app: &TestApp,
) {
    let name = orb_mock::store::MARKS_CUSTOMER_DELETING;
    assert!(
        app.store.trigger_exists(name).await.unwrap(),
        "trigger {name} exists"
    );
    assert!(!app.store.trigger_exists("no_such_trigger").await.unwrap());
}

on_both_stores!(the_refusal_names_each_blocking_invoice_and_a_remedy_that_fits_its_status);
/// The refusal names each blocking invoice with its status, and a remedy that fits it: an
/// issued invoice can be voided, a paid one cannot.
async fn the_refusal_names_each_blocking_invoice_and_a_remedy_that_fits_its_status(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let issued = app.invoice(id, true).await;
    let issued_id = issued["id"].as_str().unwrap();
    let paid = app.invoice(id, true).await;
    let paid_id = paid["id"].as_str().unwrap();
    let marked = app
        .post(
            &format!("/invoices/{paid_id}/mark_paid"),
            json!({"payment_received_date": "2026-02-01"}),
        )
        .await;
    assert_eq!(marked.status, StatusCode::OK);
    let body = app
        .delete(&format!("/customers/{id}"))
        .await
        .assert_error(400, "400-constraint-violation");
    let detail = body["detail"].as_str().unwrap();
    let issued_remedy =
        format!("{issued_id} is issued: void it first (POST /invoices/{issued_id}/void)");
    assert!(detail.contains(&issued_remedy), "{detail}");
    let paid_remedy = format!("{paid_id} is paid: a paid invoice cannot be voided");
    assert!(detail.contains(&paid_remedy), "{detail}");
    assert!(!detail.contains("Void them first"), "{detail}");
}

/// A delay of zero cascades before the DELETE answers: 200 times in a row, a fetch right after
/// the DELETE is a 404, and the deletion is completed, never pending.
async fn zero_delay_is_synchronous(app: &TestApp) {
    for round in 0..200 {
        let customer = app.customer(None).await;
        let id = customer["id"].as_str().unwrap();
        app.subscription(id).await;
        let response = app.delete(&format!("/customers/{id}")).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "round {round}");
        app.get(&format!("/customers/{id}"))
            .await
            .assert_error(404, "404-resource-not-found");
    }
    let deletions = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(deletions.len(), 200);
    assert!(deletions
        .iter()
        .all(|d| d.state == orb_mock::store::DeletionState::Completed));
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
}

on_both_stores!(a_deletion_delay_of_zero_deletes_before_the_delete_answers);
/// `--deletion-delay 0s`: gone when the DELETE answers.
async fn a_deletion_delay_of_zero_deletes_before_the_delete_answers(app: &TestApp) {
    let zero = TestApp::configured(app.kind, |config| config.deletion_delay = Duration::ZERO).await;
    zero_delay_is_synchronous(&zero).await;
    zero.stop().await;
}

on_both_stores!(an_accounts_deletion_delay_of_zero_deletes_before_the_delete_answers);
/// An account's own `deletion_delay` of `0s` is synchronous too, and a non-zero one is not.
async fn an_accounts_deletion_delay_of_zero_deletes_before_the_delete_answers(app: &TestApp) {
    let settings = json!({"deletion_delay": "0s"});
    let patched = app
        .call(Method::PATCH, "/_mock/settings", Some(settings))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.json());
    zero_delay_is_synchronous(app).await;
    let settings = json!({"deletion_delay": "1ms"});
    app.call(Method::PATCH, "/_mock/settings", Some(settings))
        .await;
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let response = app.delete(&format!("/customers/{id}")).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let fetched = app.get(&format!("/customers/{id}")).await.json();
    assert_eq!(
        fetched["deleted"], true,
        "a non-zero delay keeps the deleting state"
    );
}
