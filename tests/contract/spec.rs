//! `--spec`: the routes orb-mock does not model, answered from Orb's OpenAPI document —
//! validated, generated, believable, and 404 under a resource the store does not hold; the
//! model still answers what it models, and without `--spec` nothing changes.
//!
//! Orb's document is found through `ORB_OPENAPI` (default
//! `../shared/orb-openapi/orb-openapi-4.69.0.json` from the crate root); it is never copied
//! into the repository. Without it these tests fail, unless `ORB_MOCK_SKIP_OPENAPI=1`.

use std::path::PathBuf;

use axum::http::{Method, StatusCode};
use orb_mock::clock::Clock;
use orb_mock::config::Config;
use orb_mock::server::{App, Worker};
use serde_json::{json, Value};

use crate::common::{listed_ids, test_config, Kind, TestApp, TestDatabase};
use crate::on_both_stores;

/// Orb's document, or `None` (loudly) when it is missing and `ORB_MOCK_SKIP_OPENAPI=1`.
fn orb_document() -> Option<PathBuf> {
    orb_mock::test_env::orb_openapi("the --spec tests")?;
    Some(orb_mock::test_env::orb_openapi_path())
}

/// An app of `kind` on a fresh store whose config `adjust` has changed.
async fn app_with(kind: Kind, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let (url, database) = match kind {
        Kind::Sqlite => ("sqlite::memory:".to_owned(), None),
        Kind::Postgres => {
            let database = TestDatabase::create().await?;
            (database.url(), Some(database))
        }
    };
    let mut config = test_config(&url);
    adjust(&mut config);
    Some(TestApp::with_config(kind, config, database).await)
}

/// An app of `kind` answering from Orb's document.
async fn spec_app(kind: Kind) -> Option<TestApp> {
    let document = orb_document()?;
    app_with(kind, |config| config.spec = Some(document)).await
}

/// `with_orb_spec!(name);` beside `async fn name(app: &TestApp)` declares the tests
/// `name::sqlite` and `name::postgres`, whose app answers from Orb's document.
macro_rules! with_orb_spec {
    ($name:ident) => {
        $crate::store_matrix! {
            $name, stop,
            sqlite => super::spec_app($crate::common::Kind::Sqlite).await,
            postgres => super::spec_app($crate::common::Kind::Postgres).await
        }
    };
}

