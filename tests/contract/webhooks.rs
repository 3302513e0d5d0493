//! README, "Testing webhook handlers": Orb's `/webhook_endpoints` API, the events state changes
//! emit (a transactional outbox), and their signed, ordered, retried delivery.

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::{id_of, Receiver, TestApp};
use crate::on_both_stores;
use orb_mock::webhooks::sign;

/// Creates an endpoint and returns its JSON (with the secret).
async fn endpoint(app: &TestApp, body: Value) -> Value {
    app.post("/webhook_endpoints", body).await.created()
}

/// Delivers everything due now.
async fn flush(app: &TestApp) -> Value {
    let response = app.post("/_mock/webhooks/flush", json!({})).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

/// The types of the account's events, oldest first.
async fn event_types(app: &TestApp) -> Vec<String> {
    let events = app.get("/_mock/webhooks/events?limit=100").await.json();
    let mut types: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect();
    types.reverse();
    types
}

/// Asserts that a delivery is signed with `secret` as Orb signs: `v1=` HMAC-SHA256 of
/// `v1:{timestamp}:{body}`, the timestamp naive UTC with milliseconds, within a minute of now.
fn assert_signed(received: &crate::common::Received, secret: &str) {
    let stamp = received.header("x-orb-timestamp");
    let parsed = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap_or_else(|err| panic!("{stamp} is naive: {err}"));
    assert_eq!(stamp.len(), "2024-03-27T15:42:29.551".len(), "milliseconds");
    let skew = (chrono::Utc::now().naive_utc() - parsed)
        .num_seconds()
        .abs();
    assert!(skew < 60, "the timestamp is real time: {stamp}");
    assert_eq!(
        received.header("x-orb-signature"),
        format!("v1={}", sign::signature(secret, &stamp, &received.body))
    );
    assert_eq!(received.header("content-type"), "application/json");
}

on_both_stores!(an_endpoint_shows_its_secret_only_when_created);
/// `POST /webhook_endpoints` answers with the secret; no other route ever shows it again.
async fn an_endpoint_shows_its_secret_only_when_created(app: &TestApp) {
    let created = endpoint(
        app,
        json!({"url": "https://example.com/hooks", "enabled_event_types": ["customer.created"]}),
    )
    .await;
    let id = id_of(&created);
    assert!(created["secret"].as_str().is_some_and(|s| s.len() >= 32));
    assert_eq!(created["enabled"], true);
    assert_eq!(created["payload_style"], "expanded");
    assert_eq!(created["enabled_event_types"], json!(["customer.created"]));
    let path = format!("/webhook_endpoints/{id}");
    let fetched = app.get(&path).await.json();
    assert_eq!(fetched["url"], "https://example.com/hooks");
    let updated = app
        .put(
            &path,
            json!({"payload_style": "standard", "enabled_event_types": null}),
        )
        .await
        .json();
    assert_eq!(updated["payload_style"], "standard");
    assert_eq!(updated["enabled_event_types"], Value::Null);
    assert_eq!(
        updated["url"], "https://example.com/hooks",
        "left as it was"
    );
    let disabled = app.post(&format!("{path}/disable"), json!({})).await.json();
    assert_eq!(disabled["enabled"], false);
    let enabled = app.post(&format!("{path}/enable"), json!({})).await.json();
    assert_eq!(enabled["enabled"], true);
    let listed = app.get("/webhook_endpoints").await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["pagination_metadata"]["has_more"], false);
    for body in [
        fetched,
        updated,
        disabled,
        enabled,
        listed["data"][0].clone(),
    ] {
        assert!(body.get("secret").is_none(), "no secret in {body}");
    }
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 204);
    app.get(&path)
        .await
        .assert_error(404, "404-resource-not-found");
    app.delete(&path)
        .await
        .assert_error(404, "404-resource-not-found");
}

