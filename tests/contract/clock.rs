//! README, "Moving time": a clock per account. Moving it forward runs what the account's time
//! made due (deletions, subscription starts and ends, their events) before the move answers;
//! everything timed in the account follows it; it only moves forward, survives a restart, and
//! is shared by the processes on one PostgreSQL.

use std::time::Duration;

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::common::{poll_until, Persistent, TestApp, DELAY};
use crate::{on_both_persistent_stores, on_both_stores};

fn instant(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is a timestamp"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text} is RFC 3339: {err}"))
        .with_timezone(&Utc)
}

/// Moves the default account's clock, asserting a 200, and answers the move's body.
async fn move_clock(app: &TestApp, body: Value) -> Value {
    let response = app.post("/_mock/clock", body).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

/// The account's time as `GET /_mock/clock` reads it.
async fn account_now(app: &TestApp) -> DateTime<Utc> {
    let clock = app.get("/_mock/clock").await;
    assert_eq!(clock.status, 200, "{}", clock.text());
    instant(&clock.json()["now"])
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("{list} is a list"))
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// The account's events of one type, newest first.
async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    app.get(&format!("/_mock/webhooks/events?type={kind}"))
        .await
        .data()
}

/// Creates a subscription of `customer_id` whose `date` (`start_date` or `end_date`) is `after`
/// from now on the app's real clock.
async fn subscription_with(
    app: &TestApp,
    customer_id: &str,
    date: &str,
    after: chrono::Duration,
) -> Value {
    let at = (app.clock.now() + after).to_rfc3339();
    app.post(
        "/subscriptions",
        json!({"customer_id": customer_id, "plan_id": "plan_basic", date: at}),
    )
    .await
    .created()
}

on_both_stores!(the_clock_reads_real_time_until_it_is_moved);
async fn the_clock_reads_real_time_until_it_is_moved(app: &TestApp) {
    let clock = app.get("/_mock/clock").await.json();
    assert_eq!(clock["real_time"], true, "{clock}");
    assert_eq!(clock["frozen"], false);
    let skew = (instant(&clock["now"]) - app.clock.now())
        .num_seconds()
        .abs();
    assert!(skew <= 1, "real time: {clock}");
    let moved = move_clock(app, json!({"advance": "30d"})).await;
    assert_eq!(moved["real_time"], false, "{moved}");
    let ahead = instant(&moved["now"]) - app.clock.now();
    assert!(
        (ahead - chrono::Duration::days(30)).num_seconds().abs() <= 1,
        "30 days ahead: {moved}"
    );
}

on_both_stores!(new_resources_and_their_events_carry_the_accounts_time);
/// `created_at` of customers, subscriptions, invoices and events follows the account's clock.
async fn new_resources_and_their_events_carry_the_accounts_time(app: &TestApp) {
    move_clock(app, json!({"to": "2031-03-04T05:06:07Z", "freeze": true})).await;
    let customer = app.customer(None).await;
    let frozen: DateTime<Utc> = "2031-03-04T05:06:07Z".parse().unwrap();
    assert_eq!(instant(&customer["created_at"]), frozen, "{customer}");
    let id = customer["id"].as_str().unwrap();
    let subscription = app.subscription(id).await;
    assert_eq!(instant(&subscription["created_at"]), frozen);
    assert_eq!(instant(&subscription["start_date"]), frozen);
    assert_eq!(
        instant(&subscription["current_billing_period_end_date"]),
        "2031-04-04T05:06:07Z".parse::<DateTime<Utc>>().unwrap()
    );
    let invoice = app.invoice(id, false).await;
    assert_eq!(instant(&invoice["created_at"]), frozen, "{invoice}");
    let created = events_of(app, "customer.created").await;
    assert_eq!(instant(&created[0]["created_at"]), frozen);
}

on_both_stores!(a_move_backwards_and_a_malformed_move_are_refused_naming_the_field);
async fn a_move_backwards_and_a_malformed_move_are_refused_naming_the_field(app: &TestApp) {
    move_clock(app, json!({"advance": "1d"})).await;
    let yesterday = (app.clock.now() - chrono::Duration::days(1)).to_rfc3339();
    app.post("/_mock/clock", json!({"to": yesterday}))
        .await
        .assert_validation(&["to"]);
    app.post("/_mock/clock", json!({"advance": "soon"}))
        .await
        .assert_validation(&["advance"]);
    app.post("/_mock/clock", json!({"advance": -5}))
        .await
        .assert_validation(&["advance"]);
    app.post("/_mock/clock", json!({"advance": "1d", "to": "2099-01-01"}))
        .await
        .assert_validation(&["advance", "to"]);
    app.post("/_mock/clock", json!({"freeze": "yes", "rewind": true}))
        .await
        .assert_validation(&["freeze", "rewind"]);
    app.post("/_mock/clock", json!({}))
        .await
        .assert_validation(&["body"]);
    app.post("/_mock/clock", json!({"advance": "100000000d"}))
        .await
        .assert_validation(&["advance"]);
    // Nothing moved: still one day ahead.
    let ahead = account_now(app).await - app.clock.now();
    assert!((ahead - chrono::Duration::days(1)).num_seconds().abs() <= 1);
}

