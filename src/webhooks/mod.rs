//! Webhook deliveries: the store's [`Courier`], which renders an event in its endpoint's payload
//! style, signs it as Orb does ([`sign`]), and POSTs it (README, "Testing webhook handlers").
//!
//! What is sent and when is the store's business ([`crate::store`]'s outbox and its queue of
//! deliveries); this module only makes the call and reports how it went. `X-Orb-Timestamp` is
//! always the real time, so the SDKs' ±5 minute check passes whatever the account's data says.

pub mod sign;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::http::{Request, Uri};
use chrono::Utc;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::objects::event_body;
use crate::store::{AttemptOutcome, ClaimedDelivery, Courier, RetryPolicy};

/// Most bytes of a receiver's answer that are read (and thrown away).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How deliveries are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Longest a receiver may take to answer (Orb: 5 seconds).
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// The HTTP client that delivers webhooks.
#[derive(Clone)]
pub struct Outbound {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    settings: DeliverySettings,
}

impl Outbound {
    pub fn new(settings: DeliverySettings) -> Outbound {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Outbound {
            client: Client::builder(TokioExecutor::new()).build(https),
            settings,
        }
    }

    /// One attempt: render, sign, POST, and wait at most the timeout for the answer.
    async fn attempt(&self, delivery: &ClaimedDelivery) -> AttemptOutcome {
        let started = Instant::now();
        let failed = |status: Option<u16>, error: String| AttemptOutcome {
            status,
            latency: started.elapsed(),
            error: Some(error),
        };
        let body = match serde_json::to_vec(&event_body(&delivery.event, delivery.endpoint.style()))
        {
            Ok(body) => body,
            Err(err) => return failed(None, format!("could not render the event: {err}")),
        };
        let uri: Uri = match delivery.endpoint.url.parse() {
            Ok(uri) => uri,
            Err(err) => return failed(None, format!("bad endpoint URL: {err}")),
        };
        let stamp = sign::timestamp(Utc::now());
        let signature = sign::signature_header(&delivery.endpoint.secret, &stamp, &body);
        let request = Request::post(uri)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("orb-mock/", env!("CARGO_PKG_VERSION")))
            .header(sign::TIMESTAMP_HEADER, stamp)
            .header(sign::SIGNATURE_HEADER, signature)
            .body(Full::new(Bytes::from(body)));
        let request = match request {
            Ok(request) => request,
            Err(err) => return failed(None, format!("could not build the request: {err}")),
        };
        let timeout = self.settings.timeout;
        let call = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            // Read the answer (bounded) so that the connection can be reused.
            let _ = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(status)) if status.is_success() => AttemptOutcome {
                status: Some(status.as_u16()),
                latency: started.elapsed(),
                error: None,
            },
            Ok(Ok(status)) => failed(
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
            ),
            Ok(Err(err)) => failed(None, describe(&err)),
            Err(_) => failed(
                None,
                format!("no answer within {}", humantime::format_duration(timeout)),
            ),
        }
    }
}

impl Courier for Outbound {
    fn deliver(
        &self,
        delivery: ClaimedDelivery,
    ) -> Pin<Box<dyn Future<Output = AttemptOutcome> + Send>> {
        let outbound = self.clone();
        Box::pin(async move { outbound.attempt(&delivery).await })
    }

    fn lease(&self) -> Duration {
        // The call's timeout, plus time to record its outcome.
        self.settings.timeout + Duration::from_secs(5)
    }

    fn retry(&self) -> RetryPolicy {
        self.settings.retry
    }
}

/// A client error with its causes (hyper's own message is only "client error (Connect)").
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
