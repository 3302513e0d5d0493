//! A webhook receiver for tests: a real HTTP server on a free port that records every delivery
//! (its headers and raw body) and answers each with the next status of a script (then 200).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("the delivery has a {name} header"))
            .to_str()
            .expect("an ASCII header")
            .to_owned()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<u16>,
    /// Answer every delivery with this status (after the script), instead of 200.
    otherwise: Option<u16>,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver at `http://127.0.0.1:<port>/hooks`, answering 200.
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            inner,
            url,
            task: Arc::new(task),
        }
    }

    /// The next deliveries get these statuses, in order; then 200 again.
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script.extend(statuses);
    }

    /// Every later delivery gets `status` (`None`: 200 again), once the script is done.
    pub fn answer_all(&self, status: Option<u16>) {
        self.inner.lock().unwrap().otherwise = status;
    }

    /// The ids of every event received, in arrival order.
    pub fn event_ids(&self) -> Vec<String> {
        self.bodies()
            .iter()
            .map(|body| body["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The bodies received, as JSON, in arrival order.
    pub fn bodies(&self) -> Vec<Value> {
        self.received().iter().map(Received::json).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = inner.lock().unwrap();
    inner.received.push(Received { headers, body });
    let status = inner.script.pop_front().or(inner.otherwise).unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
