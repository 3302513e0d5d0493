//! The test harness: a [`TestApp`] per test, on SQLite or on a fresh PostgreSQL database, driven
//! through the real router (`oneshot`) and the real store. Time is moved with the app's
//! [`Clock`], never slept through.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use orb_mock::clock::Clock;
use orb_mock::config::Config;
use orb_mock::server::{App, Worker};
use orb_mock::store::Store;
use serde_json::Value;
use sqlx::Connection;

/// The one outcome of a turn of a queue that attempted exactly one row.
pub fn only_run(turn: orb_mock::store::Turn) -> Option<orb_mock::store::Ran> {
    match turn {
        orb_mock::store::Turn::Ran(mut ran) if ran.len() == 1 => ran.pop(),
        _ => None,
    }
}

/// Where the PostgreSQL tests create their databases (one per test).
pub fn postgres_admin_url() -> String {
    std::env::var("ORB_MOCK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The deletion delay every test app uses: long, so that nothing cascades until a test moves
/// the clock past it.
pub const DELAY: Duration = Duration::from_secs(3600);

pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.database_url = database_url.to_owned();
    config.deletion_delay = DELAY;
    config.api_keys = Vec::new();
    config
}

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
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
    /// The PostgreSQL database this test owns, dropped at the end.
    pub database: Option<String>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|err| {
            panic!(
                "response ({}) is not JSON: {err}: {:?}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 201 and returns the created object.
    pub fn created(&self) -> Value {
        assert_eq!(
            self.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.json()
    }

    /// Asserts an Orb error body: status, type suffix, the keys every error carries, and JSON.
    pub fn assert_error(&self, status: u16, type_suffix: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(
            body["type"],
            format!("https://docs.withorb.com/reference/error-responses#{type_suffix}")
        );
        assert_eq!(
            body["status"], status,
            "status in the body equals the HTTP status"
        );
        assert_eq!(
            body["title"],
            title_of(type_suffix),
            "the exact title: {body}"
        );
        assert!(body["detail"].is_string(), "detail is a string: {body}");
        body
    }
}

impl TestApp {
    /// An app on a fresh in-memory SQLite store.
    pub async fn sqlite() -> TestApp {
        TestApp::on(Kind::Sqlite, "sqlite::memory:", None).await
    }

    /// An app on a fresh PostgreSQL database, or `None` (loudly) when PostgreSQL is not
    /// reachable; under `CI=true` that is a failure instead.
    pub async fn postgres() -> Option<TestApp> {
        let database = fresh_postgres_database().await?;
        let url = database_url(&database);
        Some(TestApp::on(Kind::Postgres, &url, Some(database)).await)
    }

    pub async fn on(kind: Kind, url: &str, database: Option<String>) -> TestApp {
        TestApp::with_config(kind, test_config(url), database).await
    }

    pub async fn with_config(kind: Kind, config: Config, database: Option<String>) -> TestApp {
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

    /// Sends a request as the default account.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        self.call_as(&self.token.clone(), method, path, body).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> TestResponse {
        let client = Client {
            router: self.router.clone(),
            token: token.to_owned(),
        };
        client.call_with(method, path, &[], body).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        crate::stores::send_to(self.router.clone(), request).await
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

    /// The account id (hash) of the default token.
    pub fn account(&self) -> String {
        orb_mock::http::extract::Account::from_token(&self.token).0
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
        let response = self
            .post(
                "/invoices",
                serde_json::json!({
                    "customer_id": customer_id,
                    "currency": "USD",
                    "invoice_date": "2026-01-05T10:00:00+00:00",
                    "will_auto_issue": issued,
                    "line_items": [{
                        "name": "Seats", "item_id": "seats", "model_type": "unit",
                        "quantity": 2, "unit_config": {"unit_amount": "4.00"},
                        "start_date": "2026-01-01", "end_date": "2026-01-31"
                    }]
                }),
            )
            .await;
        response.created()
    }

    pub async fn subscription(&self, customer_id: &str) -> Value {
        let response = self
            .post(
                "/subscriptions",
                serde_json::json!({"customer_id": customer_id, "plan_id": "plan_basic"}),
            )
            .await;
        response.created()
    }

    /// Deletes a customer, asserting Orb's answer: 204 with an empty body.
    pub async fn delete_customer(&self, id: &str) {
        let response = self.delete(&format!("/customers/{id}")).await;
        assert_eq!(
            response.status,
            StatusCode::NO_CONTENT,
            "{}",
            String::from_utf8_lossy(&response.bytes)
        );
        assert!(response.bytes.is_empty(), "204 has an empty body");
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
            drop_database(&database).await;
        }
    }
}

/// A fresh, empty PostgreSQL database for one test (stale ones from crashed runs are dropped).
pub async fn fresh_postgres_database() -> Option<String> {
    let admin_url = postgres_admin_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(connection) => connection,
        Err(err) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is required under CI=true but is not reachable at {admin_url}: {err}");
            }
            eprintln!(
                "\n*** SKIPPED: PostgreSQL is not reachable at {admin_url} ({err}); \
                 the PostgreSQL half of this test did not run. ***\n"
            );
            return None;
        }
    };
    let now = chrono::Utc::now().timestamp();
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'orbmock_t_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for name in stale {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|ts| ts.parse::<i64>().ok())
            .unwrap_or(now);
        if now - created > 3600 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!(
        "orbmock_t_{now}_{}",
        orb_mock::store::new_id().to_lowercase()
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    Some(name)
}

pub fn database_url(database: &str) -> String {
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    format!("{base}/{database}")
}

pub async fn drop_database(database: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .execute(&mut admin)
        .await;
    }
}