on_both_stores!(
    a_subscription_ends_when_the_clock_passes_its_end_date_and_emits_subscription_ended
);
async fn a_subscription_ends_when_the_clock_passes_its_end_date_and_emits_subscription_ended(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let subscription =
        subscription_with(app, customer_id, "end_date", chrono::Duration::days(30)).await;
    assert_eq!(subscription["status"], "active");
    let id = subscription["id"].as_str().unwrap();
    let moved = move_clock(app, json!({"advance": "31d"})).await;
    assert_eq!(ids(&moved["ran"]["subscriptions_ended"]), [id], "{moved}");
    let ended = app.get(&format!("/subscriptions/{id}")).await.json();
    assert_eq!(ended["status"], "ended", "{ended}");
    let events = events_of(app, "subscription.ended").await;
    assert_eq!(events.len(), 1);
    // Emitted at the end date, on the account's clock, and listed by the move.
    assert_eq!(
        instant(&events[0]["created_at"]).timestamp(),
        instant(&ended["end_date"]).timestamp()
    );
    assert!(instant(&events[0]["created_at"]) > app.clock.now() + chrono::Duration::days(29));
    let listed: Vec<&str> = moved["ran"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [events[0]["id"].as_str().unwrap()]);
    // A second move runs nothing again.
    let again = move_clock(app, json!({"advance": "31d"})).await;
    assert_eq!(again["ran"]["subscriptions_ended"], json!([]));
    assert_eq!(events_of(app, "subscription.ended").await.len(), 1);
}

on_both_stores!(an_upcoming_subscription_starts_when_the_clock_passes_its_start_date);
async fn an_upcoming_subscription_starts_when_the_clock_passes_its_start_date(app: &TestApp) {
    let customer = app.customer(None).await;
    let customer_id = customer["id"].as_str().unwrap();
    let subscription =
        subscription_with(app, customer_id, "start_date", chrono::Duration::days(10)).await;
    assert_eq!(subscription["status"], "upcoming");
    assert!(events_of(app, "subscription.started").await.is_empty());
    let id = subscription["id"].as_str().unwrap();
    let early = move_clock(app, json!({"advance": "9d"})).await;
    assert_eq!(early["ran"]["subscriptions_started"], json!([]), "{early}");
    let moved = move_clock(app, json!({"advance": "2d"})).await;
    assert_eq!(ids(&moved["ran"]["subscriptions_started"]), [id]);
    let started = app.get(&format!("/subscriptions/{id}")).await.json();
    assert_eq!(started["status"], "active");
    let events = events_of(app, "subscription.started").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        instant(&events[0]["created_at"]).timestamp(),
        instant(&started["start_date"]).timestamp()
    );
}

on_both_stores!(a_deletion_is_complete_when_an_advance_past_its_delay_returns);
async fn a_deletion_is_complete_when_an_advance_past_its_delay_returns(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let subscription = app.subscription(id).await;
    app.delete_customer(id).await;
    let deleting = app.get(&format!("/customers/{id}")).await.json();
    assert_eq!(deleting["deleted"], true);
    let delay = format!("{}s", DELAY.as_secs() + 1);
    let moved = move_clock(app, json!({"advance": delay})).await;
    assert_eq!(ids(&moved["ran"]["deletions_completed"]), [id], "{moved}");
    assert_eq!(app.get(&format!("/customers/{id}")).await.status, 404);
    let sub_id = subscription["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/subscriptions/{sub_id}")).await.status,
        404
    );
}

on_both_stores!(a_deleted_customers_subscription_end_never_happens);
/// The cascade cancels the starts and ends still to come of the customer's subscriptions,
/// whichever comes first in one move.
async fn a_deleted_customers_subscription_end_never_happens(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let twice_the_delay = chrono::Duration::from_std(DELAY * 2).unwrap();
    let subscription = subscription_with(app, id, "end_date", twice_the_delay).await;
    app.delete_customer(id).await;
    let moved = move_clock(app, json!({"advance": "30d"})).await;
    assert_eq!(ids(&moved["ran"]["deletions_completed"]), [id]);
    assert_eq!(moved["ran"]["subscriptions_ended"], json!([]), "{moved}");
    assert!(events_of(app, "subscription.ended").await.is_empty());
    let sub_id = subscription["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/subscriptions/{sub_id}")).await.status,
        404
    );
}

