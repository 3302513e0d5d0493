//! The pieces the test kits stand on: the binary's ready line on stdout, and
//! `orb_mock::testing::MockServer` used by tests running at the same time. Each test runs on
//! in-memory SQLite and on a fresh PostgreSQL database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use orb_mock::http::error::ErrorKind;
use orb_mock::server::ReadyLine;
use orb_mock::testing::MockServer;
use serde_json::{json, Value};
use sqlx::Connection;

/// A store for one test: in-memory SQLite, or a PostgreSQL database of its own.
struct TestStore {
    url: String,
    postgres: Option<(String, String)>,
}

impl TestStore {
    fn sqlite() -> TestStore {
        TestStore {
            url: "sqlite::memory:".to_owned(),
            postgres: None,
        }
    }

    /// A fresh database next to `ORB_MOCK_TEST_POSTGRES`; `None` (the test skips, loudly) only
    /// when PostgreSQL is unreachable and `ORB_MOCK_SKIP_POSTGRES=1`.
    async fn postgres() -> Option<TestStore> {
        let admin = std::env::var("ORB_MOCK_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(err) if std::env::var("ORB_MOCK_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("SKIPPED: PostgreSQL at {admin} is unreachable ({err})");
                return None;
            }
            Err(err) => panic!(
                "PostgreSQL at {admin} is unreachable ({err}); set ORB_MOCK_SKIP_POSTGRES=1 to skip"
            ),
        };
        let name = format!("orb_mock_kits_{:016x}", rand::random::<u64>());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        Some(TestStore {
            url: format!("{base}/{name}"),
            postgres: Some((admin, name)),
        })
    }

    async fn drop_database(self) {
        if let Some((admin, name)) = self.postgres {
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .expect("DROP DATABASE");
        }
    }
}

/// Runs `$body` with `store: TestStore` once on SQLite and once on PostgreSQL.
macro_rules! on_both_stores {
    ($($(#[$meta:meta])* async fn $name:ident($store:ident) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $store = TestStore::sqlite();
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($store) = TestStore::postgres().await else { return };
                $body
            }
        }
    )*};
}

/// One request on a fresh connection.
async fn send(method: Method, url: &str, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        )))
        .unwrap();
    let response = client.request(request).await.expect("the server answers");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

