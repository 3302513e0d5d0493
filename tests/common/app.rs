//! A [`TestApp`] per test, on SQLite or on a fresh PostgreSQL database, driven through the real
//! router (`oneshot`) and the real store. Time is moved with the app's [`Clock`], never slept
//! through.

use std::collections::HashSet;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use orb_mock::clock::Clock;
use orb_mock::config::Config;
use orb_mock::server::{App, Worker};
use orb_mock::store::Store;
use serde_json::Value;

use super::client::{id_of, invoice_body, Client, TestResponse};
use super::stores::TestDatabase;

/// The deletion delay every test app uses: long, so that nothing cascades until a test moves
/// the clock past it.
pub const DELAY: Duration = Duration::from_secs(3600);

pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.database_url = database_url.to_owned();
    config.deletion_delay = DELAY;
    config.api_keys = Vec::new();
    // Webhook retries at once, so that a flush sees a failing receiver's retries.
    config.webhook_retry_base = Duration::from_millis(1);
    config
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// The kind of store a database URL names.
    pub fn of(url: &str) -> Kind {
        if url.starts_with("sqlite:") {
            Kind::Sqlite
        } else {
            Kind::Postgres
        }
    }
}

pub struct TestApp {
    pub kind: Kind,
    pub app: Option<App>,
    pub router: Router,
    pub clock: Clock,
    pub store: Store,
    pub config: Config,
    /// The bearer token of this test's default account.
    pub token: String,
    /// The PostgreSQL database this test owns, dropped at the end (or when the test panics).
    pub database: Option<TestDatabase>,
}

impl TestApp {
    /// An app on a fresh in-memory SQLite store.
    pub async fn sqlite() -> TestApp {
        TestApp::on(Kind::Sqlite, "sqlite::memory:", None).await
    }

    /// An app on a fresh PostgreSQL database. When PostgreSQL is not reachable this fails,
    /// unless `ORB_MOCK_SKIP_POSTGRES=1` is set: then it is `None` (and says SKIPPED).
    pub async fn postgres() -> Option<TestApp> {
        let database = TestDatabase::create().await?;
        let url = database.url();
        Some(TestApp::on(Kind::Postgres, &url, Some(database)).await)
    }

    pub async fn on(kind: Kind, url: &str, database: Option<TestDatabase>) -> TestApp {
        TestApp::with_config(kind, test_config(url), database).await
    }

    pub async fn with_config(
        kind: Kind,
        config: Config,
        database: Option<TestDatabase>,
    ) -> TestApp {
        let clock = Clock::default();
        // No background worker: tests drive the queue (finish_deletions, drain) and must not
        // be raced. The worker itself is tested over a real socket (socket.rs).
        let app = App::start_with(&config, clock.clone(), Worker::Off)
            .await
            .unwrap_or_else(|err| panic!("app starts on {kind:?}: {err}"));
        let router = app.router();
        let store = app.state.store.clone();
        TestApp {
            kind,
            app: Some(app),
            router,
            clock,
            store,
            config,
            token: format!("test-{}", orb_mock::store::new_id()),
            database,
        }
    }

    /// Another app on the same kind of store (a fresh database for PostgreSQL), whose config
    /// `adjust` has changed. For tests of settings such as `api_keys` or `max_body_bytes`.
    pub async fn configured(kind: Kind, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (url, database) = match kind {
            Kind::Sqlite => ("sqlite::memory:".to_owned(), None),
            Kind::Postgres => {
                let database = TestDatabase::create()
                    .await
                    .expect("PostgreSQL answered for this test's first app");
                (database.url(), Some(database))
            }
        };
        let mut config = test_config(&url);
        adjust(&mut config);
        TestApp::with_config(kind, config, database).await
    }

    /// Another app on the same kind of store that accepts only these API keys.
    pub async fn with_api_keys(kind: Kind, keys: &[&str]) -> TestApp {
        TestApp::configured(kind, |config| {
            config.api_keys = keys.iter().map(|key| (*key).to_owned()).collect();
        })
        .await
    }

    /// A handle that sends as the default account, also from a spawned task.
    pub fn client(&self) -> Client {
        self.client_as(&self.token)
    }

    /// A handle that sends as the account of `token`.
    pub fn client_as(&self, token: &str) -> Client {
        Client::router(self.router.clone(), token)
    }