on_both_stores!(an_end_ahead_of_a_deletion_happens_first_within_one_move);
/// Within one move, due work runs in the order it falls due across the queues: an end before
/// the deletion's due time ends the subscription, then the cascade removes it.
async fn an_end_ahead_of_a_deletion_happens_first_within_one_move(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let half_the_delay = chrono::Duration::from_std(DELAY / 2).unwrap();
    let subscription = subscription_with(app, id, "end_date", half_the_delay).await;
    app.delete_customer(id).await;
    let moved = move_clock(app, json!({"advance": "2d"})).await;
    assert_eq!(
        ids(&moved["ran"]["subscriptions_ended"]),
        [subscription["id"].as_str().unwrap()],
        "{moved}"
    );
    assert_eq!(ids(&moved["ran"]["deletions_completed"]), [id]);
    let kinds: Vec<&str> = moved["ran"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["subscription.ended"]);
}

on_both_stores!(a_cancellation_at_the_end_of_term_ends_the_subscription_when_the_clock_gets_there);
async fn a_cancellation_at_the_end_of_term_ends_the_subscription_when_the_clock_gets_there(
    app: &TestApp,
) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let subscription = subscription_with(app, id, "end_date", chrono::Duration::days(300)).await;
    let sub_id = subscription["id"].as_str().unwrap();
    let cancelled = app
        .post(
            &format!("/subscriptions/{sub_id}/cancel"),
            json!({"cancel_option": "end_of_subscription_term"}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    let term_end = instant(&cancelled.json()["end_date"]);
    assert!(term_end < app.clock.now() + chrono::Duration::days(32));
    let moved = move_clock(app, json!({"advance": "32d"})).await;
    assert_eq!(ids(&moved["ran"]["subscriptions_ended"]), [sub_id]);
    let ended = app.get(&format!("/subscriptions/{sub_id}")).await.json();
    assert_eq!(ended["status"], "ended");
    assert_eq!(instant(&ended["end_date"]), term_end);
    // The end date first given was replaced: nothing more happens at day 300.
    let later = move_clock(app, json!({"advance": "300d"})).await;
    assert_eq!(later["ran"]["subscriptions_ended"], json!([]));
    assert_eq!(events_of(app, "subscription.ended").await.len(), 1);
}

on_both_stores!(a_frozen_clock_stands_still_and_restarts_from_where_it_stopped);
async fn a_frozen_clock_stands_still_and_restarts_from_where_it_stopped(app: &TestApp) {
    let frozen = move_clock(app, json!({"freeze": true})).await;
    assert_eq!(frozen["frozen"], true);
    let at = instant(&frozen["now"]);
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(account_now(app).await, at);
    let customer = app.customer(None).await;
    assert_eq!(instant(&customer["created_at"]), at);
    let advanced = move_clock(app, json!({"advance": "1h"})).await;
    assert_eq!(advanced["frozen"], true, "a frozen clock stays frozen");
    assert_eq!(instant(&advanced["now"]), at + chrono::Duration::hours(1));
    let running = move_clock(app, json!({"freeze": false})).await;
    assert_eq!(running["frozen"], false);
    app.clock.advance(Duration::from_secs(60));
    let now = account_now(app).await;
    assert!(now >= at + chrono::Duration::minutes(61), "{now}");
    assert!(now < at + chrono::Duration::minutes(62), "{now}");
}

on_both_stores!(a_reset_returns_the_clock_to_real_time);
async fn a_reset_returns_the_clock_to_real_time(app: &TestApp) {
    move_clock(app, json!({"advance": "365d", "freeze": true})).await;
    let reset = app.call(Method::DELETE, "/_mock/clock", None).await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(reset.json()["real_time"], true);
    assert!(
        (account_now(app).await - app.clock.now())
            .num_seconds()
            .abs()
            <= 1
    );
    move_clock(app, json!({"advance": "365d"})).await;
    assert_eq!(app.post("/_mock/reset", json!({})).await.status, 204);
    let clock = app.get("/_mock/clock").await.json();
    assert_eq!(clock["real_time"], true, "{clock}");
    let customer = app.customer(None).await;
    let skew = (instant(&customer["created_at"]) - app.clock.now()).num_seconds();
    assert!(skew.abs() <= 1, "{customer}");
}

on_both_stores!(
    two_accounts_with_different_clocks_run_the_same_scenario_without_touching_each_other
);
async fn two_accounts_with_different_clocks_run_the_same_scenario_without_touching_each_other(
    app: &TestApp,
) {
    async fn scenario(app: &TestApp, token: &str, advance: &str) -> (Value, Value) {
        let api = app.client_as(token);
        let customer = api
            .call(
                Method::POST,
                "/customers",
                Some(json!({"name": "A", "email": "a@example.com"})),
            )
            .await
            .created();
        let end = (app.clock.now() + chrono::Duration::days(30)).to_rfc3339();
        let subscription = api
            .call(
                Method::POST,
                "/subscriptions",
                Some(json!({"customer_id": customer["id"], "plan_id": "p", "end_date": end})),
            )
            .await
            .created();
        let moved = api
            .call(
                Method::POST,
                "/_mock/clock",
                Some(json!({"advance": advance})),
            )
            .await
            .json();
        let id = subscription["id"].as_str().unwrap();
        let after = api
            .call(Method::GET, &format!("/subscriptions/{id}"), None)
            .await
            .json();
        (moved, after)
    }
    let (ahead, behind) = (
        format!("{}-ahead", app.token),
        format!("{}-behind", app.token),
    );
    let ((moved_a, sub_a), (moved_b, sub_b)) =
        tokio::join!(scenario(app, &ahead, "31d"), scenario(app, &behind, "1d"));
    assert_eq!(sub_a["status"], "ended", "{moved_a}");
    assert_eq!(sub_b["status"], "active", "{moved_b}");
    assert_eq!(moved_b["ran"]["subscriptions_ended"], json!([]));
    let now_a = instant(&moved_a["now"]);
    let now_b = instant(&moved_b["now"]);
    assert!(
        (now_a - now_b - chrono::Duration::days(30))
            .num_seconds()
            .abs()
            <= 2
    );
    // The default account never moved.
    assert_eq!(app.get("/_mock/clock").await.json()["real_time"], true);
}

on_both_stores!(an_accounts_time_decides_the_invoice_due_date_window);
/// `due_date_window` counts back from the account's time.
async fn an_accounts_time_decides_the_invoice_due_date_window(app: &TestApp) {
    move_clock(app, json!({"to": "2031-03-04T00:00:00Z", "freeze": true})).await;
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let mut body = crate::common::invoice_body(id);
    body["invoice_date"] = json!("2031-03-02T00:00:00+00:00");
    let invoice = app.post("/invoices", body).await.created();
    let listed = |window: &'static str| async move {
        app.get(&format!(
            "/invoices?customer_id={id}&status[]=draft&due_date_window={window}"
        ))
        .await
        .data()
        .len()
    };
    assert_eq!(listed("3d").await, 1, "{invoice}");
    move_clock(app, json!({"advance": "60d"})).await;
    assert_eq!(
        listed("3d").await,
        0,
        "sixty days on, the due date is outside 3 days"
    );
    assert_eq!(listed("90d").await, 1);
}