/// The errors of `value` against a component schema of Orb's document.
fn schema_errors(schema: &str, value: &Value) -> Vec<String> {
    let path = orb_document().expect("the document is there when a spec app ran");
    let text = std::fs::read_to_string(path).expect("the document reads");
    let mut root: Value = serde_json::from_str(&text).expect("the document is JSON");
    root["$ref"] = json!(format!("#/components/schemas/{schema}"));
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("the schema compiles");
    validator
        .iter_errors(value)
        .map(|err| format!("{}: {err}", err.instance_path()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Without --spec, nothing changes
// ---------------------------------------------------------------------------------------------

on_both_stores!(without_a_spec_an_unmodelled_route_is_feature_not_available_from_the_model);
/// The model answers as it always has, and says so.
async fn without_a_spec_an_unmodelled_route_is_feature_not_available_from_the_model(app: &TestApp) {
    let response = app.get("/plans/plan_1").await;
    response.assert_error(400, "404-feature-not-available");
    assert_eq!(response.header("x-orb-mock-source"), Some("model"));
    let response = app.get("/customers").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("x-orb-mock-source"), Some("model"));
}

// ---------------------------------------------------------------------------------------------
// Generated answers
// ---------------------------------------------------------------------------------------------

with_orb_spec!(a_spec_route_answers_a_schema_valid_body_with_the_path_id);
/// `GET /plans/{plan_id}`: a `Plan` valid against Orb's schema, whose id is the path's.
async fn a_spec_route_answers_a_schema_valid_body_with_the_path_id(app: &TestApp) {
    let response = app.get("/v1/plans/plan_abc").await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
    assert_eq!(response.header("x-orb-mock-source"), Some("spec"));
    let plan = response.json();
    assert_eq!(plan["id"], "plan_abc");
    let errors = schema_errors("Plan", &plan);
    assert!(errors.is_empty(), "{errors:#?}\n{plan:#}");
}

with_orb_spec!(generated_bodies_are_deterministic);
/// The same request gives the same body; another path gives another.
async fn generated_bodies_are_deterministic(app: &TestApp) {
    let first = app.get("/plans/plan_1").await;
    let again = app.get("/plans/plan_1").await;
    let other = app.get("/plans/plan_2").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.bytes, again.bytes, "same request, same body");
    let (mut first, mut other) = (first.json(), other.json());
    first["id"] = Value::Null;
    other["id"] = Value::Null;
    assert_ne!(first, other, "another path, another body");
}

on_both_stores!(another_spec_seed_gives_another_body);
/// `--spec-seed` changes every generated body.
async fn another_spec_seed_gives_another_body(app: &TestApp) {
    let Some(document) = orb_document() else {
        return;
    };
    let Some(seeded) = app_with(app.kind, |config| {
        config.spec = Some(document.clone());
        config.spec_seed = 7;
    })
    .await
    else {
        return;
    };
    let Some(plain) = app_with(app.kind, |config| config.spec = Some(document)).await else {
        return;
    };
    let one = seeded.get("/plans/plan_1").await;
    let two = plain.get("/plans/plan_1").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(two.status, StatusCode::OK);
    assert_ne!(one.json(), two.json());
    seeded.stop().await;
    plain.stop().await;
}

with_orb_spec!(a_generated_list_is_one_whole_page);
/// A list is one whole page: `has_more` false, no next cursor.
async fn a_generated_list_is_one_whole_page(app: &TestApp) {
    let response = app.get("/plans?limit=5&status=active").await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
    let page = response.json();
    assert!(!response.data().is_empty(), "{page}");
    assert_eq!(
        page["pagination_metadata"],
        json!({"has_more": false, "next_cursor": null})
    );
}

with_orb_spec!(request_body_fields_are_reflected_into_the_answer);
/// Request body fields of the same name and type are reflected into the answer.
async fn request_body_fields_are_reflected_into_the_answer(app: &TestApp) {
    let body = json!({
        "name": "Gold plan",
        "currency": "EUR",
        "external_plan_id": "gold-1",
        "prices": [],
    });
    let response = app.post("/plans", body).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
    let plan = response.json();
    assert_eq!(plan["name"], "Gold plan");
    assert_eq!(plan["currency"], "EUR");
    assert_eq!(plan["external_plan_id"], "gold-1");
    let errors = schema_errors("Plan", &plan);
    assert!(errors.is_empty(), "{errors:#?}");
}

with_orb_spec!(a_no_content_operation_answers_an_empty_body);
/// A `204` operation answers an empty body.
async fn a_no_content_operation_answers_an_empty_body(app: &TestApp) {
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let response = app
        .delete(&format!("/customers/{id}/credits/top_ups/top_1"))
        .await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
    assert!(response.bytes.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Request validation
// ---------------------------------------------------------------------------------------------

with_orb_spec!(a_bad_query_parameter_is_a_validation_error_naming_it);
/// Query parameters: types, bounds, enums, formats, bracket ranges, unknown names.
async fn a_bad_query_parameter_is_a_validation_error_naming_it(app: &TestApp) {
    let cases = [
        ("/plans?limit=many", "limit"),
        ("/plans?limit=0", "limit"),
        ("/plans?status=gone", "status"),
        ("/plans?created_at%5Bgte%5D=yesterday", "created_at[gte]"),
        ("/plans?colour=red", "colour"),
    ];
    for (path, field) in cases {
        let response = app.get(path).await;
        response.assert_validation(&[field]);
        assert_eq!(response.header("x-orb-mock-source"), Some("spec"));
    }
    let good = app
        .get("/plans?created_at[gte]=2025-01-01T00:00:00Z&limit=3")
        .await;
    assert_eq!(
        good.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&good.bytes)
    );
}

with_orb_spec!(a_bracket_array_query_parameter_is_checked_item_by_item);
/// `status[]=a&status[]=b` is a list, each item checked against the enum.
async fn a_bracket_array_query_parameter_is_checked_item_by_item(app: &TestApp) {
    let good = app
        .get("/invoices/summary?status[]=paid&status[]=draft")
        .await;
    assert_eq!(
        good.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&good.bytes)
    );
    let response = app
        .get("/v1/invoices/summary?status[]=paid&status[]=bogus")
        .await;
    response.assert_validation(&["status[]"]);
}

with_orb_spec!(a_bad_body_is_a_validation_error_per_problem);
/// The body: missing required fields, wrong types, bad enums and formats, each named.
async fn a_bad_body_is_a_validation_error_per_problem(app: &TestApp) {
    let response = app
        .post("/plans", json!({"name": 5, "net_terms": "soon"}))
        .await;
    let body = response.assert_validation(&["name", "net_terms", "currency", "prices"]);
    assert!(
        body["validation_errors"].as_array().unwrap().len() >= 4,
        "{body}"
    );
    app.post_raw("/plans", "{not json")
        .await
        .assert_validation(&["body"]);
    let response = app
        .post(
            "/plans",
            json!({"name": "x", "currency": "USD", "prices": [], "status": "gone"}),
        )
        .await;
    response.assert_validation(&["status"]);
}

with_orb_spec!(a_union_body_is_checked_against_the_branch_it_chose);
/// A `oneOf` of price models: the error comes from the model the body chose.
async fn a_union_body_is_checked_against_the_branch_it_chose(app: &TestApp) {
    let price = json!({
        "model_type": "unit",
        "name": "Seat",
        "item_id": "item_1",
        "cadence": "monthly",
        "currency": "USD",
    });
    let response = app.post("/prices", price.clone()).await;
    response.assert_validation(&["unit_config"]);
    let mut complete = price;
    complete["unit_config"] = json!({"unit_amount": "2.50"});
    let response = app.post("/prices", complete).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
}

// ---------------------------------------------------------------------------------------------
// State at the edges
// ---------------------------------------------------------------------------------------------

with_orb_spec!(a_route_under_a_customer_answers_404_unless_the_store_holds_it);
/// Under `/customers/{customer_id}/…`: 404 for an unknown, a foreign and a deleted
/// customer; an answer for a stored one, by id and by external id.
async fn a_route_under_a_customer_answers_404_unless_the_store_holds_it(app: &TestApp) {
    let customer = app.customer(Some("ext-edge")).await;
    let id = customer["id"].as_str().unwrap().to_owned();
    let credits = app.get(&format!("/customers/{id}/credits")).await;
    assert_eq!(
        credits.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&credits.bytes)
    );
    let external = app
        .get("/customers/external_customer_id/ext-edge/credits")
        .await;
    assert_eq!(external.status, StatusCode::OK);

    app.get("/customers/nobody/credits")
        .await
        .assert_error(404, "404-resource-not-found");
    app.get("/customers/external_customer_id/nobody/credits")
        .await
        .assert_error(404, "404-resource-not-found");
    app.call_as(
        "another-account",
        Method::GET,
        &format!("/customers/{id}/credits"),
        None,
    )
    .await
    .assert_error(404, "404-resource-not-found");

    app.delete_customer(&id).await;
    app.finish_deletions().await;
    app.get(&format!("/customers/{id}/credits"))
        .await
        .assert_error(404, "404-resource-not-found");
    app.get("/customers/external_customer_id/ext-edge/credits")
        .await
        .assert_error(404, "404-resource-not-found");
}

