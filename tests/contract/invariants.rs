//! README, "Deleting a customer"'s invariants under concurrency and restarts.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{only_run, sql, Kind, Persistent, TestApp};
use crate::on_both_persistent_stores;
use orb_mock::store::{Queue, Ran, Turn};

/// Races "issue the customer's draft invoice" against "delete the customer", `trials` times.
async fn issue_races_delete(store: &Persistent, trials: usize) {
    let app = store.app().await;
    let mut deletes_won = 0;
    for trial in 0..trials {
        let customer = app.customer(None).await;
        let id = customer["id"].as_str().unwrap().to_owned();
        let invoice = app.invoice(&id, false).await;
        let invoice_id = invoice["id"].as_str().unwrap().to_owned();
        let client = app.client();
        let issue = tokio::spawn(async move {
            let path = format!("/invoices/{invoice_id}/issue");
            client.call(Method::POST, &path, Some(json!({}))).await
        });
        let client = app.client();
        let delete = tokio::spawn(async move {
            let path = format!("/customers/{id}");
            client.call(Method::DELETE, &path, None).await
        });
        let (issue, delete) = (issue.await.unwrap(), delete.await.unwrap());
        match (issue.status, delete.status) {
            (StatusCode::OK, StatusCode::BAD_REQUEST) => {
                delete.assert_error(400, "400-constraint-violation");
            }
            (StatusCode::BAD_REQUEST, StatusCode::NO_CONTENT) => {
                issue.assert_error(400, "400-constraint-violation");
                deletes_won += 1;
            }
            other => panic!(
                "trial {trial}: exactly one of issue and delete wins, got {other:?}: {} / {}",
                String::from_utf8_lossy(&issue.bytes),
                String::from_utf8_lossy(&delete.bytes)
            ),
        }
    }
    app.finish_deletions().await;
    let violations = app.store.invariant_violations().await.unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    eprintln!(
        "{:?}: {trials} trials, delete won {deletes_won}",
        store.kind
    );
    app.stop().await;
}

on_both_persistent_stores!(
    issuing_an_invoice_and_deleting_its_customer_concurrently_has_exactly_one_winner
);
/// 200 trials (50 on SQLite, whose single writer serialises trivially): each has exactly one
/// winner, and no deleting or deleted customer ever owns an issued invoice.
async fn issuing_an_invoice_and_deleting_its_customer_concurrently_has_exactly_one_winner(
    store: &Persistent,
) {
    let trials = if store.kind == Kind::Postgres {
        200
    } else {
        50
    };
    issue_races_delete(store, trials).await;
}

on_both_persistent_stores!(
    a_burst_of_concurrent_deletes_of_one_customer_yields_only_204s_and_one_job
);
/// 50 concurrent DELETEs of one customer: only 204s, and exactly one job.
async fn a_burst_of_concurrent_deletes_of_one_customer_yields_only_204s_and_one_job(
    store: &Persistent,
) {
    let app = store.app().await;
    let customer = app.customer(None).await;
    let path = format!("/customers/{}", customer["id"].as_str().unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (client, path) = (app.client(), path.clone());
        tasks.spawn(async move { client.call(Method::DELETE, &path, None).await });
    }
    let mut statuses = Vec::new();
    while let Some(response) = tasks.join_next().await {
        statuses.push(response.unwrap().status);
    }
    assert_eq!(statuses.len(), 50);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    app.finish_deletions().await;
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
    app.stop().await;
}