on_both_stores!(a_bad_endpoint_is_refused_naming_each_field);
/// Orb's validation: an `http(s)` URL, known event types, a known payload style.
async fn a_bad_endpoint_is_refused_naming_each_field(app: &TestApp) {
    app.post("/webhook_endpoints", json!({}))
        .await
        .assert_validation(&["url"]);
    app.post(
        "/webhook_endpoints",
        json!({
            "url": "ftp://example.com",
            "enabled_event_types": ["customer.created", "customer.exploded"],
            "payload_style": "fancy"
        }),
    )
    .await
    .assert_validation(&["url", "enabled_event_types[1]", "payload_style"]);
    app.post("/webhook_endpoints", json!({"url": "not a url"}))
        .await
        .assert_validation(&["url"]);
    assert!(event_types(app).await.is_empty());
}

on_both_stores!(an_account_has_at_most_twenty_endpoints);
async fn an_account_has_at_most_twenty_endpoints(app: &TestApp) {
    for n in 0..20 {
        endpoint(app, json!({"url": format!("http://127.0.0.1:9/{n}")})).await;
    }
    let refused = app
        .post(
            "/webhook_endpoints",
            json!({"url": "http://127.0.0.1:9/21"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let page = app.get("/webhook_endpoints?limit=100").await.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 20);
}

on_both_stores!(changes_emit_events_whether_or_not_an_endpoint_exists);
/// Every modelled change emits its event, listed by `GET /_mock/webhooks/events` with no
/// endpoint configured; a deletion emits nothing (Orb has no deletion event).
async fn changes_emit_events_whether_or_not_an_endpoint_exists(app: &TestApp) {
    let customer = id_of(&app.customer(Some("ext-1")).await);
    app.put(&format!("/customers/{customer}"), json!({"name": "Grace"}))
        .await;
    let invoice = id_of(&app.invoice(&customer, false).await);
    app.post(&format!("/invoices/{invoice}/issue"), json!({}))
        .await;
    app.post(&format!("/invoices/{invoice}/void"), json!({}))
        .await;
    let paid = id_of(&app.invoice(&customer, true).await);
    app.post(
        &format!("/invoices/{paid}/mark_paid"),
        json!({"payment_received_date": "2026-11-30", "notes": "by wire"}),
    )
    .await;
    let subscription = id_of(&app.subscription(&customer).await);
    app.post(
        &format!("/subscriptions/{subscription}/cancel"),
        json!({"cancel_option": "end_of_subscription_term"}),
    )
    .await;
    let other = id_of(&app.subscription(&customer).await);
    app.post(
        &format!("/subscriptions/{other}/cancel"),
        json!({"cancel_option": "immediate"}),
    )
    .await;
    let bare = id_of(&app.customer(None).await);
    app.delete_customer(&bare).await;
    app.finish_deletions().await;
    assert_eq!(
        event_types(app).await,
        [
            "customer.created",
            "customer.edited",
            "invoice.issued",
            "invoice.manually_marked_as_void",
            "invoice.issued",
            "invoice.manually_marked_as_paid",
            "subscription.created",
            "subscription.started",
            "subscription.cancellation_scheduled",
            "subscription.created",
            "subscription.started",
            "subscription.ended",
            "customer.created",
        ]
    );
    let events = app.get("/_mock/webhooks/events").await.json();
    let newest_paid = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "invoice.manually_marked_as_paid")
        .unwrap()
        .clone();
    assert_eq!(newest_paid["invoice"]["id"], paid.as_str());
    assert_eq!(newest_paid["invoice"]["status"], "paid");
    assert_eq!(newest_paid["properties"]["notes"], "by wire");
    assert_eq!(
        newest_paid["properties"]["payment_received_date"],
        "2026-11-30T00:00:00+00:00"
    );
    let edited = app
        .get("/_mock/webhooks/events?type=customer.edited")
        .await
        .json();
    let edited = &edited["data"][0];
    assert_eq!(edited["customer"]["name"], "Grace");
    assert_eq!(
        edited["properties"],
        json!({"previous_attributes": {"name": "Ada Lovelace"}})
    );
    assert_eq!(edited["payload_style"], "expanded");
    assert!(edited["created_at"]
        .as_str()
        .is_some_and(|at| at.ends_with("+00:00") && !at.contains('.')));
}

on_both_stores!(a_refused_or_forced_or_faulted_request_emits_nothing);
/// Events exist only for changes that commit: a refused request, a `Prefer` answer, an
/// injected fault, an edit that changes nothing and an idempotent replay emit nothing.
async fn a_refused_or_forced_or_faulted_request_emits_nothing(app: &TestApp) {
    let customer = id_of(&app.customer(Some("taken")).await);
    let baseline = event_types(app).await.len();
    app.post("/customers", json!({"name": "No email"}))
        .await
        .assert_validation(&["email"]);
    // Refused inside the transaction: the external id is taken.
    let other = id_of(&app.customer(None).await);
    let baseline = baseline + 1;
    app.put(
        &format!("/customers/{other}"),
        json!({"external_customer_id": "taken"}),
    )
    .await
    .assert_error(400, "400-duplicate-resource-creation");
    app.call_with(
        Method::POST,
        "/customers",
        &[("prefer", "code=500")],
        Some(json!({"name": "P", "email": "p@example.com"})),
    )
    .await
    .assert_orb_error(500);
    app.post(
        "/_mock/faults",
        json!({"path": "/customers", "method": "POST", "status": 500, "times": 1}),
    )
    .await
    .created();
    app.post("/customers", json!({"name": "F", "email": "f@example.com"}))
        .await
        .assert_orb_error(500);
    app.put(
        &format!("/customers/{customer}"),
        json!({"name": "Ada Lovelace"}),
    )
    .await;
    let body = json!({"name": "Once", "email": "once@example.com"});
    for _ in 0..2 {
        app.call_with(
            Method::POST,
            "/customers",
            &[("idempotency-key", "emit-once")],
            Some(body.clone()),
        )
        .await;
    }
    assert_eq!(
        event_types(app).await.len(),
        baseline + 1,
        "only the keyed create"
    );
}

on_both_stores!(a_scenario_is_delivered_signed_in_each_endpoints_style);
/// The events of a real scenario reach an expanded and a standard endpoint, each signed with
/// its own secret, in the order of the changes, with the resource in that endpoint's style.
async fn a_scenario_is_delivered_signed_in_each_endpoints_style(app: &TestApp) {
    let receiver = Receiver::start().await;
    let expanded = endpoint(app, json!({"url": receiver.url})).await;
    let standard_receiver = Receiver::start().await;
    let standard = endpoint(
        app,
        json!({"url": standard_receiver.url, "payload_style": "standard"}),
    )
    .await;
    let customer = id_of(&app.customer(None).await);
    let invoice = id_of(&app.invoice(&customer, true).await);
    app.post(&format!("/invoices/{invoice}/void"), json!({}))
        .await;
    let subscription = id_of(&app.subscription(&customer).await);
    app.post(
        &format!("/subscriptions/{subscription}/cancel"),
        json!({"cancel_option": "immediate"}),
    )
    .await;
    let flushed = flush(app).await;
    assert_eq!(flushed["delivered"], 12);
    assert_eq!(flushed["retrying"], 0);
    let expected = [
        "customer.created",
        "invoice.issued",
        "invoice.manually_marked_as_void",
        "subscription.created",
        "subscription.started",
        "subscription.ended",
    ];
    for (receiver, endpoint, style) in [
        (&receiver, &expanded, "expanded"),
        (&standard_receiver, &standard, "standard"),
    ] {
        let received = receiver.received();
        let types: Vec<Value> = received.iter().map(|r| r.json()["type"].clone()).collect();
        assert_eq!(types, expected.map(Value::from).to_vec(), "{style}");
        for delivery in &received {
            assert_signed(delivery, endpoint["secret"].as_str().unwrap());
            assert_eq!(delivery.json()["payload_style"], style);
        }
    }
    let issued = &receiver.bodies()[1];
    assert!(
        issued["invoice"]["line_items"].is_array(),
        "expanded: in full"
    );
    assert_eq!(issued["properties"]["automatically_marked_as_paid"], false);
    let issued = &standard_receiver.bodies()[1];
    assert!(
        issued["invoice"].get("line_items").is_none(),
        "standard: summary"
    );
    assert_eq!(issued["invoice"]["customer"]["id"], customer.as_str());
    let ended = &standard_receiver.bodies()[5];
    assert_eq!(
        ended["subscription"]["customer"],
        json!({"id": customer, "external_customer_id": null})
    );
    assert_eq!(ended["subscription"]["status"], "ended");
    let ended = &receiver.bodies()[5];
    assert_eq!(ended["subscription"]["customer"]["name"], "Ada Lovelace");
    // The same ids as the outbox lists.
    let listed = app.get("/_mock/webhooks/events").await.json();
    assert_eq!(listed["data"][0]["id"], receiver.bodies()[5]["id"]);
    assert_eq!(listed["data"][0]["id"], standard_receiver.bodies()[5]["id"]);
}

on_both_stores!(a_disabled_endpoint_or_one_that_leaves_the_type_out_gets_nothing);
async fn a_disabled_endpoint_or_one_that_leaves_the_type_out_gets_nothing(app: &TestApp) {
    let receiver = Receiver::start().await;
    let picky = endpoint(
        app,
        json!({"url": receiver.url, "enabled_event_types": ["invoice.issued"]}),
    )
    .await;
    let disabled_receiver = Receiver::start().await;
    let disabled = endpoint(app, json!({"url": disabled_receiver.url})).await;
    app.post(
        &format!("/webhook_endpoints/{}/disable", id_of(&disabled)),
        json!({}),
    )
    .await;
    let customer = id_of(&app.customer(None).await);
    app.invoice(&customer, true).await;
    flush(app).await;
    let types: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["type"].clone())
        .collect();
    assert_eq!(types, [json!("invoice.issued")]);
    assert!(disabled_receiver.received().is_empty());
    let _ = picky;
}

