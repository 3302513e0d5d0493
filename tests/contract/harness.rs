//! The harness itself: every test starts on an empty store of its own, and a PostgreSQL test
//! fails when PostgreSQL is unreachable unless the run opted out (`ORB_MOCK_SKIP_POSTGRES=1`,
//! never under `CI=true`). The opt-out cases run the probe below in a child process of this
//! test binary, with `ORB_MOCK_TEST_POSTGRES` pointing at a closed port.

use orb_mock::test_env::SKIP_POSTGRES;

use crate::common::{free_port, listed_ids, postgres_admin_url, sql, Kind, TestApp, TestDatabase};
use crate::on_both_stores;

on_both_stores!(every_test_starts_on_an_empty_store_of_its_own);
/// The probe: nothing another test wrote is visible, on either store.
async fn every_test_starts_on_an_empty_store_of_its_own(app: &TestApp) {
    assert!(listed_ids(app, "/customers").await.is_empty());
    assert!(listed_ids(app, "/invoices").await.is_empty());
    assert!(listed_ids(app, "/subscriptions").await.is_empty());
}

/// What the probe's PostgreSQL half printed and how it ended, run with PostgreSQL at a port
/// nothing listens on, `env` set, and the opt-out and `CI` otherwise unset.
fn probe_with_postgres_unreachable(env: &[(&str, &str)]) -> (bool, String) {
    let closed = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let mut env = env.to_vec();
    env.insert(0, ("ORB_MOCK_TEST_POSTGRES", &closed));
    let (output, text) = orb_mock::test_env::run_probe(
        "harness::every_test_starts_on_an_empty_store_of_its_own::postgres",
        &env,
        &[SKIP_POSTGRES],
    );
    assert!(text.contains(&closed), "the message names the URL: {text}");
    (output.status.success(), text)
}

#[test]
fn a_postgres_test_fails_naming_the_opt_out_when_postgres_is_unreachable() {
    let (passed, text) = probe_with_postgres_unreachable(&[]);
    assert!(!passed, "the PostgreSQL test failed: {text}");
    assert!(text.contains("ORB_MOCK_SKIP_POSTGRES=1"), "{text}");
}

#[test]
fn the_postgres_opt_out_skips_loudly_outside_ci_and_never_under_ci() {
    let (passed, text) = probe_with_postgres_unreachable(&[(SKIP_POSTGRES, "1")]);
    assert!(passed, "opted out, the test skips: {text}");
    assert!(
        text.contains("SKIPPED (ORB_MOCK_SKIP_POSTGRES=1)"),
        "{text}"
    );

    let (passed, text) = probe_with_postgres_unreachable(&[(SKIP_POSTGRES, "1"), ("CI", "true")]);
    assert!(!passed, "CI=true never skips: {text}");
    assert!(text.contains("CI=true never skips"), "{text}");
}

/// A test that panics still drops its PostgreSQL database: the guard drops it on unwinding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_panics_still_drops_its_postgres_database() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let name = database.name().to_owned();
    let app = TestApp::on(Kind::Postgres, &database.url(), Some(database)).await;
    app.customer(None).await;
    let panicked = tokio::spawn(async move {
        let _app = app;
        panic!("a test fails with its app and database alive");
    })
    .await;
    assert!(panicked.is_err_and(|err| err.is_panic()));
    let exists = sql::database_exists(&postgres_admin_url(), &name).await;
    assert!(!exists, "the database {name} is gone");
}