/// Declares one test per store over a shared scenario: each `$test => $make` line makes the
/// scenario's argument (`None` skips, as when PostgreSQL is unreachable outside CI), runs the
/// scenario on it, then calls `$finish` on it.
#[macro_export]
macro_rules! store_matrix {
    (
        $(#[doc = $doc:literal])* $name:ident, |$arg:ident: $ty:ty| $body:block, $finish:ident,
        $($test:ident => $make:expr),+
    ) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($arg: &$ty) $body

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(subject) = $make else { return };
                    scenario(&subject).await;
                    subject.$finish().await;
                }
            )+
        }
    };
}

/// Declares a test that runs once on each store: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block) => {
        $crate::store_matrix! {
            $(#[doc = $doc])* $name, |$app: $crate::support::TestApp| $body, stop,
            sqlite => Some($crate::support::TestApp::sqlite().await),
            postgres => $crate::support::TestApp::postgres().await
        }
    };
}

impl TestApp {
    /// Another app on the same kind of store (a fresh database for PostgreSQL), whose config
    /// `adjust` has changed. For tests of settings such as `api_keys` or `max_body_bytes`.
    pub async fn configured(kind: Kind, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (url, database) = match kind {
            Kind::Sqlite => ("sqlite::memory:".to_owned(), None),
            Kind::Postgres => {
                let database = fresh_postgres_database()
                    .await
                    .expect("PostgreSQL answered for this test's first app");
                (database_url(&database), Some(database))
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

    /// A request builder already carrying the default account's bearer token.
    pub fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token))
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

    /// A handle that sends as the default account from a spawned task.
    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            token: self.token.clone(),
        }
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
}

impl TestResponse {
    /// Asserts a 400 `request-validation-errors` whose `validation_errors` is an array of
    /// strings with one entry naming each of `fields` (entries read `field: problem`).
    pub fn assert_validation(&self, fields: &[&str]) -> Value {
        let body = self.assert_error(400, "400-request-validation-errors");
        let errors = body["validation_errors"]
            .as_array()
            .unwrap_or_else(|| panic!("validation_errors is an array: {body}"));
        assert!(!errors.is_empty(), "at least one validation error: {body}");
        assert!(
            errors.iter().all(Value::is_string),
            "every validation error is a string: {body}"
        );
        for field in fields {
            assert!(
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|error| error.starts_with(&format!("{field}:"))),
                "a validation error names {field:?}: {body}"
            );
        }
        body
    }

    /// The `data` array of a page.
    pub fn data(&self) -> Vec<Value> {
        let body = self.json();
        body["data"]
            .as_array()
            .unwrap_or_else(|| panic!("a page has a data array: {body}"))
            .clone()
    }
}

/// Percent-encodes a query value (`+` in an RFC 3339 offset would otherwise read as a space).
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `id` of a JSON object.
pub fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// The ids on one page of a list, which must answer 200.
pub async fn listed_ids(app: &TestApp, path: &str) -> Vec<String> {
    let response = app.get(path).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&response.bytes)
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

/// The title every error of a type carries (README, "Errors": always a non-empty string).
pub fn title_of(type_suffix: &str) -> &'static str {
    match type_suffix {
        "400-constraint-violation" => "Constraint violation",
        "400-duplicate-resource-creation" => "Duplicate resource creation",
        "400-request-validation-errors" => "Request validation error",
        "404-feature-not-available" => "Feature not available",
        "401-authentication-error" => "Authentication error",
        "404-resource-not-found" => "Resource not found",
        "404-url-not-found" => "URL not found",
        "409-resource-conflict" => "Resource conflict",
        "413-request-too-large" => "Request too large",
        "413-resource-too-large" => "Resource too large",
        "413-too-many-results" => "Too many results",
        "429-too-many-requests" => "Too many requests",
        "500-internal-server-error" => "Internal server error",
        other => panic!("no such Orb error type: {other}"),
    }
}

/// Walks every page from `path` and asserts the page sizes, and that each id in `created`
/// appears exactly once and nothing else appears.
pub async fn assert_pages_visit_each_once(
    app: &TestApp,
    path: &str,
    created: &std::collections::HashSet<String>,
    expected_sizes: &[usize],
) {
    let (seen, sizes) = walk_pages(app, path).await;
    assert_eq!(sizes, expected_sizes, "page sizes of {path}");
    assert_eq!(seen.len(), created.len(), "no id is seen twice");
    let seen: std::collections::HashSet<String> = seen.into_iter().collect();
    assert_eq!(&seen, created, "each created id exactly once");
}

/// Sends requests to a test app's router as one account; cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Client {
    router: axum::Router,
    token: String,
}

impl Client {
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        crate::stores::send_to(
            self.router.clone(),
            request.body(body).expect("valid request"),
        )
        .await
    }
}
