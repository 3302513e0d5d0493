//! README, "Emulated routes", customers: create with Orb's defaults, fetch by id and by external id, edit with
//! Orb's metadata rules, and the newest-first, cursor-paginated, date-filtered list.

use std::collections::HashSet;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::common::{assert_pages_visit_each_once, encode, id_of, listed_ids, TestApp};
use crate::on_both_stores;

/// The exact creation time the store keeps (responses show whole seconds), as RFC 3339.
async fn stored_created_at(app: &TestApp, id: &str) -> String {
    let customer = app
        .store
        .customer(
            &app.account(),
            &orb_mock::store::CustomerRef::Id(id.to_owned()),
        )
        .await
        .expect("store answers")
        .expect("customer exists");
    customer
        .created_at
        .to_rfc3339_opts(SecondsFormat::Micros, false)
}

on_both_stores!(creating_a_customer_answers_201_with_orbs_defaults);
/// 201 with the defaults a fresh Orb customer has.
async fn creating_a_customer_answers_201_with_orbs_defaults(app: &TestApp) {
    let response = app
        .post(
            "/customers",
            json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let customer = response.json();
    let id = customer["id"].as_str().unwrap();
    assert_eq!(id.len(), 16, "Orb-style id: {id}");
    assert!(
        id.chars().all(|c| c.is_ascii_alphanumeric()),
        "alphanumeric id: {id}"
    );
    assert_eq!(customer["name"], "Ada Lovelace");
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["timezone"], "Etc/UTC");
    assert_eq!(customer["balance"], "0.00");
    assert_eq!(customer["metadata"], json!({}));
    assert_eq!(customer["currency"], Value::Null);
    assert_eq!(customer["external_customer_id"], Value::Null);
    assert_eq!(customer["additional_emails"], json!([]));
    let created_at = customer["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
    assert!(created_at.ends_with("+00:00"), "{created_at}");
}

on_both_stores!(creating_a_customer_keeps_the_given_values_and_upper_cases_the_currency);
/// Given values are kept; a lower-case currency is upper-cased.
async fn creating_a_customer_keeps_the_given_values_and_upper_cases_the_currency(app: &TestApp) {
    let response = app
        .post(
            "/customers",
            json!({
                "name": "Grace", "email": "grace@example.com", "external_customer_id": "grace-1",
                "currency": "usd", "timezone": "Europe/Paris",
                "metadata": {"plan": "pro", "dropped": null}
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let customer = response.json();
    assert_eq!(customer["currency"], "USD");
    assert_eq!(customer["timezone"], "Europe/Paris");
    assert_eq!(customer["external_customer_id"], "grace-1");
    assert_eq!(
        customer["metadata"],
        json!({"plan": "pro"}),
        "null values are ignored on create"
    );
}

on_both_stores!(a_customer_can_be_fetched_by_id_and_by_external_id);
/// Fetch by id and by external id both return the created object.
async fn a_customer_can_be_fetched_by_id_and_by_external_id(app: &TestApp) {
    let created = app.customer(Some("ext-fetch")).await;
    let id = id_of(&created);
    let by_id = app.get(&format!("/customers/{id}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.json(), created);
    let by_external = app.get("/customers/external_customer_id/ext-fetch").await;
    assert_eq!(by_external.status, StatusCode::OK);
    assert_eq!(by_external.json(), created);
}

on_both_stores!(fetching_an_unknown_customer_is_resource_not_found);
async fn fetching_an_unknown_customer_is_resource_not_found(app: &TestApp) {
    let body = app
        .get("/customers/unknownCustomer1")
        .await
        .assert_error(404, "404-resource-not-found");
    assert_eq!(
        body["detail"],
        "Could not find a resource of type Customer with identifier: unknownCustomer1"
    );
    app.get("/customers/external_customer_id/nobody")
        .await
        .assert_error(404, "404-resource-not-found");
    app.put("/customers/unknownCustomer1", json!({"name": "X"}))
        .await
        .assert_error(404, "404-resource-not-found");
    app.put(
        "/customers/external_customer_id/nobody",
        json!({"name": "X"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
}

on_both_stores!(updating_a_customer_by_id_merges_metadata_and_a_null_value_removes_a_key);
/// PUT merges metadata: new keys are added, given keys overwritten, a null value removes a
/// key, absent keys stay; other fields change only when given.
async fn updating_a_customer_by_id_merges_metadata_and_a_null_value_removes_a_key(app: &TestApp) {
    let body = json!({
        "name": "A", "email": "a@example.com",
        "metadata": {"keep": "1", "change": "old", "remove": "x"}
    });
    let created = app.post("/customers", body).await.json();
    let id = id_of(&created);
    let updated = app
        .put(
            &format!("/customers/{id}"),
            json!({
                "name": "B", "metadata": {"change": "new", "remove": null, "add": "2"}
            }),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    let updated = updated.json();
    assert_eq!(updated["name"], "B");
    assert_eq!(updated["email"], "a@example.com", "untouched");
    assert_eq!(
        updated["metadata"],
        json!({"keep": "1", "change": "new", "add": "2"})
    );
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(
        app.get(&format!("/customers/{id}")).await.json(),
        updated,
        "the edit is stored"
    );
}

on_both_stores!(updating_a_customer_by_external_id_works_and_null_metadata_clears_it);
/// The same rules through the external id route; `metadata: null` clears every key.
async fn updating_a_customer_by_external_id_works_and_null_metadata_clears_it(app: &TestApp) {
    let created = app
        .post(
            "/customers",
            json!({
                "name": "A", "email": "a@example.com", "external_customer_id": "ext-put",
                "metadata": {"a": "1", "b": "2"}
            }),
        )
        .await
        .json();
    let merged = app
        .put(
            "/customers/external_customer_id/ext-put",
            json!({
                "email": "new@example.com", "metadata": {"a": null, "c": "3"}
            }),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK);
    let merged = merged.json();
    assert_eq!(merged["id"], created["id"]);
    assert_eq!(merged["email"], "new@example.com");
    assert_eq!(merged["metadata"], json!({"b": "2", "c": "3"}));

    let cleared = app
        .put(
            "/customers/external_customer_id/ext-put",
            json!({"metadata": null}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(cleared.json()["metadata"], json!({}));
    assert_eq!(cleared.json()["email"], "new@example.com");

    let untouched = app
        .put(&format!("/customers/{}", id_of(&created)), json!({}))
        .await;
    assert_eq!(untouched.status, StatusCode::OK);
    assert_eq!(
        untouched.json(),
        cleared.json(),
        "an empty edit changes nothing"
    );
}

on_both_stores!(updating_a_customer_with_invalid_values_is_a_validation_error);
/// Edits are validated like creation.
async fn updating_a_customer_with_invalid_values_is_a_validation_error(app: &TestApp) {
    let created = app.customer(None).await;
    let path = format!("/customers/{}", id_of(&created));
    app.put(&path, json!({"email": "nope"}))
        .await
        .assert_validation(&["email"]);
    app.put(&path, json!({"name": ""}))
        .await
        .assert_validation(&["name"]);
    app.put(&path, json!({"metadata": {"k": 1}}))
        .await
        .assert_validation(&["metadata.k"]);
    assert_eq!(app.get(&path).await.json(), created, "nothing changed");
}

on_both_stores!(the_customer_list_is_newest_first);
/// Newest first, in a page of the documented shape.
async fn the_customer_list_is_newest_first(app: &TestApp) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id_of(&app.customer(None).await));
        app.clock.advance(Duration::from_secs(5));
    }
    let response = app.get("/customers").await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(
        body["pagination_metadata"],
        json!({"has_more": false, "next_cursor": null})
    );
    let listed: Vec<String> = body["data"].as_array().unwrap().iter().map(id_of).collect();
    ids.reverse();
    assert_eq!(listed, ids);
}

on_both_stores!(paging_through_45_customers_in_pages_of_20_visits_each_exactly_once);
/// 45 customers in pages of 20: 20, 20, 5, each customer exactly once, and `has_more`
/// false with a null cursor exactly on the last page.
async fn paging_through_45_customers_in_pages_of_20_visits_each_exactly_once(app: &TestApp) {
    let mut created = HashSet::new();
    for _ in 0..45 {
        created.insert(id_of(&app.customer(None).await));
    }
    assert_pages_visit_each_once(app, "/customers?limit=20", &created, &[20, 20, 5]).await;
}

on_both_stores!(the_default_page_is_20_and_cursors_are_stable_while_rows_are_added);
/// The default page size is 20, and a cursor stays valid while rows are added.
async fn the_default_page_is_20_and_cursors_are_stable_while_rows_are_added(app: &TestApp) {
    for _ in 0..25 {
        app.customer(None).await;
    }
    let first = app.get("/customers").await.json();
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    assert_eq!(first["pagination_metadata"]["has_more"], true);
    let cursor = first["pagination_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let newcomer = app.customer(None).await;
    let second = app
        .get(&format!("/customers?cursor={}", encode(&cursor)))
        .await
        .json();
    let second_ids: Vec<String> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        second_ids.len(),
        5,
        "the newcomer does not shift the next page"
    );
    assert!(!second_ids.contains(&id_of(&newcomer)));
    assert_eq!(
        second["pagination_metadata"],
        json!({"has_more": false, "next_cursor": null})
    );
}

on_both_stores!(created_at_filters_bound_the_list);
/// `created_at[gte|gt|lt|lte]` bound the list, inclusive and exclusive as named.
async fn created_at_filters_bound_the_list(app: &TestApp) {
    let first = id_of(&app.customer(None).await);
    app.clock.advance(Duration::from_secs(3600));
    let middle = id_of(&app.customer(None).await);
    app.clock.advance(Duration::from_secs(3600));
    let last = id_of(&app.customer(None).await);
    let at = encode(&stored_created_at(app, &middle).await);

    assert_eq!(
        listed_ids(app, &format!("/customers?created_at[gte]={at}")).await,
        vec![last.clone(), middle.clone()]
    );
    assert_eq!(
        listed_ids(app, &format!("/customers?created_at[gt]={at}")).await,
        vec![last.clone()]
    );
    assert_eq!(
        listed_ids(app, &format!("/customers?created_at[lt]={at}")).await,
        vec![first.clone()]
    );
    assert_eq!(
        listed_ids(app, &format!("/customers?created_at[lte]={at}")).await,
        vec![middle.clone(), first.clone()]
    );
    assert_eq!(
        listed_ids(
            app,
            &format!("/customers?created_at[gt]={at}&created_at[lt]={at}")
        )
        .await,
        Vec::<String>::new()
    );
    let after_first = encode(&(stored_created_at(app, &first).await));
    assert_eq!(
        listed_ids(
            app,
            &format!("/customers?created_at[gt]={after_first}&created_at[lte]={at}")
        )
        .await,
        vec![middle.clone()]
    );
    // A bare date reads as midnight UTC: everything was created after 2000-01-01.
    assert_eq!(
        listed_ids(app, "/customers?created_at[gte]=2000-01-01")
            .await
            .len(),
        3
    );
}

on_both_stores!(created_at_filters_combine_with_pagination);
/// The date filters combine with pagination.
async fn created_at_filters_combine_with_pagination(app: &TestApp) {
    let early = id_of(&app.customer(None).await);
    app.clock.advance(Duration::from_secs(3600));
    let mut late = Vec::new();
    for _ in 0..5 {
        late.push(id_of(&app.customer(None).await));
    }
    let bound = encode(&stored_created_at(app, &late[0]).await);
    let first = app
        .get(&format!("/customers?limit=3&created_at[gte]={bound}"))
        .await
        .json();
    let cursor = first["pagination_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .get(&format!(
            "/customers?limit=3&created_at[gte]={bound}&cursor={}",
            encode(&cursor)
        ))
        .await
        .json();
    let mut seen: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    seen.extend(second["data"].as_array().unwrap().iter().map(id_of));
    late.reverse();
    assert_eq!(seen, late);
    assert!(!seen.contains(&early));
    assert_eq!(second["pagination_metadata"]["has_more"], false);
}

on_both_stores!(another_accounts_customers_are_not_listed);
/// Lists and lookups are per account.
async fn another_accounts_customers_are_not_listed(app: &TestApp) {
    app.customer(None).await;
    let theirs = app
        .call_as("other-account", axum::http::Method::GET, "/customers", None)
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.data().is_empty());
    assert_eq!(app.get("/customers").await.data().len(), 1);
}

on_both_stores!(an_edit_sets_currency_and_external_id_only_while_unset);
/// `currency` and `external_customer_id` can be set by an edit only while unset; the value
/// already there is accepted; a change is a constraint violation and changes nothing.
async fn an_edit_sets_currency_and_external_id_only_while_unset(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let path = format!("/customers/{id}");
    let set = app
        .put(
            &path,
            json!({"currency": "eur", "external_customer_id": "ext-set"}),
        )
        .await;
    assert_eq!(set.status, axum::http::StatusCode::OK);
    assert_eq!(set.json()["currency"], "EUR");
    assert_eq!(set.json()["external_customer_id"], "ext-set");
    let fetched = app.get("/customers/external_customer_id/ext-set").await;
    assert_eq!(fetched.json()["id"], id.as_str());

    let same = app
        .put(
            &path,
            json!({"currency": "EUR", "external_customer_id": "ext-set"}),
        )
        .await;
    assert_eq!(
        same.status,
        axum::http::StatusCode::OK,
        "the same values are a no-op"
    );

    let changed = app
        .put(&path, json!({"currency": "USD", "name": "Renamed"}))
        .await;
    let body = changed.assert_error(400, "400-constraint-violation");
    assert!(
        body["detail"].as_str().unwrap().contains("currency"),
        "{body}"
    );
    let changed = app
        .put(&path, json!({"external_customer_id": "ext-other"}))
        .await;
    changed.assert_error(400, "400-constraint-violation");
    let after = app.get(&path).await.json();
    assert_eq!(after["currency"], "EUR");
    assert_eq!(
        after["name"], customer["name"],
        "a refused edit changes nothing"
    );
}

on_both_stores!(an_edit_cannot_take_another_customers_external_id);
/// Setting an external id another live customer holds is a duplicate.
async fn an_edit_cannot_take_another_customers_external_id(app: &TestApp) {
    app.customer(Some("ext-taken")).await;
    let customer = app.customer(None).await;
    let path = format!("/customers/{}", customer["id"].as_str().unwrap());
    app.put(&path, json!({"external_customer_id": "ext-taken"}))
        .await
        .assert_error(400, "400-duplicate-resource-creation");
    app.put(&path, json!({"currency": "not a currency"}))
        .await
        .assert_validation(&["currency"]);
}

on_both_stores!(
    a_walk_over_250_customers_with_concurrent_inserts_visits_each_existing_customer_once
);
/// Cursors are stable while rows are added: walking 250 customers 30 at a time while a
/// writer keeps creating more visits every pre-existing customer exactly once, in
/// newest-first order, and none of the new ones (they are newer than any cursor).
async fn a_walk_over_250_customers_with_concurrent_inserts_visits_each_existing_customer_once(
    app: &TestApp,
) {
    let mut existing = Vec::new();
    for _ in 0..250 {
        existing.push(id_of(&app.customer(None).await));
    }
    existing.reverse(); // newest first
    let client = app.client();
    let writer = tokio::spawn(async move {
        let mut added = Vec::new();
        for i in 0..60 {
            let body = json!({"name": format!("Late {i}"), "email": "late@example.com"});
            let response = client
                .call_with(axum::http::Method::POST, "/customers", &[], Some(body))
                .await;
            added.push(id_of(&response.created()));
            tokio::task::yield_now().await;
        }
        added
    });
    let mut seen = Vec::new();
    let mut next = "/customers?limit=30".to_owned();
    loop {
        let body = app.get(&next).await.json();
        seen.extend(body["data"].as_array().unwrap().iter().map(id_of));
        match body["pagination_metadata"]["next_cursor"].as_str() {
            Some(cursor) => next = format!("/customers?limit=30&cursor={}", encode(cursor)),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    let added = writer.await.unwrap();
    let first_page_new: Vec<&String> = seen.iter().filter(|id| added.contains(id)).collect();
    // Only the first page, read before any cursor existed, may hold customers added during
    // the walk; every later page comes strictly after its cursor.
    let older: Vec<String> = seen
        .iter()
        .filter(|id| !added.contains(id))
        .cloned()
        .collect();
    assert_eq!(
        older, existing,
        "every pre-existing customer once, newest first"
    );
    assert!(
        first_page_new.len() <= 30,
        "new customers only on the first page"
    );
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no customer twice");
}