with_orb_spec!(routes_under_invoices_and_subscriptions_use_the_store);
/// Under `/invoices/{invoice_id}/…` and `/subscriptions/{subscription_id}/…` too; a
/// generated subscription embeds the stored customer.
async fn routes_under_invoices_and_subscriptions_use_the_store(app: &TestApp) {
    app.post(
        "/invoices/nope/pay",
        json!({"shared_payment_token_id": "spt_1"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    app.post(
        "/subscriptions/nope/update_trial",
        json!({"trial_end_date": "immediate"}),
    )
    .await
    .assert_error(404, "404-resource-not-found");
    let customer = app.customer(None).await;
    let subscription = app.subscription(customer["id"].as_str().unwrap()).await;
    let sub_id = subscription["id"].as_str().unwrap();
    let response = app
        .post(
            &format!("/subscriptions/{sub_id}/update_trial"),
            json!({"trial_end_date": "immediate"}),
        )
        .await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&response.bytes)
    );
    let mutated = response.json();
    assert_eq!(mutated["customer"]["id"], customer["id"]);
    assert_eq!(mutated["customer"]["name"], customer["name"]);
    assert_eq!(mutated["customer"]["email"], customer["email"]);
}

// ---------------------------------------------------------------------------------------------
// Everything else still applies
// ---------------------------------------------------------------------------------------------

with_orb_spec!(prefer_and_fault_rules_apply_to_spec_routes);
/// `Prefer: code=NNN` and a fault rule reach a spec route as any other.
async fn prefer_and_fault_rules_apply_to_spec_routes(app: &TestApp) {
    let response = app
        .call_with(
            Method::GET,
            "/plans/plan_1",
            &[("prefer", "code=409")],
            None,
        )
        .await;
    response.assert_error(409, "409-resource-conflict");
    app.post("/_mock/faults", json!({"path": "/plans/*", "status": 500}))
        .await
        .created();
    let response = app.get("/plans/plan_1").await;
    response.assert_error(500, "500-internal-server-error");
    let unaffected = app.get("/items/item_1").await;
    assert_eq!(unaffected.status, StatusCode::OK);
}

with_orb_spec!(prefer_a_success_status_forces_the_documents_answer_on_a_spec_route_only);
/// `Prefer: code=2xx` (the header Prism users know) forces the operation's documented success
/// on a spec route, even past a fault rule; another 2xx, or any 2xx on a modelled route, is a
/// 400 naming `Prefer`, and the modelled route changes nothing.
async fn prefer_a_success_status_forces_the_documents_answer_on_a_spec_route_only(app: &TestApp) {
    app.post("/_mock/faults", json!({"path": "/plans/*", "status": 500}))
        .await
        .created();
    let forced = app
        .call_with(
            Method::GET,
            "/plans/plan_9",
            &[("prefer", "code=200")],
            None,
        )
        .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.text());
    assert_eq!(forced.header("x-orb-mock-source"), Some("spec"));
    assert_eq!(forced.json()["id"], "plan_9");
    let other = app
        .call_with(
            Method::GET,
            "/plans/plan_9",
            &[("prefer", "code=201")],
            None,
        )
        .await;
    let body = other.assert_validation(&["Prefer"]);
    assert!(body["detail"].as_str().unwrap().contains("200"), "{body}");
    let modelled = app
        .call_with(
            Method::POST,
            "/customers",
            &[("prefer", "code=201")],
            Some(json!({"name": "P", "email": "p@example.com"})),
        )
        .await;
    modelled.assert_validation(&["Prefer"]);
    assert!(
        listed_ids(app, "/customers").await.is_empty(),
        "nothing created"
    );
}

