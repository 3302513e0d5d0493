//! orb-mock inside a Rust test: [`MockServer::start`] serves the real router on a free port of
//! 127.0.0.1 in the test's own process, and [`MockServer::account`] hands out a fresh account
//! (an API key nobody else uses) with helpers for the `/_mock` control routes.
//!
//! There is no global pool: every server is its own store (a private in-memory SQLite database
//! by default), its own worker and its own listener, so tests running on `cargo test`'s
//! parallel threads never see each other. The helpers call the `/_mock` routes through the
//! same router the socket serves (no HTTP client needed), so they take the exact code paths a
//! client's request takes.
//!
//! ```no_run
//! # async fn example() {
//! let server = orb_mock::testing::MockServer::start().await;
//! let account = server.account();
//! // Point your Orb client at `server.base_url()` with `account.api_key()`, then:
//! account.add_fault(serde_json::json!({"path": "/customers", "status": 429, "times": 1})).await;
//! let journal = account.journal().await;
//! server.shutdown().await;
//! # }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::server::{App, ServeError, Worker};

/// How a [`MockServer`] is configured before it starts.
#[derive(Debug, Clone)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// The store: `sqlite::memory:` (the default, private to this server),
    /// `sqlite://path.db`, or `postgres://…` (migrated on start).
    pub fn database_url(mut self, url: impl Into<String>) -> Builder {
        self.config.database_url = url.into();
        self
    }

    /// Time from an accepted DELETE to its cascade (default 2 s, as the binary); an account
    /// can still override it with [`Account::set_deletion_delay`].
    pub fn deletion_delay(mut self, delay: Duration) -> Builder {
        self.config.deletion_delay = delay;
        self
    }

    /// Any other setting, as the binary's flags would set it.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Builder {
        change(&mut self.config);
        self
    }

    /// Starts serving on a free port of 127.0.0.1; `listen` in the configuration is ignored.
    pub async fn try_start(self) -> Result<MockServer, ServeError> {
        let config = self.config;
        let app = App::start_with(&config, Clock::default(), Worker::Run).await?;
        let router = app.router();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();
        let stopped = stop.clone().cancelled_owned();
        let serving = tokio::spawn(async move { app.serve(listener, stopped, &config).await });
        Ok(MockServer {
            address,
            router,
            stop,
            serving: Some(serving),
        })
    }

    /// Like [`Builder::try_start`].
    ///
    /// # Panics
    /// When the store cannot be opened (a test cannot go on without its server).
    pub async fn start(self) -> MockServer {
        match self.try_start().await {
            Ok(server) => server,
            Err(err) => panic!("orb-mock's MockServer did not start: {err}"),
        }
    }
}

/// An orb-mock serving in this process until [`MockServer::shutdown`] or until it is dropped.
pub struct MockServer {
    address: SocketAddr,
    router: Router,
    stop: CancellationToken,
    serving: Option<JoinHandle<Result<(), ServeError>>>,
}

impl MockServer {
    /// A server with the binary's defaults on a private in-memory SQLite database. Settings
    /// in the environment (`DATABASE_URL`, `ORB_MOCK_*`) are not read.
    pub async fn start() -> MockServer {
        MockServer::builder().start().await
    }

