//! README, "Emulated routes", subscriptions: create (by plan id or external plan id, for a customer by id or
//! external id), fetch, the filtered list, and immediate cancellation.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{assert_pages_visit_each_once, id_of, listed_ids, TestApp};
use crate::on_both_stores;

fn as_set(ids: Vec<String>) -> HashSet<String> {
    ids.into_iter().collect()
}

on_both_stores!(
    creating_a_subscription_answers_201_active_with_the_full_customer_and_the_given_plan
);
/// 201 `MutatedSubscription`: active, the full customer embedded, the given plan id.
async fn creating_a_subscription_answers_201_active_with_the_full_customer_and_the_given_plan(
    app: &TestApp,
) {
    let customer = app.customer(Some("ext-sub")).await;
    let response = app
        .post(
            "/subscriptions",
            json!({"customer_id": customer["id"], "plan_id": "plan_basic"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let subscription = response.json();
    let id = subscription["id"].as_str().unwrap();
    assert_eq!(id.len(), 16, "{id}");
    assert_eq!(subscription["status"], "active");
    assert_eq!(
        subscription["customer"], customer,
        "the customer is embedded in full"
    );
    assert_eq!(subscription["plan"]["id"], "plan_basic");
    assert_eq!(subscription["end_date"], Value::Null);
    assert!(subscription["start_date"].is_string());
    assert!(subscription["created_at"].is_string());
    assert!(
        subscription
            .as_object()
            .unwrap()
            .contains_key("changed_resources"),
        "MutatedSubscription: {subscription}"
    );
    assert_eq!(subscription["metadata"], json!({}));
}

on_both_stores!(a_subscription_can_name_only_an_external_plan_id_and_an_external_customer_id);
/// Either plan key works alone; the customer may be named by its external id.
async fn a_subscription_can_name_only_an_external_plan_id_and_an_external_customer_id(
    app: &TestApp,
) {
    let customer = app.customer(Some("ext-plan-sub")).await;
    let response = app
        .post(
            "/subscriptions",
            json!({"external_customer_id": "ext-plan-sub", "external_plan_id": "basic-monthly"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let subscription = response.json();
    assert_eq!(subscription["customer"]["id"], customer["id"]);
    assert_eq!(subscription["plan"]["external_plan_id"], "basic-monthly");
    assert!(
        subscription["plan"]["id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{subscription}"
    );
    assert_eq!(subscription["status"], "active");
}

on_both_stores!(creating_a_subscription_without_a_plan_or_customer_is_a_validation_error);
/// Without a plan or a customer, nothing is created.
async fn creating_a_subscription_without_a_plan_or_customer_is_a_validation_error(app: &TestApp) {
    let customer = app.customer(None).await;
    app.post("/subscriptions", json!({"customer_id": customer["id"]}))
        .await
        .assert_validation(&["plan_id"]);
    app.post("/subscriptions", json!({"plan_id": "p"}))
        .await
        .assert_validation(&["customer_id"]);
    let body = app
        .post("/subscriptions", json!({}))
        .await
        .assert_validation(&["customer_id", "plan_id"]);
    assert_eq!(
        body["validation_errors"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    app.post(
        "/subscriptions",
        json!({"customer_id": customer["id"], "plan_id": "p", "start_date": "soon"}),
    )
    .await
    .assert_validation(&["start_date"]);
    assert!(listed_ids(app, "/subscriptions").await.is_empty());
}

on_both_stores!(subscribing_an_unknown_customer_is_resource_not_found);
async fn subscribing_an_unknown_customer_is_resource_not_found(app: &TestApp) {
    app.post(
        "/subscriptions",
        json!({"customer_id": "unknownCustomer1", "plan_id": "p"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    app.post(
        "/subscriptions",
        json!({"external_customer_id": "nobody", "plan_id": "p"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    assert!(listed_ids(app, "/subscriptions").await.is_empty());
}

on_both_stores!(a_subscription_can_be_fetched_by_id);
/// Fetch answers the `Subscription` (create's object without `changed_resources`).
async fn a_subscription_can_be_fetched_by_id(app: &TestApp) {
    let customer = app.customer(None).await;
    let created = app.subscription(customer["id"].as_str().unwrap()).await;
    let response = app
        .get(&format!("/subscriptions/{}", id_of(&created)))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let fetched = response.json();
    let mut expected = created.clone();
    expected
        .as_object_mut()
        .unwrap()
        .remove("changed_resources");
    let mut got = fetched.clone();
    got.as_object_mut().unwrap().remove("changed_resources");
    assert_eq!(got, expected);
    assert_eq!(fetched["customer"]["id"], customer["id"]);

    let body = app
        .get("/subscriptions/unknownSubscrip1")
        .await
        .assert_error(404, "404-resource-not-found");
    assert_eq!(
        body["detail"],
        "Could not find a resource of type Subscription with identifier: unknownSubscrip1"
    );
    app.call_as(
        "other-account",
        Method::GET,
        &format!("/subscriptions/{}", id_of(&created)),
        None,
    )
    .await
    .assert_error(404, "404-resource-not-found");
}

on_both_stores!(a_fetched_subscription_embeds_the_customer_as_it_is_now);
/// The embedded customer is current: an edit to the customer shows on the subscription.
async fn a_fetched_subscription_embeds_the_customer_as_it_is_now(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let created = app.subscription(customer_id).await;
    let edited = app
        .put(
            &format!("/customers/{customer_id}"),
            json!({"name": "Renamed", "metadata": {"k": "v"}}),
        )
        .await
        .json();
    let fetched = app
        .get(&format!("/subscriptions/{}", id_of(&created)))
        .await
        .json();
    assert_eq!(fetched["customer"], edited);
}

on_both_stores!(the_subscription_list_filters_by_customer_ids_external_customer_ids_and_status);
/// `customer_id[]`, `external_customer_id[]` and `status` narrow the list.
async fn the_subscription_list_filters_by_customer_ids_external_customer_ids_and_status(
    app: &TestApp,
) {
    let alice = app.customer(Some("alice")).await;
    let bob = app.customer(Some("bob")).await;
    let carol = app.customer(Some("carol")).await;
    let alice_id = alice["id"].as_str().unwrap();
    let bob_id = bob["id"].as_str().unwrap();
    let a1 = id_of(&app.subscription(alice_id).await);
    let a2 = id_of(&app.subscription(alice_id).await);
    let b1 = id_of(&app.subscription(bob_id).await);
    let c1 = id_of(&app.subscription(carol["id"].as_str().unwrap()).await);
    let cancelled = app
        .post(
            &format!("/subscriptions/{a2}/cancel"),
            json!({"cancel_option": "immediate"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);

    let all = listed_ids(app, "/subscriptions").await;
    assert_eq!(
        all,
        vec![c1.clone(), b1.clone(), a2.clone(), a1.clone()],
        "newest first"
    );
    assert_eq!(
        as_set(listed_ids(app, &format!("/subscriptions?customer_id[]={alice_id}")).await),
        as_set(vec![a1.clone(), a2.clone()])
    );
    assert_eq!(
        as_set(
            listed_ids(
                app,
                &format!("/subscriptions?customer_id[]={alice_id}&customer_id[]={bob_id}")
            )
            .await
        ),
        as_set(vec![a1.clone(), a2.clone(), b1.clone()])
    );
    assert_eq!(
        listed_ids(app, "/subscriptions?external_customer_id[]=carol").await,
        vec![c1.clone()]
    );
    assert_eq!(
        as_set(
            listed_ids(
                app,
                "/subscriptions?external_customer_id[]=bob&external_customer_id[]=carol"
            )
            .await
        ),
        as_set(vec![b1.clone(), c1.clone()])
    );
    assert_eq!(
        listed_ids(app, "/subscriptions?status=ended").await,
        vec![a2.clone()]
    );
    assert_eq!(
        as_set(listed_ids(app, "/subscriptions?status=active").await),
        as_set(vec![a1.clone(), b1.clone(), c1.clone()])
    );
    assert_eq!(
        listed_ids(
            app,
            &format!("/subscriptions?customer_id[]={alice_id}&status=active")
        )
        .await,
        vec![a1]
    );
    assert!(listed_ids(app, "/subscriptions?status=upcoming")
        .await
        .is_empty());
    assert!(
        listed_ids(app, "/subscriptions?customer_id[]=unknownCustomer1")
            .await
            .is_empty()
    );
    app.get("/subscriptions?status=bogus")
        .await
        .assert_validation(&["status"]);
    let theirs = app
        .call_as("other-account", Method::GET, "/subscriptions", None)
        .await;
    assert!(theirs.data().is_empty(), "lists are per account");
}

on_both_stores!(paging_through_subscriptions_visits_each_exactly_once);
/// 12 subscriptions in pages of 5: 5, 5, 2, each exactly once.
async fn paging_through_subscriptions_visits_each_exactly_once(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let mut created = HashSet::new();
    for _ in 0..12 {
        created.insert(id_of(&app.subscription(customer_id).await));
    }
    assert_pages_visit_each_once(app, "/subscriptions?limit=5", &created, &[5, 5, 2]).await;
}

on_both_stores!(
    cancelling_immediately_ends_the_subscription_and_cancelling_again_is_a_constraint_violation
);
/// Immediate cancellation ends the subscription now; a second cancel is refused.
async fn cancelling_immediately_ends_the_subscription_and_cancelling_again_is_a_constraint_violation(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let created = app.subscription(customer["id"].as_str().unwrap()).await;
    let path = format!("/subscriptions/{}/cancel", id_of(&created));
    let response = app.post(&path, json!({"cancel_option": "immediate"})).await;
    assert_eq!(response.status, StatusCode::OK);
    let cancelled = response.json();
    assert_eq!(cancelled["status"], "ended");
    let end_date = cancelled["end_date"].as_str().expect("end_date is set");
    assert!(
        chrono::DateTime::parse_from_rfc3339(end_date).is_ok(),
        "{end_date}"
    );
    assert!(
        cancelled
            .as_object()
            .unwrap()
            .contains_key("changed_resources"),
        "MutatedSubscription"
    );
    assert_eq!(cancelled["customer"], customer);

    let fetched = app
        .get(&format!("/subscriptions/{}", id_of(&created)))
        .await
        .json();
    assert_eq!(fetched["status"], "ended");
    assert_eq!(fetched["end_date"], cancelled["end_date"]);

    app.post(&path, json!({"cancel_option": "immediate"}))
        .await
        .assert_error(400, "400-constraint-violation");
    assert_eq!(
        app.get(&format!("/subscriptions/{}", id_of(&created)))
            .await
            .json()["end_date"],
        cancelled["end_date"]
    );
}

on_both_stores!(cancelling_with_a_bad_cancel_option_is_a_validation_error);
/// A missing or unknown `cancel_option`, or `requested_date` without a date, is refused and
/// changes nothing.
async fn cancelling_with_a_bad_cancel_option_is_a_validation_error(app: &TestApp) {
    let customer = app.customer(None).await;
    let created = app.subscription(customer["id"].as_str().unwrap()).await;
    let path = format!("/subscriptions/{}/cancel", id_of(&created));
    app.post(&path, json!({"cancel_option": "tomorrow"}))
        .await
        .assert_validation(&["cancel_option"]);
    app.post(&path, json!({}))
        .await
        .assert_validation(&["cancel_option"]);
    app.post(&path, json!({"cancel_option": 3}))
        .await
        .assert_validation(&["cancel_option"]);
    app.post(&path, json!({"cancel_option": "requested_date"}))
        .await
        .assert_validation(&["cancellation_date"]);
    let fetched = app
        .get(&format!("/subscriptions/{}", id_of(&created)))
        .await
        .json();
    assert_eq!(fetched["status"], "active");
    assert_eq!(fetched["end_date"], Value::Null);
    app.post(
        "/subscriptions/unknownSubscrip1/cancel",
        json!({"cancel_option": "immediate"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
}