on_both_stores!(without_a_spec_a_success_status_in_prefer_is_refused);
async fn without_a_spec_a_success_status_in_prefer_is_refused(app: &TestApp) {
    let response = app
        .call_with(Method::GET, "/customers", &[("prefer", "code=200")], None)
        .await;
    let body = response.assert_validation(&["Prefer"]);
    assert!(
        body["detail"].as_str().unwrap().contains("--spec"),
        "{body}"
    );
}

with_orb_spec!(the_source_header_and_the_journal_say_who_answered);
/// Every answer says who gave it, and so does the journal.
async fn the_source_header_and_the_journal_say_who_answered(app: &TestApp) {
    let spec = app.get("/plans/plan_1").await;
    assert_eq!(spec.header("x-orb-mock-source"), Some("spec"));
    let model = app.get("/customers").await;
    assert_eq!(model.header("x-orb-mock-source"), Some("model"));
    let entries = app.get("/_mock/requests").await.data();
    let source_of = |path: &str| {
        entries
            .iter()
            .find(|entry| entry["path"] == path)
            .map(|entry| entry["source"].clone())
    };
    assert_eq!(
        source_of("/plans/plan_1"),
        Some(json!("spec")),
        "{entries:#?}"
    );
    assert_eq!(
        source_of("/customers"),
        Some(json!("model")),
        "{entries:#?}"
    );
}

with_orb_spec!(modelled_routes_are_still_answered_by_the_model);
/// Modelled routes stay authoritative: the store answers them, not the document.
async fn modelled_routes_are_still_answered_by_the_model(app: &TestApp) {
    app.get("/customers/nobody")
        .await
        .assert_error(404, "404-resource-not-found");
    let customer = app.customer(None).await;
    let id = customer["id"].as_str().unwrap();
    let fetched = app.get(&format!("/customers/{id}")).await;
    assert_eq!(fetched.header("x-orb-mock-source"), Some("model"));
    assert_eq!(fetched.json(), customer);
}

// ---------------------------------------------------------------------------------------------
// Loading the document
// ---------------------------------------------------------------------------------------------

/// A temporary file that is removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("orb-mock-{}-{name}", orb_mock::store::new_id()));
        std::fs::write(&path, contents).expect("the temporary file is written");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn start_error(spec: PathBuf) -> String {
    let mut config = test_config("sqlite::memory:");
    config.spec = Some(spec);
    match App::start_with(&config, Clock::default(), Worker::Off).await {
        Ok(app) => {
            app.stop().await;
            panic!("the start should have failed")
        }
        Err(err) => err.to_string(),
    }
}

