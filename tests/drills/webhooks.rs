//! Webhook delivery under crashes and concurrency, with the real binary and its own worker:
//! the outbox survives `kill -9`, and two processes on one PostgreSQL deliver each event once.

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::json;

use crate::common::{eventually, Client, Persistent, Receiver, Server, HANG_GUARD};
use crate::on_both_persistent_stores;

/// Creates an endpoint for `url` and `count` customers (one `customer.created` each); returns
/// the customers' ids.
async fn emit(api: &Client, url: &str, count: usize) -> Vec<String> {
    api.call(
        Method::POST,
        "/webhook_endpoints",
        Some(json!({"url": url})),
    )
    .await
    .created();
    let mut customers = Vec::new();
    for _ in 0..count {
        customers.push(api.customer().await);
    }
    customers
}

/// The distinct customer ids of the `customer.created` events a receiver got.
fn delivered_customers(receiver: &Receiver) -> BTreeSet<String> {
    receiver
        .bodies()
        .iter()
        .filter(|body| body["type"] == "customer.created")
        .map(|body| body["customer"]["id"].as_str().unwrap().to_owned())
        .collect()
}

on_both_persistent_stores!(undelivered_events_survive_kill_9_and_arrive_after_the_restart);
/// The receiver fails every attempt; orb-mock is killed (`SIGKILL`) with the events
/// undelivered; after a restart, with the receiver healthy, every event arrives, each with the
/// id it was first sent with.
async fn undelivered_events_survive_kill_9_and_arrive_after_the_restart(store: &Persistent) {
    let receiver = Receiver::start().await;
    receiver.answer_all(Some(503));
    let flags = ["--webhook-retry-base", "200ms"];
    let server = Server::start(&store.url, &flags, &[]).healthy().await;
    let api = Client::socket(server.addr, "drill-webhooks-crash");
    let customers = emit(&api, &receiver.url, 5).await;
    eventually(HANG_GUARD, "the failing receiver was tried", || async {
        !receiver.received().is_empty()
    })
    .await;
    let ids_before: BTreeSet<String> = receiver.event_ids().into_iter().collect();
    drop(server); // SIGKILL: no shutdown of any kind
    receiver.answer_all(None);
    let server = Server::start(&store.url, &flags, &[]).healthy().await;
    eventually(
        HANG_GUARD,
        "every event arrived after the restart",
        || async { delivered_customers(&receiver).len() == customers.len() },
    )
    .await;
    assert_eq!(
        delivered_customers(&receiver),
        customers.iter().cloned().collect::<BTreeSet<_>>()
    );
    let ids_after: BTreeSet<String> = receiver.event_ids().into_iter().collect();
    assert!(
        ids_before.is_subset(&ids_after) && ids_after.len() == customers.len(),
        "a retry carries the id of the first attempt: {ids_before:?} ⊆ {ids_after:?}"
    );
    server.assert_no_panic();
}

/// Two orb-mock processes on one PostgreSQL database, each with its worker: every event is
/// delivered exactly once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_deliver_each_event_exactly_once() {
    let Some(store) = Persistent::postgres().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let a = Server::start(&store.url, &[], &[]).healthy().await;
    let b = Server::start(&store.url, &[], &[]).healthy().await;
    let token = "drill-webhooks-two";
    let on_a = Client::socket(a.addr, token);
    let on_b = Client::socket(b.addr, token);
    on_a.call(
        Method::POST,
        "/webhook_endpoints",
        Some(json!({"url": receiver.url})),
    )
    .await
    .created();
    let mut customers = BTreeSet::new();
    for n in 0..40 {
        let api = if n % 2 == 0 { &on_a } else { &on_b };
        customers.insert(api.customer().await);
    }
    eventually(HANG_GUARD, "every event arrived", || async {
        delivered_customers(&receiver).len() == customers.len()
    })
    .await;
    // Both workers keep looking for a while: nothing is sent twice.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let ids = receiver.event_ids();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), customers.len(), "each event once: {ids:?}");
    assert_eq!(distinct.len(), customers.len());
    assert_eq!(delivered_customers(&receiver), customers);
    a.assert_no_panic();
    b.assert_no_panic();
    drop((a, b));
    store.cleanup().await;
}
