//! README, "Accounts" and §3: authentication, and every non-2xx answer as an Orb error body — validation,
//! duplicates, unknown and unemulated routes, oversized bodies, store failures, and ids that no
//! store could hold. Also README, "Flags": every route is served under `/v1` and at the root.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use hyper::body::Frame;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::on_both_stores;

/// A request body sent in chunks with no declared length (as `Transfer-Encoding: chunked`).
struct Chunked(VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }
}

/// `text` cut into `size`-byte chunks, as a body whose length is unknown up front.
fn chunked(text: &str, size: usize) -> Body {
    let chunks = text
        .as_bytes()
        .chunks(size)
        .map(Bytes::copy_from_slice)
        .collect();
    Body::new(Chunked(chunks))
}

/// A customer-creation body of at least `len` bytes (the name pads it out).
fn customer_body_of(len: usize) -> String {
    let body = json!({"name": "x".repeat(len), "email": "big@example.com"}).to_string();
    assert!(body.len() >= len);
    body
}

async fn customer_count(app: &TestApp) -> usize {
    let response = app.get("/customers?limit=100").await;
    assert_eq!(response.status, StatusCode::OK);
    response.data().len()
}

/// Sends a request with this exact `Authorization` header value (or none).
async fn with_authorization(
    app: &TestApp,
    authorization: Option<&str>,
    path: &str,
) -> crate::common::TestResponse {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

// ---------------------------------------------------------------------------------------------
// 401 authentication-error (README, "Accounts")
// ---------------------------------------------------------------------------------------------

on_both_stores!(a_request_without_an_authorization_header_is_an_authentication_error);
/// No `Authorization` header at all is a 401, on reads and on writes.
async fn a_request_without_an_authorization_header_is_an_authentication_error(app: &TestApp) {
    with_authorization(app, None, "/customers")
        .await
        .assert_error(401, "401-authentication-error");
    with_authorization(app, None, "/v1/customers")
        .await
        .assert_error(401, "401-authentication-error");
    let post = Request::builder()
        .method(Method::POST)
        .uri("/customers")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"A","email":"a@example.com"}"#))
        .unwrap();
    app.send(post)
        .await
        .assert_error(401, "401-authentication-error");
    assert_eq!(customer_count(app).await, 0, "nothing was created");
}

on_both_stores!(a_basic_authorization_header_is_an_authentication_error);
/// Only the Bearer scheme is accepted.
async fn a_basic_authorization_header_is_an_authentication_error(app: &TestApp) {
    let response = with_authorization(app, Some("Basic xxx"), "/customers").await;
    response.assert_error(401, "401-authentication-error");
    let response = with_authorization(app, Some("Token abc"), "/customers").await;
    response.assert_error(401, "401-authentication-error");
}

on_both_stores!(a_bearer_header_with_an_empty_token_is_an_authentication_error);
/// `Bearer ` followed by nothing (or only blanks) is not a token.
async fn a_bearer_header_with_an_empty_token_is_an_authentication_error(app: &TestApp) {
    for value in ["Bearer ", "Bearer    ", "Bearer"] {
        let response = with_authorization(app, Some(value), "/customers").await;
        response.assert_error(401, "401-authentication-error");
    }
}

