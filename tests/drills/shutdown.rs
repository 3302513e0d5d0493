//! Graceful shutdown under load: SIGTERM while 16 keep-alive connections keep creating
//! customers. Every answer that started arrives whole, the process exits 0, and every customer
//! that was answered 201 is there after a restart.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{eventually, id_of, sql, Client, Outcome, Persistent, Server, HANG_GUARD};
use crate::on_both_persistent_stores;

const CONNECTIONS: usize = 16;

/// What one load connection saw.
#[derive(Default)]
struct Seen {
    committed: Vec<String>,
    /// 201s whose request was sent before SIGTERM and answered after it.
    finished_in_flight: usize,
    problems: Vec<String>,
    /// Why it stopped after SIGTERM (no answer: refused or closed before answering).
    ended_by: Option<String>,
}

async fn load(api: Client, terminated: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    loop {
        let was_terminated = terminated.load(Ordering::SeqCst);
        let outcome = tokio::time::timeout(
            HANG_GUARD,
            api.send(
                Method::POST,
                "/v1/customers",
                Some(json!({"name": "Shutdown", "email": "s@example.com"})),
            ),
        )
        .await;
        match outcome {
            Err(_) => {
                seen.problems.push("a request hung".to_owned());
                return seen;
            }
            Ok(Outcome::Answered(reply)) if reply.status == StatusCode::CREATED => {
                if !was_terminated && terminated.load(Ordering::SeqCst) {
                    seen.finished_in_flight += 1;
                }
                seen.committed.push(id_of(&reply.json()));
            }
            Ok(Outcome::Answered(reply)) => {
                seen.problems
                    .push(format!("answered {} {}", reply.status, reply.text()));
            }
            Ok(Outcome::Cut(err)) => {
                seen.problems
                    .push(format!("an answer was cut off mid-body: {err}"));
                return seen;
            }
            Ok(Outcome::NoAnswer(err)) => {
                if !was_terminated && !terminated.load(Ordering::SeqCst) {
                    seen.problems
                        .push(format!("no answer before SIGTERM: {err}"));
                }
                seen.ended_by = Some(err);
                return seen;
            }
        }
    }
}

on_both_persistent_stores!(
    sigterm_under_load_finishes_in_flight_requests_exits_0_and_loses_no_committed_customer
);
/// SIGTERM during load: in-flight requests complete (no answer is cut off), the exit code
/// is 0, and every 201'd customer survives the restart.
async fn sigterm_under_load_finishes_in_flight_requests_exits_0_and_loses_no_committed_customer(
    store: &Persistent,
) {
    let mut server = Server::start(
        &store.url,
        &["--deletion-delay", "1h", "--shutdown-timeout", "20s"],
        &[],
    )
    .healthy()
    .await;
    let token = "drill-shutdown";
    let terminated = Arc::new(AtomicBool::new(false));
    let mut connections = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        connections.spawn(load(Client::socket(server.addr, token), terminated.clone()));
    }
    // Load is flowing once the store holds a few hundred customers.
    let url = store.url.clone();
    eventually(HANG_GUARD, "the load gets going", || {
        let url = url.clone();
        async move { sql::customers(&url).await >= 200 }
    })
    .await;
    terminated.store(true, Ordering::SeqCst);
    server.signal("-TERM");
    let status = server.exited(HANG_GUARD).await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit code 0 after SIGTERM:\n{}",
        server.stderr()
    );
    server.assert_no_panic();
    drop(server);

    let mut committed = HashSet::new();
    let mut problems = Vec::new();
    let mut endings = Vec::new();
    let mut finished_in_flight = 0;
    while let Some(joined) = connections.join_next().await {
        let seen = joined.expect("a load task");
        committed.extend(seen.committed);
        finished_in_flight += seen.finished_in_flight;
        problems.extend(seen.problems);
        endings.extend(seen.ended_by);
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        endings.len(),
        CONNECTIONS,
        "every connection ended by the shutdown"
    );
    assert!(committed.len() >= 200, "the load ran: {}", committed.len());

    // Nothing answered 201 is lost: in the store, and served after a restart.
    let stored: HashSet<String> = sql::customer_ids(&store.url).await.into_iter().collect();
    let lost: Vec<&String> = committed.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} customers answered 201 are gone: {lost:?}",
        lost.len()
    );
    let server = Server::start(&store.url, &["--deletion-delay", "1h"], &[])
        .healthy()
        .await;
    let api = Client::socket(server.addr, token);
    for id in committed.iter().take(50) {
        let reply = api
            .call(Method::GET, &format!("/v1/customers/{id}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{id}: {}", reply.text());
    }
    eprintln!(
        "shutdown under load: {} customers committed, {finished_in_flight} of them answered \
         after SIGTERM; connections ended by: {:?}",
        committed.len(),
        endings
            .iter()
            .map(|e| e.chars().take(60).collect::<String>())
            .collect::<HashSet<_>>()
    );
    server.assert_no_panic();
}
