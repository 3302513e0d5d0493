//! What every drill needs: the real `orb-mock` binary as a child process (its stderr kept in a
//! file, to look for panics), an HTTP/1.1 client that tells "no answer" from "an answer cut off
//! mid-body", and direct reads of the store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// How long a drill waits for something that should take well under a second (a hang-guard,
/// not a timing assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A running `orb-mock` (killed when dropped).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr: PathBuf,
}

impl Server {
    /// Starts the debug binary on a free port against `database_url`, with extra flags and
    /// environment variables.
    pub fn start(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let stderr = std::env::temp_dir().join(format!(
            "orb-mock-drill-{}.stderr",
            orb_mock::store::new_id()
        ));
        let file = std::fs::File::create(&stderr).expect("a stderr file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_orb-mock"));
        command
            .args(["--listen", &addr.to_string()])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "orb_mock=info,tower_http=warn")
            .env_remove("ORB_MOCK_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the binary starts");
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// Waits until `/_mock/health` answers 200; panics (with the server's stderr) if the
    /// process exits or the guard runs out first.
    pub async fn healthy(mut self) -> Server {
        let client = client();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "orb-mock exited ({status}) before it was healthy:\n{}",
                    self.stderr()
                );
            }
            let request = Request::get(format!("http://{}/_mock/health", self.addr))
                .body(Full::new(Bytes::new()))
                .expect("a request");
            if let Ok(Ok(response)) =
                tokio::time::timeout(Duration::from_secs(5), client.request(request)).await
            {
                if response.status() == StatusCode::OK {
                    return self;
                }
            }
            assert!(
                start.elapsed() < HANG_GUARD,
                "orb-mock never became healthy:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Asserts that nothing panicked in the server.
    pub fn assert_no_panic(&self) {
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "orb-mock panicked:\n{stderr}");
    }

    /// Sends a signal (`-TERM`, `-KILL`, …) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {}", self.pid());
    }

    /// Waits for the process to exit by itself and returns how it exited.
    pub async fn exited(&mut self, guard: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < guard,
                "orb-mock did not exit within {guard:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

pub type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// A keep-alive HTTP/1.1 client (connections are pooled and reused).
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>()
}

/// A complete answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "{} body is not JSON ({err}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an Orb error body of this status (keys `type`, `status`, `title`, `detail`).
    pub fn assert_orb_error(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert!(
            body["type"].as_str().is_some_and(
                |t| t.starts_with("https://docs.withorb.com/reference/error-responses#")
            ),
            "an Orb error type: {body}"
        );
        assert_eq!(body["status"], status, "{body}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(body["detail"].is_string(), "{body}");
        body
    }
}

/// How a request ended.
#[derive(Debug)]
pub enum Outcome {
    Answered(Reply),
    /// No response head arrived (connection refused, or closed before answering).
    NoAnswer(String),
    /// The response head arrived but its body was cut off.
    Cut(String),
}

impl Outcome {
    /// The reply, or a panic naming what happened instead.
    pub fn reply(self) -> Reply {
        match self {
            Outcome::Answered(reply) => reply,
            other => panic!("expected an answer, got {other:?}"),
        }
    }
}

/// Calls orb-mock at `addr` as the account `token`.
#[derive(Clone)]
pub struct Api {
    pub client: HttpClient,
    pub addr: SocketAddr,
    pub token: String,
}

impl Api {
    pub fn new(addr: SocketAddr, token: &str) -> Api {
        Api {
            client: client(),
            addr,
            token: token.to_owned(),
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Outcome {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .expect("a request");
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(err) => return Outcome::NoAnswer(format!("{err:?}")),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.into_body().collect().await {
            Ok(body) => Outcome::Answered(Reply {
                status,
                headers,
                body: body.to_bytes(),
            }),
            Err(err) => Outcome::Cut(format!("{status}: {err:?}")),
        }
    }

    /// Like [`Api::send`], asserting that an answer came.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, body).await.reply()
    }

    /// Creates a customer (asserting 201) and returns its id.
    pub async fn customer(&self) -> String {
        let reply = self
            .call(
                Method::POST,
                "/v1/customers",
                Some(json!({"name": "Drill", "email": "drill@example.com"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        id_of(&reply)
    }

    pub async fn subscription(&self, customer_id: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/v1/subscriptions",
                Some(json!({"customer_id": customer_id, "plan_id": "plan_drill"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        id_of(&reply)
    }

    /// A draft one-off invoice (which does not block deletion).
    pub async fn draft_invoice(&self, customer_id: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/v1/invoices",
                Some(invoice_body(customer_id)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        id_of(&reply)
    }

    pub async fn delete_customer(&self, customer_id: &str) {
        let reply = self
            .call(
                Method::DELETE,
                &format!("/v1/customers/{customer_id}"),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    }

    /// The account id orb-mock stores for this token.
    pub fn account(&self) -> String {
        orb_mock::http::extract::Account::from_token(&self.token).0
    }
}

/// The body of a draft one-off invoice for a customer.
pub fn invoice_body(customer_id: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "currency": "USD",
        "invoice_date": "2026-01-05T10:00:00+00:00",
        "line_items": [{
            "name": "Seats", "item_id": "seats", "model_type": "unit",
            "quantity": 2, "unit_config": {"unit_amount": "4.00"},
            "start_date": "2026-01-01", "end_date": "2026-01-31"
        }]
    })
}

pub fn id_of(reply: &Reply) -> String {
    reply.json()["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {}", reply.text()))
        .to_owned()
}

/// Polls `until` every 50 ms until it holds; panics with `what` after `guard`.
pub async fn eventually<F, Fut>(guard: Duration, what: &str, mut until: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !until().await {
        assert!(start.elapsed() < guard, "{what}: not within {guard:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `i64` from SQL run directly on the store (outside orb-mock).
pub async fn scalar(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url)
            .await
            .expect("sqlite connects");
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    } else {
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .expect("postgres connects");
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}

/// README, "Deleting a customer"'s invariants over the whole store, as orb-mock's own audit sees them.
pub async fn invariant_violations(url: &str) -> Vec<String> {
    let store = orb_mock::store::Store::connect(&orb_mock::store::ConnectOptions::new(url))
        .await
        .expect("the store opens");
    let violations = store.invariant_violations().await.expect("the audit runs");
    store.close().await;
    violations
}

/// How many seconds a long drill runs: `ORB_MOCK_DRILL_SECS`, else `default`.
pub fn drill_secs(default: u64) -> Duration {
    Duration::from_secs(
        std::env::var("ORB_MOCK_DRILL_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}

/// One text column from SQL run directly on the store (outside orb-mock).
pub async fn strings(url: &str, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url)
            .await
            .expect("sqlite connects");
        sqlx::query_scalar::<_, String>(sql)
            .fetch_all(&mut connection)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    } else {
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .expect("postgres connects");
        sqlx::query_scalar::<_, String>(sql)
            .fetch_all(&mut connection)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}