on_both_stores!(with_api_keys_configured_an_unlisted_key_is_refused_and_a_listed_key_is_accepted);
/// With `api_keys` configured, only the listed keys get in.
async fn with_api_keys_configured_an_unlisted_key_is_refused_and_a_listed_key_is_accepted(
    app: &TestApp,
) {
    let keyed = TestApp::with_api_keys(app.kind, &["key-one", "key-two"]).await;
    keyed
        .call_as("not-a-key", Method::GET, "/customers", None)
        .await
        .assert_error(401, "401-authentication-error");
    keyed
        .call_as(
            "not-a-key",
            Method::POST,
            "/customers",
            Some(json!({"name": "A", "email": "a@example.com"})),
        )
        .await
        .assert_error(401, "401-authentication-error");
    let listed = keyed
        .call_as("key-one", Method::GET, "/customers", None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["data"], json!([]));
    let created = keyed
        .call_as(
            "key-two",
            Method::POST,
            "/v1/customers",
            Some(json!({"name": "A", "email": "a@example.com"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    // The refused POST stored nothing; key-two's customer is its own.
    let mine = keyed
        .call_as("key-two", Method::GET, "/customers", None)
        .await;
    assert_eq!(mine.json()["data"].as_array().unwrap().len(), 1);
    keyed.stop().await;
}

on_both_stores!(the_health_route_needs_no_authorization);
/// The health route is the one route that needs no token, even with api keys configured.
async fn the_health_route_needs_no_authorization(app: &TestApp) {
    let response = with_authorization(app, None, "/_mock/health").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"status": "ok"}));
    let keyed = TestApp::with_api_keys(app.kind, &["only-key"]).await;
    let response = with_authorization(&keyed, None, "/_mock/health").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), json!({"status": "ok"}));
    keyed.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 400 request-validation-errors
// ---------------------------------------------------------------------------------------------