on_both_stores!(a_failing_receiver_gets_the_same_event_id_until_it_answers_2xx);
/// Retries: 500, 500, then 200: the same event id three times, and three attempts listed.
async fn a_failing_receiver_gets_the_same_event_id_until_it_answers_2xx(app: &TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 500]);
    endpoint(app, json!({"url": receiver.url})).await;
    app.customer(None).await;
    let flushed = flush(app).await;
    assert_eq!(flushed["delivered"], 1);
    let ids: Vec<Value> = receiver.bodies().iter().map(|b| b["id"].clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let attempts = app.get("/_mock/webhooks/deliveries").await.json();
    let attempts = attempts["data"].as_array().unwrap();
    let summary: Vec<(i64, Value, bool)> = attempts
        .iter()
        .rev()
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap(),
                a["status"].clone(),
                a["succeeded"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, json!(500), false),
            (2, json!(500), false),
            (3, json!(200), true)
        ]
    );
    assert!(attempts.iter().all(|a| a["event_id"] == ids[0]));
    assert!(attempts[2]["error"].as_str().unwrap().contains("500"));
}

on_both_stores!(a_receiver_that_is_down_is_retried_and_the_attempt_says_why);
async fn a_receiver_that_is_down_is_retried_and_the_attempt_says_why(app: &TestApp) {
    // Port 9 (discard) is closed on a test machine: the connection is refused.
    endpoint(app, json!({"url": "http://127.0.0.1:9/hooks"})).await;
    app.customer(None).await;
    let flushed = flush(app).await;
    assert_eq!(flushed["delivered"], 0);
    let attempts = app.get("/_mock/webhooks/deliveries").await.json();
    let attempt = &attempts["data"][0];
    assert_eq!(attempt["status"], Value::Null);
    assert_eq!(attempt["succeeded"], false);
    assert!(attempt["error"].as_str().is_some_and(|e| !e.is_empty()));
}