    /// A builder, to choose the store or change settings before starting.
    pub fn builder() -> Builder {
        let mut config = Config::defaults();
        // Config::defaults() reads the environment like the binary; a test server must not.
        config.database_url = "sqlite::memory:".to_owned();
        config.deletion_delay = Duration::from_secs(2);
        config.api_keys = Vec::new();
        config.fixtures = None;
        config.rate_limit = None;
        config.journal_size = 1000;
        Builder { config }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`: the root, where the `/_mock` routes are.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL for an Orb client.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.uri())
    }

    /// A fresh account: a random API key that no other test uses, with its control helpers.
    pub fn account(&self) -> Account {
        Account {
            api_key: format!("sk_test_{:032x}", rand::random::<u128>()),
            router: self.router.clone(),
        }
    }

    /// Stops accepting connections, finishes in-flight requests, stops the worker and
    /// closes the store.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(serving) = self.serving.take() {
            match serving.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "MockServer stopped badly"),
                Err(err) => tracing::error!(error = %err, "MockServer's task ended abnormally"),
            }
        }
    }
}

impl Drop for MockServer {
    /// A server that was not shut down stops in the background (or with its runtime).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// An answer from a `/_mock` route.
#[derive(Debug, Clone)]
pub struct ControlResponse {
    pub status: StatusCode,
    /// The JSON body; `Null` when there is none (204).
    pub body: Value,
}

/// One account on a [`MockServer`]: its API key and helpers for the `/_mock` control routes
/// (README, "Control surface"), each acting on this account only.
///
/// The typed helpers panic, naming the route and the answer, when a route does not answer
/// 2xx; [`Account::control`] returns any answer instead.
#[derive(Clone)]
pub struct Account {
    api_key: String,
    router: Router,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// The API key: send it as `Authorization: Bearer <key>`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Calls any route (control or Orb's) as this account and returns its answer.
    pub async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> ControlResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.api_key));
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let request = request.body(body).expect("a request with a valid path");
        let response = tower::ServiceExt::oneshot(self.router.clone(), request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = match axum::body::to_bytes(response.into_body(), usize::MAX).await {
            Ok(bytes) => bytes,
            Err(err) => panic!("{path}: reading the answer failed: {err}"),
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        ControlResponse { status, body }
    }

    async fn expect_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let answer = self.control(method.clone(), path, body).await;
        assert!(
            answer.status.is_success(),
            "{method} {path} answered {}: {}",
            answer.status,
            answer.body
        );
        answer.body
    }

    /// `POST /_mock/reset`: deletes everything this account owns.
    pub async fn reset(&self) {
        self.expect_ok(Method::POST, "/_mock/reset", None).await;
    }

    /// `GET /_mock/settings`.
    pub async fn settings(&self) -> Value {
        self.expect_ok(Method::GET, "/_mock/settings", None).await
    }

    /// `PATCH /_mock/settings` with `{"deletion_delay": …}`; `None` goes back to the server's.
    pub async fn set_deletion_delay(&self, delay: Option<Duration>) -> Value {
        let delay = delay.map(|d| format!("{}ms", d.as_millis()));
        let body = serde_json::json!({ "deletion_delay": delay });
        self.expect_ok(Method::PATCH, "/_mock/settings", Some(body))
            .await
    }

    /// `GET /_mock/deletions`: this account's deletions, newest first.
    pub async fn deletions(&self) -> Vec<Value> {
        data(self.expect_ok(Method::GET, "/_mock/deletions", None).await)
    }

    /// `POST /_mock/deletions/complete`: runs every pending cascade now; returns the answer
    /// (`{"completed": N, "data": [...]}`).
    pub async fn complete_deletions(&self) -> Value {
        let body = serde_json::json!({});
        self.expect_ok(Method::POST, "/_mock/deletions/complete", Some(body))
            .await
    }

    /// `POST /_mock/deletions/complete` for one customer.
    pub async fn complete_deletion(&self, customer_id: &str) -> Value {
        let body = serde_json::json!({ "customer_id": customer_id });
        self.expect_ok(Method::POST, "/_mock/deletions/complete", Some(body))
            .await
    }

    /// `POST /_mock/fixtures`: loads a fixtures document; returns the ids it created.
    pub async fn load_fixtures(&self, document: Value) -> Value {
        self.expect_ok(Method::POST, "/_mock/fixtures", Some(document))
            .await
    }

    /// `GET /_mock/requests`: the journal, newest first, optionally filtered by method and
    /// path prefix.
    pub async fn journal_filtered(&self, method: Option<&str>, path: Option<&str>) -> Vec<Value> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(method.map(|m| ("method", m)))
            .extend_pairs(path.map(|p| ("path", p)))
            .finish();
        let route = if query.is_empty() {
            "/_mock/requests".to_owned()
        } else {
            format!("/_mock/requests?{query}")
        };
        data(self.expect_ok(Method::GET, &route, None).await)
    }

    /// `GET /_mock/requests`: the whole journal, newest first.
    pub async fn journal(&self) -> Vec<Value> {
        self.journal_filtered(None, None).await
    }

    /// `DELETE /_mock/requests`: clears the journal.
    pub async fn clear_journal(&self) {
        self.expect_ok(Method::DELETE, "/_mock/requests", None)
            .await;
    }

    /// `POST /_mock/faults`: adds a fault rule; returns it with its `id`.
    pub async fn add_fault(&self, rule: Value) -> Value {
        self.expect_ok(Method::POST, "/_mock/faults", Some(rule))
            .await
    }

    /// `GET /_mock/faults`: the rules in firing order, with their counts.
    pub async fn faults(&self) -> Vec<Value> {
        data(self.expect_ok(Method::GET, "/_mock/faults", None).await)
    }

    /// `DELETE /_mock/faults`: removes every rule.
    pub async fn clear_faults(&self) {
        self.expect_ok(Method::DELETE, "/_mock/faults", None).await;
    }

    /// `DELETE /_mock/faults/{id}`: removes one rule.
    pub async fn remove_fault(&self, id: &str) {
        let path = format!("/_mock/faults/{id}");
        self.expect_ok(Method::DELETE, &path, None).await;
    }
}

/// The `data` list of a list answer.
fn data(body: Value) -> Vec<Value> {
    match body {
        Value::Object(mut object) => match object.remove("data") {
            Some(Value::Array(items)) => items,
            other => panic!("expected a data list, got {other:?}"),
        },
        other => panic!("expected a data list, got {other}"),
    }
}