    /// A request builder already carrying the default account's bearer token.
    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        self.client().request(method, path)
    }

    /// Sends a request as it is.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        self.client().send_request(request).await.reply()
    }

    /// Sends a request as the default account.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        self.client().call(method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        self.client_as(token).call(method, path, body).await
    }

    /// Sends a request as the default account with extra headers (and a JSON body if given).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        self.client().call_with(method, path, headers, body).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.call(Method::DELETE, path, None).await
    }

    /// Sends raw bytes as a JSON body (for bodies `serde_json::Value` cannot express).
    pub async fn post_raw(&self, path: &str, body: &str) -> TestResponse {
        let request = self
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .expect("valid request");
        self.send(request).await
    }

    /// The account id (hash) of the default token.
    pub fn account(&self) -> String {
        self.client().account()
    }

    /// Creates a customer and returns its JSON.
    pub async fn customer(&self, external_id: Option<&str>) -> Value {
        let mut body = serde_json::json!({"name": "Ada Lovelace", "email": "ada@example.com"});
        if let Some(external) = external_id {
            body["external_customer_id"] = Value::from(external);
        }
        let response = self.post("/customers", body).await;
        response.created()
    }

    /// Creates a one-off invoice (2 × 4.00) for a customer; `issued` makes it issued at once.
    pub async fn invoice(&self, customer_id: &str, issued: bool) -> Value {
        let mut body = invoice_body(customer_id);
        body["will_auto_issue"] = Value::from(issued);
        let response = self.post("/invoices", body).await;
        response.created()
    }

    pub async fn subscription(&self, customer_id: &str) -> Value {
        let body = serde_json::json!({"customer_id": customer_id, "plan_id": "plan_basic"});
        let response = self.post("/subscriptions", body).await;
        response.created()
    }

    /// Deletes a customer, asserting Orb's answer: 204 with an empty body.
    pub async fn delete_customer(&self, id: &str) {
        self.client().delete_customer(id).await;
    }

    /// Moves time past the deletion delay and runs every due cascade now.
    pub async fn finish_deletions(&self) {
        self.clock.advance(DELAY + Duration::from_secs(1));
        orb_mock::worker::drain(
            &self.store,
            &self.clock,
            orb_mock::store::Queue::Deletions,
            None,
        )
        .await
        .expect("cascades run");
    }

    /// Stops the app and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        if let Some(database) = self.database.take() {
            database.remove().await;
        }
    }
}

/// Percent-encodes a query value (`+` in an RFC 3339 offset would otherwise read as a space).
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The ids on one page of a list, which must answer 200.
pub async fn listed_ids(app: &TestApp, path: &str) -> Vec<String> {
    let response = app.get(path).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.data().iter().map(id_of).collect()
}

/// Follows `next_cursor` from `path` (which carries a query already) to the last page, checking
/// on each page that `next_cursor` is null exactly when `has_more` is false. Returns every id
/// seen, in order, and the size of each page.
pub async fn walk_pages(app: &TestApp, path: &str) -> (Vec<String>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut next = path.to_owned();
    loop {
        let response = app.get(&next).await;
        assert_eq!(response.status, StatusCode::OK, "{next}");
        let body = response.json();
        let data = body["data"].as_array().expect("a page has data");
        sizes.push(data.len());
        seen.extend(data.iter().map(id_of));
        let meta = &body["pagination_metadata"];
        assert_eq!(
            meta["has_more"].as_bool().expect("has_more"),
            meta["next_cursor"].is_string(),
            "next_cursor is null exactly when has_more is false: {meta}"
        );
        match meta["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&cursor={}", encode(cursor)),
            None => break,
        }
        assert!(sizes.len() < 1000, "pagination terminates");
    }
    (seen, sizes)
}

/// Walks every page from `path` and asserts the page sizes, and that each id in `created`
/// appears exactly once and nothing else appears.
pub async fn assert_pages_visit_each_once(
    app: &TestApp,
    path: &str,
    created: &HashSet<String>,
    expected_sizes: &[usize],
) {
    let (seen, sizes) = walk_pages(app, path).await;
    assert_eq!(sizes, expected_sizes, "page sizes of {path}");
    assert_eq!(seen.len(), created.len(), "no id is seen twice");
    let seen: HashSet<String> = seen.into_iter().collect();
    assert_eq!(&seen, created, "each created id exactly once");
}

/// The one outcome of a turn of a queue that attempted exactly one row.
pub fn only_run(turn: orb_mock::store::Turn) -> Option<orb_mock::store::Ran> {
    match turn {
        orb_mock::store::Turn::Ran(mut ran) if ran.len() == 1 => ran.pop(),
        _ => None,
    }
}