on_both_stores!(a_hundred_events_arrive_in_the_order_of_their_changes);
async fn a_hundred_events_arrive_in_the_order_of_their_changes(app: &TestApp) {
    let receiver = Receiver::start().await;
    endpoint(app, json!({"url": receiver.url})).await;
    let customer = id_of(&app.customer(None).await);
    for n in 0..99 {
        app.put(
            &format!("/customers/{customer}"),
            json!({"metadata": {"n": n.to_string()}}),
        )
        .await;
    }
    flush(app).await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 100);
    assert_eq!(bodies[0]["type"], "customer.created");
    for (n, body) in bodies[1..].iter().enumerate() {
        assert_eq!(
            body["customer"]["metadata"]["n"],
            n.to_string(),
            "event {n}"
        );
    }
}

on_both_stores!(the_test_event_and_a_resend_carry_the_same_shape_and_id);
async fn the_test_event_and_a_resend_carry_the_same_shape_and_id(app: &TestApp) {
    let receiver = Receiver::start().await;
    let created = endpoint(app, json!({"url": receiver.url})).await;
    let test = app.post("/_mock/webhooks/test", json!({})).await.created();
    assert_eq!(test["type"], "resource_event.test");
    assert_eq!(
        test["properties"]["message"],
        "A test webhook from Orb. Happy testing!"
    );
    let resent = app
        .post(
            &format!(
                "/_mock/webhooks/events/{}/resend",
                test["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(resent.status, 200, "{}", resent.text());
    assert_eq!(resent.json()["queued"], 1);
    flush(app).await;
    let ids: Vec<Value> = receiver.bodies().iter().map(|b| b["id"].clone()).collect();
    assert_eq!(ids, [test["id"].clone(), test["id"].clone()]);
    for delivery in receiver.received() {
        assert_signed(&delivery, created["secret"].as_str().unwrap());
    }
    app.post("/_mock/webhooks/events/nope/resend", json!({}))
        .await
        .assert_error(404, "404-resource-not-found");
    app.post("/_mock/webhooks/test", json!({"endpoint_id": "nope"}))
        .await
        .assert_error(404, "404-resource-not-found");
}

on_both_stores!(reset_clears_endpoints_events_and_deliveries);
async fn reset_clears_endpoints_events_and_deliveries(app: &TestApp) {
    let receiver = Receiver::start().await;
    endpoint(app, json!({"url": receiver.url})).await;
    app.customer(None).await;
    flush(app).await;
    assert_eq!(app.post("/_mock/reset", json!({})).await.status, 204);
    let endpoints = app.get("/webhook_endpoints").await.json();
    assert_eq!(endpoints["data"], json!([]));
    assert!(event_types(app).await.is_empty());
    let attempts = app.get("/_mock/webhooks/deliveries").await.json();
    assert_eq!(attempts["data"], json!([]));
}

on_both_stores!(the_configured_endpoint_is_every_accounts_from_the_start);
/// `--webhook-url` and `--webhook-secret`: every account has that endpoint, lists it, and
/// gets its events signed with that secret; a reset brings it back.
async fn the_configured_endpoint_is_every_accounts_from_the_start(app: &TestApp) {
    let receiver = Receiver::start().await;
    let url = receiver.url.clone();
    let configured = TestApp::configured(app.kind, |config| {
        config.webhook_url = Some(url);
        config.webhook_secret = Some("compose-secret".into());
    })
    .await;
    let listed = configured.get("/webhook_endpoints").await.json();
    assert_eq!(listed["data"][0]["url"], receiver.url.as_str());
    configured.customer(None).await;
    configured
        .call_as(
            "another-account",
            Method::POST,
            "/customers",
            Some(json!({"name": "B", "email": "b@example.com"})),
        )
        .await;
    let response = configured.post("/_mock/webhooks/flush", json!({})).await;
    assert_eq!(response.json()["delivered"], 1);
    configured
        .call_as(
            "another-account",
            Method::POST,
            "/_mock/webhooks/flush",
            Some(json!({})),
        )
        .await;
    assert_eq!(receiver.received().len(), 2);
    for delivery in receiver.received() {
        assert_signed(&delivery, "compose-secret");
    }
    configured.post("/_mock/reset", json!({})).await;
    let listed = configured.get("/webhook_endpoints").await.json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    configured.stop().await;
}

on_both_stores!(the_trigger_that_fans_events_out_exists_by_the_name_the_code_relies_on);
/// An event's deliveries are queued by a trigger; it exists, on both stores, by the name the
/// code gives it.
async fn the_trigger_that_fans_events_out_exists_by_the_name_the_code_relies_on(app: &TestApp) {
    let name = orb_mock::store::FANS_OUT_EVENTS;
    assert!(
        app.store.trigger_exists(name).await.unwrap(),
        "trigger {name} exists"
    );
}

/// Sends `bodies` to `path` with `method` all at once; answers in the order of `bodies`.
async fn all_at_once(
    app: &TestApp,
    method: Method,
    path: &str,
    bodies: Vec<Value>,
) -> Vec<crate::common::TestResponse> {
    let mut tasks = tokio::task::JoinSet::new();
    for (at, body) in bodies.into_iter().enumerate() {
        let (client, method, path) = (app.client(), method.clone(), path.to_owned());
        tasks.spawn(async move { (at, client.call(method, &path, Some(body)).await) });
    }
    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(at, _)| *at);
    answers.into_iter().map(|(_, response)| response).collect()
}

on_both_stores!(concurrent_edits_of_one_customer_all_land_each_with_its_event);
/// Edits sent together (on SQLite they share one transaction) each apply on top of the one
/// before: every metadata key lands, and each edit emits its own `customer.edited`.
async fn concurrent_edits_of_one_customer_all_land_each_with_its_event(app: &TestApp) {
    let customer = id_of(&app.customer(None).await);
    let bodies = (0..40)
        .map(|n| json!({"metadata": {format!("key_{n}"): format!("value_{n}")}}))
        .collect();
    let path = format!("/customers/{customer}");
    for response in all_at_once(app, Method::PUT, &path, bodies).await {
        assert_eq!(response.status, 200, "{}", response.text());
    }
    let stored = app.get(&path).await.json();
    for n in 0..40 {
        assert_eq!(stored["metadata"][format!("key_{n}")], format!("value_{n}"));
    }
    let types = event_types(app).await;
    assert_eq!(types.iter().filter(|t| *t == "customer.edited").count(), 40);
}

on_both_stores!(concurrent_creations_sharing_an_external_id_make_one_customer_and_one_event);
/// Creations sent together where half share one `external_customer_id`: one of those wins,
/// the others are refused as taken and leave no event, and the rest are unaffected.
async fn concurrent_creations_sharing_an_external_id_make_one_customer_and_one_event(
    app: &TestApp,
) {
    let bodies = (0..40)
        .map(|n| {
            let external = if n % 2 == 0 {
                "shared".to_owned()
            } else {
                format!("own-{n}")
            };
            json!({"name": format!("C{n}"), "email": "c@example.com",
                   "external_customer_id": external})
        })
        .collect();
    let answers = all_at_once(app, Method::POST, "/customers", bodies).await;
    let mut created = Vec::new();
    for (n, response) in answers.iter().enumerate() {
        if n % 2 == 1 || response.status == 201 {
            assert_eq!(response.status, 201, "{}", response.text());
            created.push(id_of(&response.json()));
        } else {
            assert_eq!(response.status, 400, "{}", response.text());
            assert_eq!(
                response.json()["type"],
                "https://docs.withorb.com/reference/error-responses#400-duplicate-resource-creation"
            );
        }
    }
    assert_eq!(created.len(), 21, "twenty own ids and one shared");
    let events = app.get("/_mock/webhooks/events?limit=100").await.json();
    let mut announced: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["customer"]["id"].as_str().unwrap().to_owned())
        .collect();
    announced.sort();
    created.sort();
    assert_eq!(announced, created, "one customer.created per customer made");
}
