//! Stores that outlive an app: a SQLite file and a PostgreSQL database, for tests that restart
//! orb-mock, run two instances on one database, or reach into the database directly.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::{self, Kind, TestApp, TestResponse};

pub struct Persistent {
    pub kind: Kind,
    pub url: String,
    database: Option<String>,
    file: Option<PathBuf>,
}

impl Persistent {
    pub fn sqlite_file() -> Persistent {
        let file =
            std::env::temp_dir().join(format!("orb-mock-test-{}.db", orb_mock::store::new_id()));
        Persistent {
            kind: Kind::Sqlite,
            url: format!("sqlite://{}", file.display()),
            database: None,
            file: Some(file),
        }
    }

    pub async fn postgres() -> Option<Persistent> {
        let database = support::fresh_postgres_database().await?;
        Some(Persistent {
            kind: Kind::Postgres,
            url: support::database_url(&database),
            database: Some(database),
            file: None,
        })
    }

    /// A new app on this store (the store outlives it).
    pub async fn app(&self) -> TestApp {
        TestApp::on(self.kind, &self.url, None).await
    }

    pub async fn cleanup(self) {
        if let Some(database) = &self.database {
            support::drop_database(database).await;
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }

    /// Opens a connection outside orb-mock that holds the write lock orb-mock's DELETE needs
    /// (every customer row on PostgreSQL, the database on SQLite) until it is dropped.
    pub async fn hold_write_lock(&self) -> Box<dyn std::any::Any + Send> {
        self.run_outside(match self.kind {
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres => "BEGIN; SELECT id FROM customers FOR UPDATE",
        })
        .await
    }

    /// Like [`Persistent::hold_write_lock`], but what it blocks is creating customers (the
    /// whole table on PostgreSQL; other tables stay writable).
    pub async fn hold_customer_inserts(&self) -> Box<dyn std::any::Any + Send> {
        self.run_outside(match self.kind {
            Kind::Sqlite => "BEGIN IMMEDIATE",
            Kind::Postgres => "BEGIN; LOCK TABLE customers IN EXCLUSIVE MODE",
        })
        .await
    }

    /// Runs raw SQL on the store, outside orb-mock (to plant faults).
    pub async fn execute(&self, sql: &str) {
        drop(self.run_outside(sql).await);
    }

    /// Runs raw SQL on a new connection of its own, and hands back the connection (whatever
    /// the SQL left open, such as a transaction, lasts until it is dropped).
    async fn run_outside(&self, sql: &str) -> Box<dyn std::any::Any + Send> {
        use sqlx::Connection;
        match self.kind {
            Kind::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("sqlite");
                sqlx::raw_sql(sql)
                    .execute(&mut connection)
                    .await
                    .expect("sql runs");
                Box::new(connection)
            }
            Kind::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("postgres");
                sqlx::raw_sql(sql)
                    .execute(&mut connection)
                    .await
                    .expect("sql runs");
                Box::new(connection)
            }
        }
    }
}

/// Sends a request through a router clone (for concurrent requests from spawned tasks).
pub async fn send_to(router: Router, request: Request<Body>) -> TestResponse {
    let response = router
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    TestResponse {
        status,
        headers,
        bytes,
    }
}

pub fn request(
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    builder
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .expect("valid request")
}

/// Declares a test that runs once on a SQLite file and once on a PostgreSQL database:
/// `name::sqlite_file` and `name::postgres`.
#[macro_export]
macro_rules! on_both_persistent_stores {
    ($(#[doc = $doc:literal])* async fn $name:ident($store:ident) $body:block) => {
        $crate::store_matrix! {
            $(#[doc = $doc])* $name, |$store: $crate::stores::Persistent| $body, cleanup,
            sqlite_file => Some($crate::stores::Persistent::sqlite_file()),
            postgres => $crate::stores::Persistent::postgres().await
        }
    };
}