on_both_stores! {
    /// `--listen 127.0.0.1:0` binds a free port and the first stdout line names it.
    async fn the_binary_listening_on_port_zero_writes_one_ready_line_naming_the_port_it_bound(store) {
        let mut child = Running(
            Command::new(env!("CARGO_BIN_EXE_orb-mock"))
                .args(["--listen", "127.0.0.1:0", "--database-url", &store.url])
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the binary starts"),
        );
        let stdout = child.0.stdout.take().unwrap();
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .unwrap()
        .expect("a line on stdout");
        let raw: Value = serde_json::from_str(&first).expect("the ready line is JSON");
        assert_eq!(
            raw.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["address", "event", "url", "version"]
        );
        let ready: ReadyLine = serde_json::from_value(raw).unwrap();
        assert_eq!(ready.event, "listening");
        assert_eq!(ready.version, env!("CARGO_PKG_VERSION"));
        assert!(ready.address.ip().is_loopback());
        assert_ne!(ready.address.port(), 0, "the line carries the port bound");
        assert_eq!(ready.url, format!("http://{}", ready.address));

        let (status, body) = send(Method::GET, &format!("{}/_mock/health", ready.url), "k", None).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
        drop(child);
        store.drop_database().await;
    }

    /// Two MockServers at once are two separate orb-mocks: each account sees only its own
    /// customers, and each server's control routes act on its own state.
    async fn two_mock_servers_started_at_once_each_serve_their_own_fresh_accounts(store) {
        let (first, second) = tokio::join!(
            MockServer::builder().database_url(&store.url).start(),
            MockServer::builder().database_url(&store.url).start(),
        );
        assert_ne!(first.address(), second.address());
        for server in [&first, &second] {
            let account = server.account();
            let key = account.api_key().to_owned();
            let (status, customer) = send(
                Method::POST,
                &format!("{}/customers", server.base_url()),
                &key,
                Some(json!({"name": "Ada", "email": "ada@example.com"})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{customer}");
            let (_, list) = send(Method::GET, &format!("{}/customers", server.base_url()), &key, None).await;
            assert_eq!(list["data"].as_array().unwrap().len(), 1);
            let other = server.account();
            assert_ne!(other.api_key(), key);
            let (_, list) = send(Method::GET, &format!("{}/customers", server.base_url()), other.api_key(), None).await;
            assert_eq!(list["data"], json!([]));
        }
        first.shutdown().await;
        second.shutdown().await;
        store.drop_database().await;
    }

    /// The account helpers drive the whole deletion story: a fault and its retry, the journal,
    /// a refused delete, settings, and a deletion completed on demand.
    async fn a_mock_server_account_drives_faults_journal_settings_and_deletions(store) {
        let server = MockServer::builder().database_url(&store.url).start().await;
        let account = server.account();
        let key = account.api_key().to_owned();
        let base = server.base_url();

        let rule = account.add_fault(json!({"method": "POST", "path": "/customers", "status": 429, "times": 1})).await;
        assert!(rule["id"].is_string());
        let body = json!({"name": "Ada", "email": "ada@example.com"});
        let (status, _) = send(Method::POST, &format!("{base}/customers"), &key, Some(body.clone())).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, customer) = send(Method::POST, &format!("{base}/customers"), &key, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(account.faults().await[0]["fired"], 1);
        let statuses: Vec<Value> = account.journal_filtered(Some("POST"), Some("/customers")).await
            .into_iter().map(|entry| entry["status"].clone()).collect();
        assert_eq!(statuses, [json!(201), json!(429)]);
        account.clear_faults().await;
        assert!(account.faults().await.is_empty());

        let id = customer["id"].as_str().unwrap();
        let invoice = json!({"customer_id": id, "currency": "USD", "invoice_date": "2026-01-01",
            "line_items": [{"name": "Seat", "quantity": 1, "unit_config": {"unit_amount": "10.00"},
                "start_date": "2026-01-01", "end_date": "2026-01-31", "item_id": "item", "model_type": "unit"}]});
        let (status, invoice) = send(Method::POST, &format!("{base}/invoices"), &key, Some(invoice)).await;
        assert_eq!(status, StatusCode::CREATED, "{invoice}");
        let invoice_id = invoice["id"].as_str().unwrap();
        send(Method::POST, &format!("{base}/invoices/{invoice_id}/issue"), &key, Some(json!({}))).await;
        let (status, refused) = send(Method::DELETE, &format!("{base}/customers/{id}"), &key, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["type"], ErrorKind::ConstraintViolation.type_uri());
        send(Method::POST, &format!("{base}/invoices/{invoice_id}/void"), &key, Some(json!({}))).await;

        account.set_deletion_delay(Some(std::time::Duration::from_secs(3600))).await;
        assert_eq!(account.settings().await["deletion_delay"], "1h");
        let (status, _) = send(Method::DELETE, &format!("{base}/customers/{id}"), &key, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(account.deletions().await[0]["state"], "pending");
        let completed = account.complete_deletion(id).await;
        assert_eq!(completed["completed"], 1);
        let (status, _) = send(Method::GET, &format!("{base}/customers/{id}"), &key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        account.clear_journal().await;
        assert!(account.journal().await.is_empty());
        let loaded = account.load_fixtures(json!({"customers": [{"id": "fixed", "name": "F", "email": "f@example.com"}]})).await;
        assert_eq!(loaded["customers"], json!(["fixed"]));
        account.reset().await;
        let (status, _) = send(Method::GET, &format!("{base}/customers/fixed"), &key, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        server.shutdown().await;
        store.drop_database().await;
    }
}
