//! Crash mid-cascade: the debug binary aborts (as `kill -9` would) at each failpoint of the
//! cascade (`ORB_MOCK_FAILPOINT`, see `src/failpoint.rs`); after a restart every cascade has
//! completed exactly once in effect.

use std::os::unix::process::ExitStatusExt;

use axum::http::{Method, StatusCode};

use crate::common::{
    eventually, invariant_violations, sql, Client, Persistent, Server, HANG_GUARD,
};
use crate::on_both_persistent_stores;

/// `std::process::abort` ends the process with this signal.
const SIGABRT: i32 = 6;

/// Customers deleted in each drill; each owns two subscriptions and two draft invoices.
const DELETED: usize = 4;

async fn crash_at(store: &Persistent, point: &str) {
    // 1. Armed, but nothing is due (delay 1h): it serves normally while the drill seeds.
    let mut server = Server::start(
        &store.url,
        &["--deletion-delay", "1h"],
        &[("ORB_MOCK_FAILPOINT", point)],
    )
    .healthy()
    .await;
    let api = Client::socket(server.addr, &format!("drill-crash-{point}"));
    let mut deleted = Vec::new();
    for _ in 0..DELETED {
        let customer = api.customer().await;
        for _ in 0..2 {
            api.subscription(&customer).await;
            api.draft_invoice(&customer).await;
        }
        deleted.push(customer);
    }
    let bystander = api.customer().await;
    let bystander_subscription = api.subscription(&bystander).await;
    let bystander_invoice = api.draft_invoice(&bystander).await;
    for customer in &deleted {
        api.delete_customer(customer).await;
    }

    // 2. Time passes: the queued cascades fall due, the worker picks one up and the process
    //    aborts at the failpoint.
    sql::make_every_deletion_due(&store.url).await;
    let status = server.exited(HANG_GUARD).await;
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "orb-mock aborted at {point} (got {status}):\n{}",
        server.stderr()
    );
    assert!(
        server.stderr().contains(&format!("failpoint {point} hit")),
        "{}",
        server.stderr()
    );
    drop(server);

    // What the crash left: only the cascades that committed before it are done (the worker
    // commits due jobs in batches of up to `BATCH`).
    let completed = sql::deletions_in_state(&store.url, "completed").await;
    let expected = if point == "cascade-after-commit" {
        DELETED.min(orb_mock::worker::BATCH as usize) as i64
    } else {
        0
    };
    assert_eq!(
        completed, expected,
        "cascades committed before the crash at {point}"
    );
    let live_children = sql::live_children(&store.url).await;
    assert_eq!(
        live_children as usize,
        (DELETED - expected as usize) * 4 + 2,
        "an aborted cascade left nothing half done"
    );

    // 3. Restart without the failpoint: the queue drains by itself.
    let server = Server::start(&store.url, &["--deletion-delay", "0s"], &[])
        .healthy()
        .await;
    let api = Client::socket(server.addr, &api.token);
    for customer in &deleted {
        let path = format!("/v1/customers/{customer}");
        eventually(HANG_GUARD, &format!("{customer} is gone"), || async {
            api.call(Method::GET, &path, None).await.status == StatusCode::NOT_FOUND
        })
        .await;
        api.call(Method::GET, &path, None)
            .await
            .assert_orb_error(404);
    }
    let bystander_reply = api
        .call(Method::GET, &format!("/v1/customers/{bystander}"), None)
        .await;
    assert_eq!(
        bystander_reply.status,
        StatusCode::OK,
        "the bystander lives"
    );
    for path in [
        format!("/v1/subscriptions/{bystander_subscription}"),
        format!("/v1/invoices/{bystander_invoice}"),
    ] {
        assert_eq!(
            api.call(Method::GET, &path, None).await.status,
            StatusCode::OK,
            "{path} is untouched"
        );
    }
    server.assert_no_panic();
    drop(server);

    // 4. Exactly once in effect, read from the store itself.
    let violations = invariant_violations(&store.url).await;
    assert!(violations.is_empty(), "{violations:#?}");
    let account = api.account();
    let url = &store.url;
    assert_eq!(
        sql::deletions_completed_on_the_first_attempt(url, &account).await as usize,
        DELETED,
        "one job per customer, completed, on its one committed attempt"
    );
    assert_eq!(
        sql::unfinished_deletions(url).await,
        0,
        "no job left pending or claimed"
    );
    assert_eq!(
        sql::deleted_customers(url, &account).await as usize,
        DELETED
    );
    assert_eq!(
        sql::live_children_of_gone_customers(url).await,
        0,
        "no live subscription or invoice of a deleted customer"
    );
    // Each cascade's soft deletes and the customer's own are one transaction's: one timestamp.
    assert_eq!(
        sql::children_deleted_apart_from_their_customer(url).await,
        0,
        "every child was soft-deleted by the cascade that deleted its customer"
    );
    assert_eq!(
        sql::live_children(url).await,
        2,
        "the bystander's subscription and invoice are live"
    );
}

on_both_persistent_stores!(
    a_crash_before_the_cascade_claims_its_job_loses_nothing_and_runs_every_cascade_once
);
/// Aborted after it saw a due cascade and before it claimed one: the restart runs them all.
async fn a_crash_before_the_cascade_claims_its_job_loses_nothing_and_runs_every_cascade_once(
    store: &Persistent,
) {
    crash_at(store, "cascade-before-claim").await;
}

on_both_persistent_stores!(
    a_crash_mid_cascade_leaves_nothing_half_done_and_the_restart_completes_it_once
);
/// Aborted after the subscriptions were soft-deleted and before the invoices: the
/// half-done transaction vanishes, and the restart does the whole cascade once.
async fn a_crash_mid_cascade_leaves_nothing_half_done_and_the_restart_completes_it_once(
    store: &Persistent,
) {
    crash_at(store, "cascade-mid").await;
}

on_both_persistent_stores!(
    a_crash_before_the_cascade_commits_rolls_it_back_and_the_restart_runs_it_once
);
/// Aborted with the whole cascade written but not committed: nothing of it survives, and
/// the restart runs it once.
async fn a_crash_before_the_cascade_commits_rolls_it_back_and_the_restart_runs_it_once(
    store: &Persistent,
) {
    crash_at(store, "cascade-before-commit").await;
}

on_both_persistent_stores!(
    a_crash_after_a_cascade_commits_keeps_it_and_the_restart_runs_only_the_rest
);
/// Aborted just after one cascade committed: that one is not run again, the rest run once.
async fn a_crash_after_a_cascade_commits_keeps_it_and_the_restart_runs_only_the_rest(
    store: &Persistent,
) {
    crash_at(store, "cascade-after-commit").await;
}
