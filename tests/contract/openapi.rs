//! `GET /_mock/openapi.json`: orb-mock's own OpenAPI description of the routes it emulates (its
//! agreement with Orb's document is checked by the unit tests in `src/openapi`).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::common::{Kind, TestApp};
use crate::on_both_stores;

/// The document needs no token, even with api keys configured, and is the one the code
/// describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_without_authorization() {
    let app = TestApp::with_api_keys(Kind::Sqlite, &["only-key"]).await;
    let request = Request::builder()
        .method(Method::GET)
        .uri("/_mock/openapi.json");
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let document = response.json();
    assert_eq!(document, orb_mock::openapi::document());
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/customers/{customer_id}"]["delete"].is_object());
    app.stop().await;
}

// Found by schemathesis (tests/schemathesis/run.sh) on PostgreSQL, which refuses NUL in text.
on_both_stores!(a_list_filter_with_a_nul_byte_is_a_validation_error);
/// A list filter holding a NUL byte is a validation error naming it, never a store failure.
async fn a_list_filter_with_a_nul_byte_is_a_validation_error(app: &TestApp) {
    for path in [
        "/subscriptions?customer_id[]=a%00b",
        "/subscriptions?external_customer_id[]=%00",
        "/invoices?customer_id=a%00b",
        "/invoices?external_customer_id=%00",
    ] {
        let response = app.get(path).await;
        response.assert_error(400, "400-request-validation-errors");
    }
}
