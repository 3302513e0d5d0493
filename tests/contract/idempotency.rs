//! README, "Idempotency": idempotent POSTs.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{Persistent, TestApp};
use crate::on_both_stores;

fn new_customer() -> Value {
    json!({"name": "Grace Hopper", "email": "grace@example.com"})
}

async fn post_keyed(app: &TestApp, key: &str, body: Value) -> crate::common::TestResponse {
    app.call_with(
        Method::POST,
        "/customers",
        &[("idempotency-key", key)],
        Some(body),
    )
    .await
}

on_both_stores!(a_repeated_post_with_the_same_key_replays_the_first_answer);
/// The same key and payload again replays the stored answer; nothing runs twice.
async fn a_repeated_post_with_the_same_key_replays_the_first_answer(app: &TestApp) {
    let first = post_keyed(app, "key-replay-1", new_customer()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotency-key"), Some("key-replay-1"));
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = post_keyed(app, "key-replay-1", new_customer()).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.header("idempotency-key"), Some("key-replay-1"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(
        second.json(),
        first.json(),
        "the stored body, byte for byte"
    );
    let listed = crate::common::listed_ids(app, "/customers").await;
    assert_eq!(
        listed,
        [first.json()["id"].as_str().unwrap()],
        "one customer, not two"
    );
}

on_both_stores!(a_key_covers_both_spellings_of_a_path);
/// The /v1 spelling and the root spelling are the same request.
async fn a_key_covers_both_spellings_of_a_path(app: &TestApp) {
    let first = post_keyed(app, "key-spelling", new_customer()).await;
    let second = app
        .call_with(
            Method::POST,
            "/v1/customers",
            &[("idempotency-key", "key-spelling")],
            Some(new_customer()),
        )
        .await;
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.json()["id"], first.json()["id"]);
}

on_both_stores!(a_refused_post_is_replayed_as_refused);
/// A refusal (4xx) is an answer too: it is stored and replayed.
async fn a_refused_post_is_replayed_as_refused(app: &TestApp) {
    let bad = json!({"name": "No email"});
    let first = post_keyed(app, "key-refused", bad.clone()).await;
    first.assert_validation(&["email"]);
    let second = post_keyed(app, "key-refused", bad).await;
    second.assert_validation(&["email"]);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
}

on_both_stores!(reusing_a_key_with_another_payload_is_a_conflict);
/// Same key, different payload: 409, and the first request's result stands.
async fn reusing_a_key_with_another_payload_is_a_conflict(app: &TestApp) {
    let first = post_keyed(app, "key-mismatch", new_customer()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = json!({"name": "Someone else", "email": "else@example.com"});
    let second = post_keyed(app, "key-mismatch", other).await;
    let body = second.assert_error(409, "409-resource-conflict");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("different request"),
        "{body}"
    );
    assert_eq!(second.header("idempotency-key"), Some("key-mismatch"));
    assert_eq!(crate::common::listed_ids(app, "/customers").await.len(), 1);
}

on_both_stores!(reusing_a_key_on_another_route_is_a_conflict);
/// Same key on another route is another payload.
async fn reusing_a_key_on_another_route_is_a_conflict(app: &TestApp) {
    let customer = post_keyed(app, "key-route", new_customer()).await.created();
    let response = app
        .call_with(
            Method::POST,
            "/subscriptions",
            &[("idempotency-key", "key-route")],
            Some(json!({"customer_id": customer["id"], "plan_id": "plan_x"})),
        )
        .await;
    response.assert_error(409, "409-resource-conflict");
}

on_both_stores!(keys_are_per_account);
/// Keys belong to an account: another account's identical key runs its own request.
async fn keys_are_per_account(app: &TestApp) {
    let mine = post_keyed(app, "key-shared", new_customer())
        .await
        .created();
    let theirs = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/customers")
                .header("authorization", "Bearer another-account")
                .header("idempotency-key", "key-shared")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(new_customer().to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.json()["id"], mine["id"]);
}

on_both_stores!(concurrent_requests_with_one_key_run_exactly_once);
/// Two requests with one key, released together: exactly one runs, the other is told the
/// key is in flight (409) or, if it arrives after the first finished, gets the replay.
async fn concurrent_requests_with_one_key_run_exactly_once(app: &TestApp) {
    // Hold the first request inside its handler: a fault delay applies before the key is
    // claimed, so instead slow the store with many concurrent pairs and check the outcome.
    let client = app.client();
    for round in 0..10 {
        let key = format!("key-race-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let client = client.clone();
            let key = key.clone();
            let barrier = Arc::clone(&barrier);
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                client
                    .call_with(
                        Method::POST,
                        "/customers",
                        &[("idempotency-key", &key)],
                        Some(new_customer()),
                    )
                    .await
            }));
        }
        let mut executed = 0;
        let mut ids = Vec::new();
        for task in tasks {
            let response = task.await.unwrap();
            match response.status.as_u16() {
                201 if response.header("idempotent-replayed").is_none() => {
                    executed += 1;
                    ids.push(response.json()["id"].clone());
                }
                201 => ids.push(response.json()["id"].clone()),
                409 => {
                    let body = response.assert_error(409, "409-resource-conflict");
                    assert!(
                        body["detail"]
                            .as_str()
                            .unwrap()
                            .contains("still being processed"),
                        "{body}"
                    );
                }
                other => panic!(
                    "unexpected {other}: {}",
                    String::from_utf8_lossy(&response.bytes)
                ),
            }
        }
        assert_eq!(executed, 1, "round {round}: exactly one request ran");
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "round {round}: every 201 names the one customer"
        );
    }
    let listed = crate::common::listed_ids(app, "/customers?limit=100").await;
    assert_eq!(listed.len(), 10, "ten rounds, ten customers");
}

