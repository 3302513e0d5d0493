//! The one client the tests send requests with, in process (a router via `oneshot`) or over a
//! real socket (a keep-alive HTTP/1.1 client), and the one response type it returns.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::request::Builder;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tower::ServiceExt;

/// A complete answer.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

/// How a request ended (over a socket; in process it is always answered).
#[derive(Debug)]
pub enum Outcome {
    Answered(TestResponse),
    /// No response head arrived (connection refused, or closed before answering).
    NoAnswer(String),
    /// The response head arrived but its body was cut off.
    Cut(String),
}

impl Outcome {
    /// The answer, or a panic naming what happened instead.
    pub fn reply(self) -> TestResponse {
        match self {
            Outcome::Answered(response) => response,
            other => panic!("expected an answer, got {other:?}"),
        }
    }
}

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Body>;

#[derive(Clone)]
enum Target {
    Router(Router),
    Socket { addr: SocketAddr, http: HttpClient },
}

/// Sends requests as one account (`token`), to a router in process or to a socket; cheap to
/// clone into spawned tasks.
#[derive(Clone)]
pub struct Client {
    target: Target,
    pub token: String,
}

impl Client {
    /// Sends to a router in process.
    pub fn router(router: Router, token: &str) -> Client {
        Client {
            target: Target::Router(router),
            token: token.to_owned(),
        }
    }

    /// Sends to orb-mock at `addr` over keep-alive HTTP/1.1 connections (a new client has no
    /// connection yet).
    pub fn socket(addr: SocketAddr, token: &str) -> Client {
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
        Client {
            target: Target::Socket { addr, http },
            token: token.to_owned(),
        }
    }

    /// A request builder already carrying this client's bearer token.
    pub fn request(&self, method: Method, path: &str) -> Builder {
        let uri = match &self.target {
            Target::Router(_) => path.to_owned(),
            Target::Socket { addr, .. } => format!("http://{addr}{path}"),
        };
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
    }

    /// Sends a request as it is.
    pub async fn send_request(&self, request: Request<Body>) -> Outcome {
        let response = match &self.target {
            Target::Router(router) => router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible"),
            Target::Socket { http, .. } => match http.request(request).await {
                Ok(response) => response.map(Body::new),
                Err(err) => return Outcome::NoAnswer(format!("{err:?}")),
            },
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.into_body().collect().await {
            Ok(body) => Outcome::Answered(TestResponse {
                status,
                headers,
                bytes: body.to_bytes().to_vec(),
            }),
            Err(err) => Outcome::Cut(format!("{status}: {err:?}")),
        }
    }

    /// Sends with extra headers and a JSON body if given.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Outcome {
        let mut request = self.request(method, path);
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
        self.send_request(request.body(body).expect("a valid request"))
            .await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Outcome {
        self.send_with(method, path, &[], body).await
    }

    /// Like [`Client::send_with`], asserting that an answer came.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> TestResponse {
        self.send_with(method, path, headers, body).await.reply()
    }

    /// Like [`Client::send`], asserting that an answer came.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        self.send(method, path, body).await.reply()
    }

    /// Creates a customer (asserting 201) and returns its id.
    pub async fn customer(&self) -> String {
        let body = json!({"name": "Drill", "email": "drill@example.com"});
        let response = self.call(Method::POST, "/v1/customers", Some(body)).await;
        id_of(&response.created())
    }

    pub async fn subscription(&self, customer_id: &str) -> String {
        let body = json!({"customer_id": customer_id, "plan_id": "plan_drill"});
        let response = self
            .call(Method::POST, "/v1/subscriptions", Some(body))
            .await;
        id_of(&response.created())
    }

    /// A draft one-off invoice (which does not block deletion).
    pub async fn draft_invoice(&self, customer_id: &str) -> String {
        let body = invoice_body(customer_id);
        let response = self.call(Method::POST, "/v1/invoices", Some(body)).await;
        id_of(&response.created())
    }

    /// Deletes a customer, asserting Orb's answer: 204 with an empty body.
    pub async fn delete_customer(&self, customer_id: &str) {
        let path = format!("/v1/customers/{customer_id}");
        let response = self.call(Method::DELETE, &path, None).await;
        assert_eq!(
            response.status,
            StatusCode::NO_CONTENT,
            "{}",
            response.text()
        );
        assert!(response.bytes.is_empty(), "204 has an empty body");
    }

    /// The account id orb-mock stores for this token.
    pub fn account(&self) -> String {
        orb_mock::http::extract::Account::from_token(&self.token).0
    }
}

/// The body of a one-off invoice (2 × 4.00) for a customer, a draft unless issued later.
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

/// The `id` of a JSON object.
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {value}"))
        .to_owned()
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|err| {
            panic!(
                "response ({}) is not JSON: {err}: {:?}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 201 and returns the created object.
    pub fn created(&self) -> Value {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.text());
        self.json()
    }

    /// Asserts an Orb error body: status, type suffix, the keys every error carries, and JSON.
    pub fn assert_error(&self, status: u16, type_suffix: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
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

    /// Asserts an Orb error body of this status, of any type (keys `type`, `status`, `title`,
    /// `detail`).
    pub fn assert_orb_error(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
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

/// The title every error of a type carries (always a non-empty string).
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
