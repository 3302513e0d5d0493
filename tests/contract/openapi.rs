//! `GET /_mock/openapi.json`: orb-mock's own OpenAPI description of the routes it emulates (its
//! agreement with Orb's document is checked by the unit tests in `src/openapi`).

use std::collections::BTreeSet;

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

/// The routes orb-mock models are listed in three places that must agree: the router, its own
/// OpenAPI document, and the README's route table. A route added to one and not the others
/// fails here. The router is asked about every route of Orb's: one it models answers anything
/// but `feature-not-available`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_the_openapi_document_and_the_readme_name_the_same_routes() {
    let app = TestApp::sqlite().await;
    let mut routed = BTreeSet::new();
    for (method, template) in orb_mock::http::orb_routes::routes() {
        let path: String = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let response = app.call(method.clone(), &path, None).await;
        let kind = response.json()["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !kind.ends_with("#404-feature-not-available") {
            routed.insert(format!("{method} {template}"));
        }
    }
    let document = orb_mock::openapi::document();
    let mut described = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            described.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Emulated routes")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has an 'Emulated routes' section");
    let mut documented = BTreeSet::new();
    for row in section.lines().filter(|line| line.starts_with("| `")) {
        let route_cell = row.split(" | ").next().unwrap_or_default();
        for code in route_cell.split('`').skip(1).step_by(2) {
            documented.insert(code.to_owned());
        }
    }
    assert!(
        routed.len() >= 15,
        "the router models the core routes: {routed:?}"
    );
    assert_eq!(
        routed, described,
        "the router and orb-mock's OpenAPI document"
    );
    assert_eq!(
        routed, documented,
        "the router and the README's route table"
    );
    app.stop().await;
}