on_both_stores!(a_key_whose_request_is_in_flight_is_a_conflict);
/// A request still running holds its key: one stuck behind a slow handler makes the second
/// a 409, deterministically (the first is held by a latency fault *inside* the key's claim
/// window is not possible, so the key is claimed directly in the store).
async fn a_key_whose_request_is_in_flight_is_a_conflict(app: &TestApp) {
    let fingerprint = orb_mock::http::idempotency::fingerprint(
        &Method::POST,
        "/customers",
        None,
        new_customer().to_string().as_bytes(),
    );
    let claim = app
        .store
        .claim_idempotency_key(
            &app.account(),
            "key-inflight",
            &fingerprint,
            app.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(claim, orb_mock::store::KeyClaim::Execute);
    let response = post_keyed(app, "key-inflight", new_customer()).await;
    response.assert_error(409, "409-resource-conflict");
    assert_eq!(
        crate::common::listed_ids(app, "/customers").await.len(),
        0,
        "nothing ran"
    );
}

on_both_stores!(a_key_expires_after_48_hours);
/// After 48 h a key is forgotten: the same key runs the request again, and the sweep
/// deletes expired keys.
async fn a_key_expires_after_48_hours(app: &TestApp) {
    let first = post_keyed(app, "key-expiry", new_customer())
        .await
        .created();
    app.clock.advance(Duration::from_secs(47 * 3600));
    let replay = post_keyed(app, "key-expiry", new_customer()).await;
    assert_eq!(
        replay.header("idempotent-replayed"),
        Some("true"),
        "still remembered at 47 h"
    );
    app.clock.advance(Duration::from_secs(3600 + 1));
    let again = post_keyed(app, "key-expiry", new_customer()).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(
        again.header("idempotent-replayed"),
        None,
        "forgotten after 48 h"
    );
    assert_ne!(again.json()["id"], first["id"], "the request ran again");

    post_keyed(app, "key-to-sweep", new_customer())
        .await
        .created();
    app.clock.advance(Duration::from_secs(49 * 3600));
    let swept = app
        .store
        .sweep_idempotency_keys(app.clock.now())
        .await
        .unwrap();
    assert_eq!(swept, 2, "both keys are past 48 h");
    assert_eq!(
        app.store
            .idempotency_key_count(&app.account())
            .await
            .unwrap(),
        0
    );
}

on_both_stores!(a_key_over_64_characters_is_a_validation_error);
/// An over-long key is refused before anything runs, and echoed.
async fn a_key_over_64_characters_is_a_validation_error(app: &TestApp) {
    let key = "k".repeat(65);
    let response = post_keyed(app, &key, new_customer()).await;
    response.assert_validation(&["Idempotency-Key"]);
    assert_eq!(response.header("idempotency-key"), Some(key.as_str()));
    assert!(crate::common::listed_ids(app, "/customers")
        .await
        .is_empty());
    let ok = post_keyed(app, &"k".repeat(64), new_customer()).await;
    assert_eq!(ok.status, StatusCode::CREATED, "64 is allowed");
}

on_both_stores!(get_put_and_delete_echo_a_key_and_ignore_it);
/// GET, PUT and DELETE accept a key, echo it, and otherwise ignore it.
async fn get_put_and_delete_echo_a_key_and_ignore_it(app: &TestApp) {
    let customer = app.customer(None).await;
    let path = format!("/customers/{}", customer["id"].as_str().unwrap());
    for _ in 0..2 {
        let get = app
            .call_with(Method::GET, &path, &[("idempotency-key", "k-get")], None)
            .await;
        assert_eq!(get.status, StatusCode::OK);
        assert_eq!(get.header("idempotency-key"), Some("k-get"));
        assert_eq!(get.header("idempotent-replayed"), None);
    }
    let first = app
        .call_with(
            Method::PUT,
            &path,
            &[("idempotency-key", "k-put")],
            Some(json!({"name": "One"})),
        )
        .await;
    let second = app
        .call_with(
            Method::PUT,
            &path,
            &[("idempotency-key", "k-put")],
            Some(json!({"name": "Two"})),
        )
        .await;
    assert_eq!(first.json()["name"], "One");
    assert_eq!(
        second.json()["name"],
        "Two",
        "the second PUT ran: no 409, no replay"
    );
    assert_eq!(second.header("idempotency-key"), Some("k-put"));
    let delete = app
        .call_with(Method::DELETE, &path, &[("idempotency-key", "k-del")], None)
        .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert_eq!(delete.header("idempotency-key"), Some("k-del"));
    assert_eq!(
        app.store
            .idempotency_key_count(&app.account())
            .await
            .unwrap(),
        0,
        "no key stored"
    );
}

crate::on_both_persistent_stores!(a_post_that_fails_with_a_5xx_releases_its_key);
/// A 5xx is not stored: a keyed POST that times out (stuck behind a lock held outside
/// orb-mock) releases its key, and the retry runs the request.
async fn a_post_that_fails_with_a_5xx_releases_its_key(store: &Persistent) {
    let mut config = crate::common::test_config(&store.url);
    config.request_timeout = Duration::from_millis(300);
    let app = TestApp::with_config(store.kind, config, None).await;
    let blocker = store.hold_customer_inserts().await;
    let failed = post_keyed(&app, "key-5xx", new_customer()).await;
    failed.assert_error(500, "500-internal-server-error");
    assert_eq!(failed.header("idempotency-key"), Some("key-5xx"));
    drop(blocker);
    // The release of a timed-out request runs just after its answer.
    for _ in 0..200 {
        if app
            .store
            .idempotency_key_count(&app.account())
            .await
            .unwrap()
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let retry = post_keyed(&app, "key-5xx", new_customer()).await;
    assert_eq!(
        retry.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&retry.bytes)
    );
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(crate::common::listed_ids(&app, "/customers").await.len(), 1);
    app.stop().await;
}

on_both_stores!(an_abandoned_claim_is_taken_over);
/// A claim abandoned by a request that can no longer answer (it outlived the request
/// timeout, or its process died) is taken over by the retry.
async fn an_abandoned_claim_is_taken_over(app: &TestApp) {
    let fingerprint = orb_mock::http::idempotency::fingerprint(
        &Method::POST,
        "/customers",
        None,
        new_customer().to_string().as_bytes(),
    );
    app.store
        .claim_idempotency_key(
            &app.account(),
            "key-abandoned",
            &fingerprint,
            app.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    post_keyed(app, "key-abandoned", new_customer())
        .await
        .assert_error(409, "409-resource-conflict");
    app.clock
        .advance(app.config.request_timeout + Duration::from_secs(2));
    let retry = post_keyed(app, "key-abandoned", new_customer()).await;
    assert_eq!(retry.status, StatusCode::CREATED);
}