on_both_persistent_stores!(queued_cascades_complete_after_a_restart);
/// Durability: deletions queued before a stop complete after a restart on the same store,
/// with the new process's clock past their due time.
async fn queued_cascades_complete_after_a_restart(store: &Persistent) {
    let first = store.app().await;
    let token = first.token.clone();
    let mut owned = Vec::new();
    for _ in 0..5 {
        let customer = first.customer(None).await;
        let id = customer["id"].as_str().unwrap().to_owned();
        let invoice = first.invoice(&id, false).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let subscription = first.subscription(&id).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        first.delete_customer(&id).await;
        owned.push((id, invoice, subscription));
    }
    first.stop().await;

    let mut second = store.app().await;
    second.token = token;
    for (id, _, _) in &owned {
        assert_eq!(
            second.get(&format!("/customers/{id}")).await.json()["deleted"],
            true
        );
    }
    second.finish_deletions().await;
    for (id, invoice, subscription) in &owned {
        second
            .get(&format!("/customers/{id}"))
            .await
            .assert_error(404, "404-resource-not-found");
        second
            .get(&format!("/invoices/{invoice}"))
            .await
            .assert_error(404, "404-resource-not-found");
        second
            .get(&format!("/subscriptions/{subscription}"))
            .await
            .assert_error(404, "404-resource-not-found");
    }
    let jobs = second.store.deletions(&second.account()).await.unwrap();
    assert_eq!(jobs.len(), 5);
    assert!(
        jobs.iter()
            .all(|job| job.attempts == 1 && job.completed_at.is_some()),
        "{jobs:#?}"
    );
    assert!(second
        .store
        .invariant_violations()
        .await
        .unwrap()
        .is_empty());
    second.stop().await;
}

on_both_persistent_stores!(a_failing_cascade_is_retried_with_backoff_and_its_error_recorded);
/// A cascade that fails is rolled back, retried with exponential backoff, and its attempts
/// and last error are recorded; once the fault is gone it completes.
async fn a_failing_cascade_is_retried_with_backoff_and_its_error_recorded(store: &Persistent) {
    let app = store.app().await;
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let invoice = app.invoice(&id, false).await;
    app.delete_customer(&id).await;
    sql::plant_invoice_update_fault(&store.url, None).await;

    app.clock
        .advance(crate::common::DELAY + Duration::from_secs(1));
    for attempt in 1..=3i64 {
        let now = app.clock.now();
        let run = app
            .store
            .run_queue(Queue::Deletions, now, Some(&app.account()), 1)
            .await
            .unwrap();
        let Some(Ran::Failed {
            retry_at, error, ..
        }) = only_run(run.clone())
        else {
            panic!("the cascade fails while the fault is planted: {run:?}");
        };
        assert!(error.contains("planted fault"), "{error}");
        let job = app.store.deletions(&app.account()).await.unwrap().remove(0);
        assert_eq!(job.attempts, attempt);
        assert!(
            job.last_error
                .as_deref()
                .unwrap_or("")
                .contains("planted fault"),
            "{job:?}"
        );
        assert_eq!(job.due_at, retry_at);
        let wait = retry_at - now;
        assert_eq!(
            wait,
            orb_mock::store::backoff(attempt as i32),
            "backoff doubles"
        );
        // Rolled back: nothing of the cascade is visible.
        assert_eq!(
            app.get(&format!("/customers/{id}")).await.json()["deleted"],
            true
        );
        assert_eq!(
            app.get(&format!("/invoices/{}", invoice["id"].as_str().unwrap()))
                .await
                .status,
            StatusCode::OK
        );
        // Not due again until the backoff has passed.
        let early = app
            .store
            .run_queue(Queue::Deletions, app.clock.now(), Some(&app.account()), 1)
            .await
            .unwrap();
        assert_eq!(early, Turn::Idle);
        app.clock.advance(wait.to_std().unwrap());
    }
    sql::remove_invoice_update_fault(&store.url).await;
    let run = app
        .store
        .run_queue(Queue::Deletions, app.clock.now(), Some(&app.account()), 1)
        .await
        .unwrap();
    assert!(
        matches!(only_run(run.clone()), Some(Ran::Completed { .. })),
        "{run:?}"
    );
    app.get(&format!("/customers/{id}"))
        .await
        .assert_error(404, "404-resource-not-found");
    let job = app.store.deletions(&app.account()).await.unwrap().remove(0);
    assert_eq!(job.attempts, 4);
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
    app.stop().await;
}