/// The document loads before any store is opened, so this needs neither store.
#[tokio::test]
async fn a_broken_document_stops_the_start_naming_the_file_and_the_problem() {
    let broken = TempFile::new("broken.json", "{\"openapi\": \"3.1.0\", \"paths\": ");
    let message = start_error(broken.0.clone()).await;
    assert!(
        message.contains(&broken.0.display().to_string()),
        "{message}"
    );
    assert!(message.contains("not valid JSON or YAML"), "{message}");

    let missing = std::env::temp_dir().join("orb-mock-no-such-document.json");
    let message = start_error(missing.clone()).await;
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("cannot read"), "{message}");

    let swagger = TempFile::new("swagger.yaml", "swagger: '2.0'\npaths: {}\n");
    let message = start_error(swagger.0.clone()).await;
    assert!(message.contains("not usable"), "{message}");
}

/// A small OpenAPI 3.0 document in YAML, with a 3.0 `nullable`.
const WIDGETS: &str = r##"
openapi: 3.0.3
info: {title: Widgets, version: "1"}
paths:
  /widgets/{widget_id}:
    get:
      parameters:
        - {name: widget_id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: A widget
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Widget"}
  /widgets:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, size]
              properties:
                name: {type: string}
                size: {type: string, enum: [small, large]}
      responses:
        "201":
          description: Created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Widget"}
components:
  schemas:
    Widget:
      type: object
      required: [id, name, size, note]
      properties:
        id: {type: string}
        name: {type: string}
        size: {type: string, enum: [small, large]}
        note: {type: string, nullable: true}
"##;

on_both_stores!(a_yaml_document_is_validated_and_answered);
/// A YAML OpenAPI 3.0 document works like Orb's JSON 3.1 one.
async fn a_yaml_document_is_validated_and_answered(app: &TestApp) {
    let file = TempFile::new("widgets.yaml", WIDGETS);
    let Some(widgets) = app_with(app.kind, |config| config.spec = Some(file.0.clone())).await
    else {
        return;
    };
    let fetched = widgets.get("/widgets/w_1").await;
    assert_eq!(
        fetched.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&fetched.bytes)
    );
    assert_eq!(fetched.header("x-orb-mock-source"), Some("spec"));
    let widget = fetched.json();
    assert_eq!(widget["id"], "w_1");
    assert!(
        ["small", "large"].contains(&widget["size"].as_str().unwrap()),
        "{widget}"
    );
    assert!(
        widget["note"].is_string() || widget["note"].is_null(),
        "{widget}"
    );

    widgets
        .post("/widgets", json!({"name": "cog"}))
        .await
        .assert_validation(&["size"]);
    widgets
        .post("/widgets", json!({"name": "cog", "size": "huge"}))
        .await
        .assert_validation(&["size"]);
    let created = widgets
        .post("/widgets", json!({"name": "cog", "size": "large"}))
        .await
        .created();
    assert_eq!(created["name"], "cog");
    assert_eq!(created["size"], "large");
    widgets.stop().await;
}

with_orb_spec!(a_spec_route_ignores_dry_run_and_a_modelled_one_honours_it);
/// README, "Dry runs": where orb-mock answers from Orb's document it cannot dry-run, so the
/// header is ignored and `Orb-Dry-Run` is absent; a modelled route beside it dry-runs.
async fn a_spec_route_ignores_dry_run_and_a_modelled_one_honours_it(app: &TestApp) {
    let body = json!({"name": "Gold plan", "currency": "EUR", "prices": []});
    let generated = app
        .call_with(
            axum::http::Method::POST,
            "/plans",
            &[("Dry-Run", "true")],
            Some(body),
        )
        .await;
    assert_eq!(
        generated.status,
        StatusCode::CREATED,
        "{}",
        generated.text()
    );
    assert_eq!(generated.header("orb-dry-run"), None);
    assert_eq!(generated.header("x-orb-mock-source"), Some("spec"));
    let modelled = app
        .call_with(
            axum::http::Method::POST,
            "/customers",
            &[("Dry-Run", "true")],
            Some(json!({"name": "Dry", "email": "dry@example.com"})),
        )
        .await;
    assert_eq!(modelled.status, StatusCode::CREATED);
    assert_eq!(modelled.header("orb-dry-run"), Some("true"));
    assert!(app.get("/customers").await.data().is_empty());
}