on_both_persistent_stores!(an_accounts_clock_survives_a_restart);
async fn an_accounts_clock_survives_a_restart(store: &Persistent) {
    let first = store.app().await;
    let token = first.token.clone();
    let moved = first
        .call(
            Method::POST,
            "/_mock/clock",
            Some(json!({"to": "2040-01-01T00:00:00Z", "freeze": true})),
        )
        .await
        .json();
    assert_eq!(moved["frozen"], true, "{moved}");
    first.stop().await;
    let second = store.app().await;
    let clock = second
        .call_as(&token, Method::GET, "/_mock/clock", None)
        .await
        .json();
    assert_eq!(clock["now"], moved["now"], "{clock}");
    assert_eq!(clock["frozen"], true);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_agree_on_an_accounts_clock() {
    let Some(store) = Persistent::postgres().await else {
        return;
    };
    let a = store.app().await;
    let b = store.app().await;
    let token = a.token.clone();
    // B has read (and cached) the clock before A moves it.
    let before = b.call_as(&token, Method::GET, "/_mock/clock", None).await;
    assert_eq!(before.json()["real_time"], true);
    let account = a.account();
    assert!(b.store.account_clock(&account).await.unwrap().is_real());
    let moved = a
        .call_as(
            &token,
            Method::POST,
            "/_mock/clock",
            Some(json!({"to": "2035-06-01T00:00:00Z", "freeze": true})),
        )
        .await
        .json();
    // B hears of the move and drops what it cached.
    let heard = poll_until(Duration::from_secs(10), || async {
        !b.store.account_clock(&account).await.unwrap().is_real()
    })
    .await;
    assert!(heard, "B's cached clock follows A's move");
    let on_b = b
        .call_as(&token, Method::GET, "/_mock/clock", None)
        .await
        .json();
    assert_eq!(on_b["now"], moved["now"]);
    let customer = b
        .call_as(
            &token,
            Method::POST,
            "/customers",
            Some(json!({"name": "B", "email": "b@example.com"})),
        )
        .await
        .created();
    assert_eq!(customer["created_at"], moved["now"]);
    a.stop().await;
    b.stop().await;
    store.cleanup().await;
}