/// Two orb-mock instances on one PostgreSQL database share the queue; each cascade runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_share_the_cascades_and_run_each_once() {
    let Some(store) = Persistent::postgres().await else {
        return;
    };
    let a = store.app().await;
    let mut b = store.app().await;
    b.token = a.token.clone();
    for _ in 0..40 {
        let customer = a.customer(None).await;
        let id = customer["id"].as_str().unwrap().to_owned();
        a.invoice(&id, false).await;
        a.subscription(&id).await;
        a.delete_customer(&id).await;
    }
    let past_due = crate::common::DELAY + Duration::from_secs(1);
    a.clock.advance(past_due);
    b.clock.advance(past_due);
    let (ran_a, ran_b) = tokio::join!(
        orb_mock::worker::drain(&a.store, &a.clock, orb_mock::store::Queue::Deletions, None),
        orb_mock::worker::drain(&b.store, &b.clock, orb_mock::store::Queue::Deletions, None),
    );
    let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());
    // Together the two instances ran every job, and each exactly once.
    assert_eq!(ran_a + ran_b, 40);
    let jobs = a.store.deletions(&a.account()).await.unwrap();
    assert_eq!(jobs.len(), 40);
    assert!(
        jobs.iter()
            .all(|job| job.attempts == 1 && job.completed_at.is_some()),
        "{jobs:#?}"
    );
    eprintln!("instance A ran {ran_a}, instance B ran {ran_b}");
    assert!(a.store.invariant_violations().await.unwrap().is_empty());
    a.stop().await;
    b.stop().await;
    store.cleanup().await;
}

on_both_persistent_stores!(
    a_request_that_outlives_the_request_timeout_is_a_transient_500_and_changes_nothing
);
/// A request stuck behind a lock held outside orb-mock is answered with a transient 500 at
/// the request timeout (never a hang), leaves nothing half done, and succeeds on retry.
async fn a_request_that_outlives_the_request_timeout_is_a_transient_500_and_changes_nothing(
    store: &Persistent,
) {
    let mut config = crate::common::test_config(&store.url);
    config.request_timeout = Duration::from_millis(300);
    let app = TestApp::with_config(store.kind, config, None).await;
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap().to_owned();

    let blocker = store.hold_write_lock().await;
    let started = std::time::Instant::now();
    let response = app.delete(&format!("/customers/{id}")).await;
    let waited = started.elapsed();
    let body = response.assert_error(500, "500-internal-server-error");
    assert_eq!(response.header("transient-error"), Some("true"));
    assert!(
        !body["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("sql"),
        "{body}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "answered at the timeout, not after {waited:?}"
    );
    drop(blocker);

    assert!(
        app.store
            .deletions(&app.account())
            .await
            .unwrap()
            .is_empty(),
        "nothing half done"
    );
    app.delete_customer(&id).await;
    app.stop().await;
}

on_both_persistent_stores!(one_failing_cascade_in_a_batch_does_not_hold_back_the_others);
/// Due cascades run in batches (one commit for many); one failing job does not hold the
/// others back: the batch is rolled back and rerun one job at a time, so the others complete
/// and only the failing job records an attempt and its error.
async fn one_failing_cascade_in_a_batch_does_not_hold_back_the_others(store: &Persistent) {
    let app = store.app().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let customer = app.customer(None).await;
        let id = customer["id"].as_str().unwrap().to_owned();
        app.invoice(&id, false).await;
        app.delete_customer(&id).await;
        ids.push(id);
    }
    let failing = ids[2].clone();
    sql::plant_invoice_update_fault(&store.url, Some(&failing)).await;
    app.finish_deletions().await;
    for id in &ids {
        let response = app.get(&format!("/customers/{id}")).await;
        if *id == failing {
            assert_eq!(
                response.json()["deleted"],
                true,
                "the failing one is still deleting"
            );
        } else {
            response.assert_error(404, "404-resource-not-found");
        }
    }
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    for job in &jobs {
        if job.customer_id == failing {
            assert_eq!(job.attempts, 1);
            assert!(
                job.last_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("planted fault"),
                "{job:?}"
            );
            assert!(job.completed_at.is_none());
        } else {
            assert_eq!(job.attempts, 1, "{job:?}");
            assert!(
                job.completed_at.is_some() && job.last_error.is_none(),
                "{job:?}"
            );
        }
    }
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
    app.stop().await;
}

