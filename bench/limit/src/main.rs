//! The benchmark's "limit": a minimal axum server answering the benchmarked routes with fixed
//! bodies and no state, so orb-mock's figures can be read against what HTTP alone costs on the
//! same machine. Usage: `bench-limit [listen address]` (default 127.0.0.1:4020).
//!
//! It is also the webhook row's receiver: `POST /hooks` answers 200 and counts the deliveries,
//! `GET /hooks/count` answers the count as text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, StatusCode},
    routing::{get, post},
    Router,
};

/// A Customer as orb-mock renders one, so the response size is comparable.
const CUSTOMER: &str = r#"{"id":"cus_bench_0000001","external_customer_id":null,"name":"Bench","email":"bench@example.com","timezone":"Etc/UTC","payment_provider_id":null,"payment_provider":null,"created_at":"2026-01-01T00:00:00+00:00","shipping_address":null,"billing_address":null,"balance":"0.00","currency":null,"tax_id":null,"auto_collection":true,"exempt_from_automated_tax":null,"email_delivery":true,"additional_emails":[],"portal_url":null,"accounting_sync_configuration":null,"reporting_configuration":null,"hierarchy":{"children":[],"parent":null},"metadata":{}}"#;

fn customer() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CONTENT_TYPE, "application/json")], CUSTOMER)
}

/// Webhook deliveries received since the start.
type Hooks = Arc<AtomicU64>;

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4020".to_owned());
    let hooks: Hooks = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/health", get(|| async { r#"{"status":"ok"}"# }))
        .route(
            "/customers/{id}",
            get(|| async { customer() })
                .put(|| async { customer() })
                .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            "/customers",
            post(|| async { (StatusCode::CREATED, customer()) }),
        )
        .route(
            "/hooks",
            post(|State(hooks): State<Hooks>, _body: axum::body::Bytes| async move {
                hooks.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }),
        )
        .route(
            "/hooks/count",
            get(|State(hooks): State<Hooks>| async move {
                hooks.load(Ordering::Relaxed).to_string()
            }),
        )
        .with_state(hooks);
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
