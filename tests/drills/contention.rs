//! SQLite write contention: 32 clients mixing creates, deletes and invoice issues on one file
//! store, with cascades running alongside (delay 0). SQLite has one writer; orb-mock must turn
//! that into queueing, never into `database is locked` or a 5xx.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{
    drill_secs, id_of, invariant_violations, invoice_body, Client, Outcome, Persistent, Server,
    TestResponse,
};

const CLIENTS: usize = 32;

/// Per-request hang-guard.
const GUARD: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Counts {
    creates: AtomicUsize,
    issues: AtomicUsize,
    deletes: AtomicUsize,
    refused_deletes: AtomicUsize,
    problems: Mutex<Vec<String>>,
}

/// Sends one request and checks it against `expected`; every body is searched for
/// "database is locked" and every status for 5xx. Returns the reply when it was expected.
async fn checked(
    api: &Client,
    counts: &Counts,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    expected: &[StatusCode],
) -> Option<TestResponse> {
    let what = format!("{method} {path}");
    let problem = match tokio::time::timeout(GUARD, api.send(method, path, body)).await {
        Err(_) => format!("{what}: no answer within {GUARD:?}"),
        Ok(Outcome::Answered(reply)) => {
            let text = reply.text();
            if text.to_lowercase().contains("database is locked") {
                format!("{what}: {} mentions the lock: {text}", reply.status)
            } else if reply.status.is_server_error() {
                format!("{what}: {} {text}", reply.status)
            } else if !expected.contains(&reply.status) {
                format!("{what}: unexpected {} {text}", reply.status)
            } else {
                return Some(reply);
            }
        }
        Ok(other) => format!("{what}: {other:?}"),
    };
    counts.problems.lock().expect("counts").push(problem);
    None
}

/// One client's turn: a customer with two draft invoices, one issued (so deleting it is
/// refused), and a second customer with a draft invoice, deleted (so its cascade runs).
async fn turn(api: &Client, counts: &Counts) -> Option<()> {
    let customer = json!({"name": "Contender", "email": "c@example.com"});
    let created = [StatusCode::CREATED];
    let keeper = checked(
        api,
        counts,
        Method::POST,
        "/v1/customers",
        Some(customer.clone()),
        &created,
    )
    .await?;
    let keeper = id_of(&keeper.json());
    let mut invoices = Vec::new();
    for _ in 0..2 {
        let invoice = checked(
            api,
            counts,
            Method::POST,
            "/v1/invoices",
            Some(invoice_body(&keeper)),
            &created,
        )
        .await?;
        invoices.push(id_of(&invoice.json()));
    }
    counts.creates.fetch_add(3, Ordering::Relaxed);
    checked(
        api,
        counts,
        Method::POST,
        &format!("/v1/invoices/{}/issue", invoices[0]),
        Some(json!({})),
        &[StatusCode::OK],
    )
    .await?;
    counts.issues.fetch_add(1, Ordering::Relaxed);
    let refused = checked(
        api,
        counts,
        Method::DELETE,
        &format!("/v1/customers/{keeper}"),
        None,
        &[StatusCode::BAD_REQUEST],
    )
    .await?;
    refused.assert_orb_error(400);
    counts.refused_deletes.fetch_add(1, Ordering::Relaxed);

    let doomed = checked(
        api,
        counts,
        Method::POST,
        "/v1/customers",
        Some(customer),
        &created,
    )
    .await?;
    let doomed = id_of(&doomed.json());
    checked(
        api,
        counts,
        Method::POST,
        "/v1/invoices",
        Some(invoice_body(&doomed)),
        &created,
    )
    .await?;
    counts.creates.fetch_add(2, Ordering::Relaxed);
    checked(
        api,
        counts,
        Method::DELETE,
        &format!("/v1/customers/{doomed}"),
        None,
        &[StatusCode::NO_CONTENT],
    )
    .await?;
    counts.deletes.fetch_add(1, Ordering::Relaxed);
    checked(
        api,
        counts,
        Method::GET,
        &format!("/v1/invoices?customer_id={keeper}&status%5B%5D=draft&status%5B%5D=issued"),
        None,
        &[StatusCode::OK],
    )
    .await?;
    Some(())
}

/// 32 concurrent clients for `ORB_MOCK_DRILL_SECS` (default 30) seconds on a SQLite file: no
/// answer mentions "database is locked", none is a 5xx, and the store's invariants hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_writing_to_a_sqlite_file_never_see_database_is_locked_or_a_5xx() {
    let store = Persistent::sqlite_file();
    let server = Server::start(&store.url, &["--deletion-delay", "0s"], &[])
        .healthy()
        .await;
    let duration = drill_secs(30);
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let api = Client::socket(server.addr, &format!("drill-contention-{}", client % 4));
        let counts = counts.clone();
        clients.spawn(async move {
            while start.elapsed() < duration {
                if turn(&api, &counts).await.is_none() {
                    break;
                }
            }
        });
    }
    while let Some(joined) = clients.join_next().await {
        joined.expect("a client task");
    }
    let problems = counts.problems.lock().expect("counts").clone();
    assert!(
        problems.is_empty(),
        "{} problems, first ones: {:#?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
    let (creates, issues, deletes, refused) = (
        counts.creates.load(Ordering::Relaxed),
        counts.issues.load(Ordering::Relaxed),
        counts.deletes.load(Ordering::Relaxed),
        counts.refused_deletes.load(Ordering::Relaxed),
    );
    eprintln!(
        "contention over {duration:?}: {creates} creates, {issues} issues, {deletes} deletes, \
         {refused} refused deletes"
    );
    assert!(creates > 0 && issues > 0 && deletes > 0 && refused > 0);
    let stderr = server.stderr();
    assert!(
        !stderr.contains("database is locked"),
        "the log shows lock failures:\n{stderr}"
    );
    server.assert_no_panic();
    drop(server);
    let violations = invariant_violations(&store.url).await;
    assert!(violations.is_empty(), "{violations:#?}");
    store.cleanup().await;
}