on_both_stores!(a_malformed_json_body_is_a_validation_error);
/// A body that is not JSON at all names the body.
async fn a_malformed_json_body_is_a_validation_error(app: &TestApp) {
    let response = app
        .post_raw("/customers", r#"{"name": "A", "email": "#)
        .await;
    response.assert_validation(&["body"]);
    let response = app
        .post_raw("/v1/customers", "name=A&email=a@example.com")
        .await;
    response.assert_validation(&["body"]);
    assert_eq!(customer_count(app).await, 0);
}

on_both_stores!(a_json_array_body_is_a_validation_error);
/// JSON, but not an object.
async fn a_json_array_body_is_a_validation_error(app: &TestApp) {
    let response = app
        .post_raw("/customers", r#"[{"name": "A", "email": "a@example.com"}]"#)
        .await;
    response.assert_validation(&["body"]);
    let response = app.post_raw("/customers", r#""a string""#).await;
    response.assert_validation(&["body"]);
    assert_eq!(customer_count(app).await, 0);
}

on_both_stores!(a_field_of_the_wrong_type_is_a_validation_error_naming_it);
/// A field of the wrong type is reported under its own name.
async fn a_field_of_the_wrong_type_is_a_validation_error_naming_it(app: &TestApp) {
    let response = app
        .post("/customers", json!({"name": 5, "email": "a@example.com"}))
        .await;
    response.assert_validation(&["name"]);
    let response = app
        .post(
            "/customers",
            json!({"name": "A", "email": "a@example.com", "metadata": {"k": 7}}),
        )
        .await;
    response.assert_validation(&["metadata.k"]);
    assert_eq!(customer_count(app).await, 0);
}

on_both_stores!(missing_name_and_email_are_reported_together);
/// Both missing required fields are reported together, one entry each.
async fn missing_name_and_email_are_reported_together(app: &TestApp) {
    let body = app
        .post("/customers", json!({}))
        .await
        .assert_validation(&["name", "email"]);
    assert_eq!(
        body["validation_errors"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    // An empty body counts as `{}`.
    app.post_raw("/customers", "")
        .await
        .assert_validation(&["name", "email"]);
    assert_eq!(customer_count(app).await, 0);
}

on_both_stores!(an_invalid_email_is_a_validation_error);
async fn an_invalid_email_is_a_validation_error(app: &TestApp) {
    for email in ["not-an-email", "a@b", "@example.com", "a b@example.com"] {
        let response = app
            .post("/customers", json!({"name": "A", "email": email}))
            .await;
        response.assert_validation(&["email"]);
    }
    assert_eq!(customer_count(app).await, 0);
}

on_both_stores!(a_limit_outside_1_to_100_or_not_a_number_is_a_validation_error);
/// `limit` must be an integer from 1 to 100.
async fn a_limit_outside_1_to_100_or_not_a_number_is_a_validation_error(app: &TestApp) {
    for path in [
        "/customers?limit=0",
        "/customers?limit=101",
        "/customers?limit=abc",
        "/invoices?limit=0",
        "/subscriptions?limit=101",
        "/v1/customers?limit=-1",
    ] {
        app.get(path).await.assert_validation(&["limit"]);
    }
    assert_eq!(app.get("/customers?limit=1").await.status, StatusCode::OK);
    assert_eq!(app.get("/customers?limit=100").await.status, StatusCode::OK);
}

on_both_stores!(a_bad_cursor_is_a_validation_error);
/// A cursor this server never handed out.
async fn a_bad_cursor_is_a_validation_error(app: &TestApp) {
    for path in [
        "/customers?cursor=not-a-cursor",
        "/invoices?cursor=%21%21",
        "/subscriptions?cursor=cDA",
    ] {
        app.get(path).await.assert_validation(&["cursor"]);
    }
}

on_both_stores!(a_bad_created_at_bound_is_a_validation_error);
async fn a_bad_created_at_bound_is_a_validation_error(app: &TestApp) {
    app.get("/customers?created_at[gte]=yesterday")
        .await
        .assert_validation(&["created_at[gte]"]);
    app.get("/customers?created_at%5Blt%5D=2026-13-01")
        .await
        .assert_validation(&["created_at[lt]"]);
    let fine = app.get("/customers?created_at[gte]=2026-01-05").await;
    assert_eq!(fine.status, StatusCode::OK);
}

on_both_stores!(
    an_idempotency_key_over_64_characters_is_a_validation_error_and_a_valid_key_is_echoed
);
/// Keys over 64 characters are refused before anything happens; valid keys are echoed.
async fn an_idempotency_key_over_64_characters_is_a_validation_error_and_a_valid_key_is_echoed(
    app: &TestApp,
) {
    let create_with_key = |key: String| {
        app.request(Method::POST, "/customers")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(r#"{"name":"A","email":"a@example.com"}"#))
            .unwrap()
    };
    app.send(create_with_key("k".repeat(65)))
        .await
        .assert_validation(&["Idempotency-Key"]);
    assert_eq!(customer_count(app).await, 0, "nothing was created");

    let key = "k".repeat(64);
    let created = app.send(create_with_key(key.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("idempotency-key"), Some(key.as_str()));

    let id = created.json()["id"].as_str().unwrap().to_owned();
    let request = app
        .request(Method::DELETE, &format!("/customers/{id}"))
        .header("accept", "*/*")
        .header("content-type", "application/json")
        .header("idempotency-key", "delete-key-1")
        .body(Body::empty())
        .unwrap();
    let deleted = app.send(request).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.header("idempotency-key"), Some("delete-key-1"));
}

on_both_stores!(an_unknown_invoice_status_filter_is_a_validation_error);
async fn an_unknown_invoice_status_filter_is_a_validation_error(app: &TestApp) {
    app.get("/invoices?status[]=bogus")
        .await
        .assert_validation(&["status"]);
    app.get("/invoices?status[]=issued&status[]=bogus")
        .await
        .assert_validation(&["status"]);
    assert_eq!(
        app.get("/invoices?status[]=issued").await.status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// 400 duplicate-resource-creation
// ---------------------------------------------------------------------------------------------

on_both_stores!(
    a_reused_external_customer_id_is_a_duplicate_in_the_same_account_but_not_in_another
);
/// `external_customer_id` is unique per account, and only per account.
async fn a_reused_external_customer_id_is_a_duplicate_in_the_same_account_but_not_in_another(
    app: &TestApp,
) {
    let first = app.customer(Some("ext-dup")).await;
    let again = app
        .post(
            "/customers",
            json!({"name": "B", "email": "b@example.com", "external_customer_id": "ext-dup"}),
        )
        .await;
    again.assert_error(400, "400-duplicate-resource-creation");
    assert_eq!(customer_count(app).await, 1);

    let other = app
        .call_as(
            "another-account",
            Method::POST,
            "/customers",
            Some(json!({"name": "C", "email": "c@example.com", "external_customer_id": "ext-dup"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.json()["id"], first["id"]);
    assert_eq!(
        app.get("/customers/external_customer_id/ext-dup")
            .await
            .json()["id"],
        first["id"]
    );
}

// ---------------------------------------------------------------------------------------------
// 404 url-not-found and 400 feature-not-available
// ---------------------------------------------------------------------------------------------

on_both_stores!(a_path_orb_does_not_have_is_url_not_found);
async fn a_path_orb_does_not_have_is_url_not_found(app: &TestApp) {
    for path in [
        "/v1/nothing",
        "/nothing",
        "/v1/customers/x/nothing",
        "/v2/customers",
    ] {
        app.get(path).await.assert_error(404, "404-url-not-found");
    }
    app.post("/nothing", json!({}))
        .await
        .assert_error(404, "404-url-not-found");
}

on_both_stores!(a_known_path_with_a_method_orb_lacks_is_url_not_found);
/// A path Orb has, with a method Orb does not have on it.
async fn a_known_path_with_a_method_orb_lacks_is_url_not_found(app: &TestApp) {
    for path in ["/customers/x", "/v1/customers/x"] {
        app.call(Method::PATCH, path, Some(json!({})))
            .await
            .assert_error(404, "404-url-not-found");
    }
    app.delete("/invoices")
        .await
        .assert_error(404, "404-url-not-found");
}

on_both_stores!(a_path_orb_has_but_orb_mock_does_not_emulate_is_feature_not_available);
/// A path Orb has but orb-mock does not emulate: 400 with the `404-feature-not-available`
/// type, and the detail names it.
async fn a_path_orb_has_but_orb_mock_does_not_emulate_is_feature_not_available(app: &TestApp) {
    let cases = [
        (Method::GET, "/customers/x/costs", "/customers/x/costs"),
        (Method::GET, "/v1/customers/x/costs", "/customers/x/costs"),
        (Method::POST, "/plans", "/plans"),
        (Method::POST, "/v1/plans", "/plans"),
        // Orb has PUT on an invoice; orb-mock routes the path but not the method.
        (Method::PUT, "/invoices/abc", "/invoices/abc"),
    ];
    for (method, path, named) in cases {
        let body = app
            .call(method.clone(), path, Some(json!({})))
            .await
            .assert_error(400, "404-feature-not-available");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(named),
            "{method} {path}: the detail names the path: {detail}"
        );
    }
}

on_both_stores!(orbs_invoice_sub_routes_are_feature_not_available_not_unknown_invoices);
/// `GET /invoices/upcoming` and `GET /invoices/summary` are Orb routes of their own, not
/// invoice ids.
async fn orbs_invoice_sub_routes_are_feature_not_available_not_unknown_invoices(app: &TestApp) {
    for path in ["/invoices/upcoming", "/v1/invoices/summary"] {
        app.get(path)
            .await
            .assert_error(400, "404-feature-not-available");
    }
}

// ---------------------------------------------------------------------------------------------
// 413 request-too-large
// ---------------------------------------------------------------------------------------------

on_both_stores!(a_body_declared_over_the_limit_is_request_too_large);
/// A declared `Content-Length` over the limit is refused before the body is read.
async fn a_body_declared_over_the_limit_is_request_too_large(app: &TestApp) {
    let small = TestApp::configured(app.kind, |config| config.max_body_bytes = 1024).await;
    let declared = |path: &str, body: String| {
        small
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .header("content-length", body.len().to_string())
            .body(Body::from(body))
            .unwrap()
    };
    let limit = small.config.max_body_bytes;
    let over = declared("/customers", customer_body_of(2 * limit));
    small
        .send(over)
        .await
        .assert_error(413, "413-request-too-large");
    // Under the limit, the same route works.
    let under = declared("/v1/customers", customer_body_of(limit / 2));
    assert_eq!(small.send(under).await.status, StatusCode::CREATED);
    assert_eq!(
        customer_count(&small).await,
        1,
        "only the small body was stored"
    );
    small.stop().await;
}

on_both_stores!(a_chunked_body_over_the_limit_is_request_too_large);
/// A chunked body with no `Content-Length` is cut off once it passes the limit.
async fn a_chunked_body_over_the_limit_is_request_too_large(app: &TestApp) {
    let small = TestApp::configured(app.kind, |config| config.max_body_bytes = 1024).await;
    let request = small
        .request(Method::POST, "/customers")
        .header("content-type", "application/json")
        .body(chunked(
            &customer_body_of(4 * small.config.max_body_bytes),
            256,
        ))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    small
        .send(request)
        .await
        .assert_error(413, "413-request-too-large");
    assert_eq!(customer_count(&small).await, 0, "nothing was stored");
    // A chunked body under the limit is read whole.
    let request = small
        .request(Method::POST, "/customers")
        .header("content-type", "application/json")
        .body(chunked(
            &customer_body_of(small.config.max_body_bytes / 2),
            100,
        ))
        .unwrap();
    assert_eq!(small.send(request).await.status, StatusCode::CREATED);
    small.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 500 internal-server-error
// ---------------------------------------------------------------------------------------------

on_both_stores!(a_store_failure_is_a_transient_500_that_leaks_nothing_internal);
/// With the store gone, the answer is a transient 500 that names no internals.
async fn a_store_failure_is_a_transient_500_that_leaks_nothing_internal(app: &TestApp) {
    app.customer(None).await;
    app.store.close().await;
    let response = app.get("/customers").await;
    let body = response.assert_error(500, "500-internal-server-error");
    let text = String::from_utf8_lossy(&response.bytes).to_lowercase();
    for word in ["sql", "pool", "database", "postgres", "sqlite", "closed"] {
        assert!(
            !text.contains(word),
            "the 500 body mentions {word:?}: {body}"
        );
    }
    assert_eq!(response.header("transient-error"), Some("true"));
    let created = app
        .post("/customers", json!({"name": "A", "email": "a@example.com"}))
        .await;
    created.assert_error(500, "500-internal-server-error");
    // The health route reports the store as unavailable.
    let health = with_authorization(app, None, "/_mock/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------------
// Ids that no store could hold
// ---------------------------------------------------------------------------------------------

/// Path ids (already percent-encoded) that no store could hold.
fn impossible_ids() -> Vec<String> {
    vec![
        "a".repeat(10_000),
        "%00".to_owned(),
        "abc%00def".to_owned(),
        "..%2F..%2Fetc".to_owned(),
    ]
}

on_both_stores!(ids_no_store_could_hold_are_resource_not_found);
/// Overlong ids, NUL and path traversal are unknown ids: 404, never a 500.
async fn ids_no_store_could_hold_are_resource_not_found(app: &TestApp) {
    app.customer(None).await;
    for id in impossible_ids() {
        for prefix in ["", "/v1"] {
            for (method, path) in [
                (Method::GET, format!("{prefix}/customers/{id}")),
                (Method::DELETE, format!("{prefix}/customers/{id}")),
                (
                    Method::GET,
                    format!("{prefix}/customers/external_customer_id/{id}"),
                ),
                (Method::GET, format!("{prefix}/invoices/{id}")),
                (Method::GET, format!("{prefix}/subscriptions/{id}")),
            ] {
                let response = app.call(method.clone(), &path, None).await;
                let body = response.assert_error(404, "404-resource-not-found");
                let detail = body["detail"].as_str().unwrap();
                assert!(
                    detail.len() < 1000,
                    "the detail does not echo a huge id whole: {}",
                    &path[..path.len().min(80)]
                );
            }
        }
    }
    assert_eq!(customer_count(app).await, 1);
}

on_both_stores!(an_id_that_is_not_utf8_is_resource_not_found);
/// A path segment that is not UTF-8 once decoded is an unknown id too, answered with an
/// Orb error body rather than the framework's plain-text rejection.
async fn an_id_that_is_not_utf8_is_resource_not_found(app: &TestApp) {
    for path in ["/customers/%FF%FE", "/invoices/%C3", "/subscriptions/%80"] {
        app.get(path)
            .await
            .assert_error(404, "404-resource-not-found");
    }
    app.delete("/customers/%FF")
        .await
        .assert_error(404, "404-resource-not-found");
    app.put("/customers/external_customer_id/%FF", json!({"name": "X"}))
        .await
        .assert_error(404, "404-resource-not-found");
}

on_both_stores!(a_nul_character_in_a_body_is_a_validation_error_and_nothing_is_stored);
/// A NUL character in a name or metadata cannot be stored: 400, and nothing is created.
async fn a_nul_character_in_a_body_is_a_validation_error_and_nothing_is_stored(app: &TestApp) {
    let response = app
        .post(
            "/customers",
            json!({"name": "A\u{0000}B", "email": "a@example.com"}),
        )
        .await;
    response.assert_validation(&["name"]);
    let response = app
        .post(
            "/customers",
            json!({"name": "A", "email": "a@example.com", "metadata": {"k": "v\u{0000}"}}),
        )
        .await;
    response.assert_validation(&["metadata.k"]);
    let response = app
        .post(
            "/customers",
            json!({"name": "A", "email": "a@example.com", "metadata": {"k\u{0000}": "v"}}),
        )
        .await;
    let body = response.assert_error(400, "400-request-validation-errors");
    assert!(!body["validation_errors"].as_array().unwrap().is_empty());
    let response = app
        .post(
            "/customers",
            json!({"name": "A", "email": "a@example.com", "external_customer_id": "x\u{0000}"}),
        )
        .await;
    response.assert_validation(&["external_customer_id"]);
    assert_eq!(customer_count(app).await, 0, "nothing was stored");
}

// ---------------------------------------------------------------------------------------------
// Every route under /v1 and at the root (README, "Flags")
// ---------------------------------------------------------------------------------------------

on_both_stores!(every_route_is_served_under_v1_and_at_the_root);
async fn every_route_is_served_under_v1_and_at_the_root(app: &TestApp) {
    for prefix in ["", "/v1"] {
        let ext = format!("ext{}", prefix.replace('/', "-"));
        let created = app
            .post(
                &format!("{prefix}/customers"),
                json!({"name": "A", "email": "a@example.com", "external_customer_id": ext}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{prefix}");
        let id = created.json()["id"].as_str().unwrap().to_owned();

        let ok = |response: crate::common::TestResponse, what: &str| {
            assert!(
                response.status.is_success(),
                "{prefix} {what}: {}",
                response.status
            );
            response
        };
        ok(
            app.get(&format!("{prefix}/customers")).await,
            "list customers",
        );
        ok(
            app.get(&format!("{prefix}/customers/{id}")).await,
            "fetch customer",
        );
        ok(
            app.get(&format!("{prefix}/customers/external_customer_id/{ext}"))
                .await,
            "fetch by external id",
        );
        ok(
            app.put(&format!("{prefix}/customers/{id}"), json!({"name": "B"}))
                .await,
            "update customer",
        );
        ok(
            app.put(
                &format!("{prefix}/customers/external_customer_id/{ext}"),
                json!({"name": "C"}),
            )
            .await,
            "update by external id",
        );

        let invoice = ok(app.post(&format!("{prefix}/invoices"), json!({
            "customer_id": id, "currency": "USD", "invoice_date": "2026-01-05",
            "line_items": [{"name": "Seats", "quantity": 1, "unit_config": {"unit_amount": "1.00"},
                            "start_date": "2026-01-01", "end_date": "2026-01-31"}]
        })).await, "create invoice");
        assert_eq!(invoice.status, StatusCode::CREATED);
        let invoice_id = invoice.json()["id"].as_str().unwrap().to_owned();
        ok(
            app.get(&format!("{prefix}/invoices/{invoice_id}")).await,
            "fetch invoice",
        );
        ok(
            app.get(&format!("{prefix}/invoices?status[]=draft")).await,
            "list invoices",
        );
        ok(
            app.post(&format!("{prefix}/invoices/{invoice_id}/issue"), json!({}))
                .await,
            "issue",
        );
        ok(
            app.post(
                &format!("{prefix}/invoices/{invoice_id}/mark_paid"),
                json!({"payment_received_date": "2026-02-01"}),
            )
            .await,
            "mark paid",
        );
        let other = app.invoice(&id, true).await;
        ok(
            app.post(
                &format!("{prefix}/invoices/{}/void", other["id"].as_str().unwrap()),
                json!({}),
            )
            .await,
            "void",
        );

        let subscription = ok(
            app.post(
                &format!("{prefix}/subscriptions"),
                json!({"customer_id": id, "plan_id": "p"}),
            )
            .await,
            "create subscription",
        );
        assert_eq!(subscription.status, StatusCode::CREATED);
        let subscription_id = subscription.json()["id"].as_str().unwrap().to_owned();
        ok(
            app.get(&format!("{prefix}/subscriptions/{subscription_id}"))
                .await,
            "fetch subscription",
        );
        ok(
            app.get(&format!("{prefix}/subscriptions")).await,
            "list subscriptions",
        );
        ok(
            app.post(
                &format!("{prefix}/subscriptions/{subscription_id}/cancel"),
                json!({"cancel_option": "immediate"}),
            )
            .await,
            "cancel",
        );

        // A customer whose only invoices are paid/void blocks deletion; delete a fresh one.
        let doomed = app.customer(None).await;
        let deleted = app
            .delete(&format!(
                "{prefix}/customers/{}",
                doomed["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{prefix} delete");
    }
    let everyone: Vec<Value> = app.get("/customers").await.data();
    assert_eq!(everyone.len(), 4, "both spellings reached the same account");
}

on_both_stores!(out_of_range_amounts_and_dates_are_validation_errors_not_overflows);
/// Amounts so large that their product would overflow the decimal type, and dates outside
/// the years a store can round-trip, are validation errors, and nothing is created.
async fn out_of_range_amounts_and_dates_are_validation_errors_not_overflows(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let response = app
        .post(
            "/invoices",
            json!({
                "customer_id": id, "currency": "USD", "invoice_date": "9999-12-31",
                "line_items": [{
                    "name": "Huge", "item_id": "huge", "model_type": "unit",
                    "quantity": "79228162514264337593543950335",
                    "unit_config": {"unit_amount": 1e20},
                    "start_date": "0001-01-01", "end_date": "2026-01-31"
                }]
            }),
        )
        .await;
    response.assert_validation(&[
        "invoice_date",
        "line_items[0].quantity",
        "line_items[0].unit_config.unit_amount",
        "line_items[0].start_date",
    ]);
    let invoices = app
        .get(&format!("/invoices?customer_id={id}&status[]=draft"))
        .await;
    assert_eq!(invoices.data().len(), 0, "nothing was created");
}

on_both_stores!(a_trailing_slash_is_url_not_found_with_a_hint);
/// Orb's paths have no trailing slash; one with it is an unknown URL, said plainly.
async fn a_trailing_slash_is_url_not_found_with_a_hint(app: &TestApp) {
    let body = app
        .get("/v1/customers/")
        .await
        .assert_error(404, "404-url-not-found");
    assert!(
        body["detail"].as_str().unwrap().contains("trailing slash"),
        "{body}"
    );
    assert_eq!(app.get("/v1/customers").await.status, StatusCode::OK);
}

on_both_stores!(a_cursor_from_another_list_is_a_validation_error);
/// A cursor belongs to the list that issued it: handed to another list it is refused, not
/// read as a position there.
async fn a_cursor_from_another_list_is_a_validation_error(app: &TestApp) {
    for _ in 0..2 {
        app.customer(None).await;
    }
    let page = app.get("/customers?limit=1").await.json();
    let cursor = page["pagination_metadata"]["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let cursor = crate::common::encode(&cursor);
    assert_eq!(
        app.get(&format!("/customers?limit=1&cursor={cursor}"))
            .await
            .status,
        StatusCode::OK
    );
    for list in ["/invoices", "/subscriptions"] {
        app.get(&format!("{list}?cursor={cursor}"))
            .await
            .assert_validation(&["cursor"]);
    }
}