on_both_persistent_stores!(concurrent_deletes_of_many_customers_each_get_their_own_answer);
/// A burst of DELETEs of many customers at once (which SQLite queues together in one
/// statement) still answers each request for its own customer: 204 for the deletable ones
/// (once each, however often repeated), 400 for one with an issued invoice, 404 for an
/// unknown id, and each account's own delay. Reading them all back at once, each read gets
/// its own customer, and no account sees another's.
async fn concurrent_deletes_of_many_customers_each_get_their_own_answer(store: &Persistent) {
    let app = store.app().await;
    let other = "sk_test_other_account";
    let as_other = app.client_as(other);
    let settings = as_other
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "2h"})),
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK);
    let mut expected = Vec::new();
    for n in 0..20 {
        let id = app.customer(None).await["id"].as_str().unwrap().to_owned();
        let repeats = if n % 4 == 0 { 3 } else { 1 };
        for _ in 0..repeats {
            expected.push((app.token.clone(), id.clone(), StatusCode::NO_CONTENT));
        }
    }
    for _ in 0..8 {
        let id = app.customer(None).await["id"].as_str().unwrap().to_owned();
        app.invoice(&id, true).await;
        expected.push((app.token.clone(), id, StatusCode::BAD_REQUEST));
    }
    for n in 0..8 {
        expected.push((
            app.token.clone(),
            format!("cus_unknown_{n}"),
            StatusCode::NOT_FOUND,
        ));
    }
    for _ in 0..8 {
        let created = as_other
            .call(
                Method::POST,
                "/customers",
                Some(json!({"name": "Other", "email": "o@example.com"})),
            )
            .await;
        let id = created.created()["id"].as_str().unwrap().to_owned();
        expected.push((other.to_owned(), id, StatusCode::NO_CONTENT));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (token, id, status) in expected.clone() {
        let client = app.client_as(&token);
        tasks.spawn(async move {
            let response = client
                .call(Method::DELETE, &format!("/customers/{id}"), None)
                .await;
            (id, status, response)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (id, status, response) = joined.unwrap();
        match status {
            StatusCode::BAD_REQUEST => {
                let body = response.assert_error(400, "400-constraint-violation");
                assert!(body["detail"].as_str().unwrap().contains(&id), "{body}");
            }
            StatusCode::NOT_FOUND => {
                response.assert_error(404, "404-resource-not-found");
            }
            _ => assert_eq!(
                response.status,
                status,
                "DELETE {id}: {}",
                String::from_utf8_lossy(&response.bytes)
            ),
        }
    }
    let jobs = app.store.deletions(&app.account()).await.unwrap();
    assert_eq!(
        jobs.len(),
        20,
        "one job per deletable customer, however often it was deleted"
    );
    for job in &jobs {
        assert_eq!(
            job.due_at - job.created_at,
            chrono::Duration::hours(1),
            "the server's delay"
        );
    }
    let other_jobs = app
        .store
        .deletions(&orb_mock::http::extract::Account::from_token(other).0)
        .await
        .unwrap();
    assert_eq!(other_jobs.len(), 8);
    for job in &other_jobs {
        let after = job.due_at - job.created_at;
        assert!(
            after <= chrono::Duration::hours(2)
                && after > chrono::Duration::hours(2) - chrono::Duration::milliseconds(1),
            "the account's own delay: {after}"
        );
    }
    // Read back all at once too (SQLite serves concurrent reads by id in one statement):
    // each read answers for its own account and customer.
    let mut reads = tokio::task::JoinSet::new();
    for (token, id, status) in expected.clone() {
        let client = app.client_as(&token);
        reads.spawn(async move {
            let shown = client
                .call(Method::GET, &format!("/customers/{id}"), None)
                .await;
            (token, id, status, shown)
        });
    }
    while let Some(joined) = reads.join_next().await {
        let (token, id, status, shown) = joined.unwrap();
        let foreign = if token == other {
            app.token.clone()
        } else {
            other.to_owned()
        };
        let elsewhere = app
            .call_as(&foreign, Method::GET, &format!("/customers/{id}"), None)
            .await;
        assert_eq!(
            elsewhere.status,
            StatusCode::NOT_FOUND,
            "{id} is not visible to the other account"
        );
        match status {
            StatusCode::NO_CONTENT => {
                assert_eq!(shown.json()["deleted"], true, "{id} reads as deleting")
            }
            StatusCode::BAD_REQUEST => {
                assert_eq!(shown.status, StatusCode::OK);
                assert_eq!(
                    shown.json()["id"],
                    id.as_str(),
                    "{id} is untouched: the full customer"
                );
                assert_ne!(shown.json()["deleted"], true);
            }
            _ => assert_eq!(shown.status, StatusCode::NOT_FOUND),
        }
    }
    app.finish_deletions().await;
    assert!(app.store.invariant_violations().await.unwrap().is_empty());
    app.stop().await;
}
