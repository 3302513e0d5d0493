//! Webhooks in the store: each account's endpoints, the outbox of events, and the queue of
//! deliveries (README, "Testing webhook handlers").
//!
//! **The outbox.** A change that Orb announces calls [`Store::emit`] inside its own
//! transaction: the event (a snapshot of the resource as it is after the change) is written
//! with the change, and the trigger [`FANS_OUT_EVENTS`] queues one delivery per enabled
//! endpoint that wants its type in the same statement, so an event and its deliveries exist if
//! and only if the change committed, at the cost of one statement per change; on the hot paths
//! (a customer's create and edit) not even that, since the event's `INSERT` rides in the
//! change's own statement ([`Emission`], `Tx::with_event`). Nothing else
//! emits: a refused request, a rollback, a `Prefer` answer or an injected fault never reaches a
//! committing transaction.
//!
//! **Deliveries** are due work ([`super::queue`]) with one difference from deletions: their
//! work is an HTTP call, which must not run inside a transaction (on SQLite that would hold the
//! only writer for up to the delivery timeout). So a delivery is *leased*: the claim sets its
//! `leased_until` (and `due_at`) to the end of the lease and commits, the call runs, and
//! [`Store::finish_delivery`] records the attempt and completes or reschedules the row. A
//! process that dies mid-call leaves the row due again when its lease ends: delivery is at
//! least once, and exactly once in the normal path. On PostgreSQL the claim skips rows another
//! process holds, so several processes deliver each event once.
//!
//! **Order.** Each endpoint's deliveries are attempted one at a time, in the order of their
//! changes: a row is claimed only when no earlier row of its endpoint is due and none is in
//! flight. A row waiting for its retry is not due, so it does not hold back those after it.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use tokio::sync::Notify;

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::model::{Customer, Invoice, Subscription};
use super::queue::{backoff_from, Queue, QueueTable, Ran, Turn};
use super::rows::{page_of, Page, PageRequest};
use super::{new_id, Store, StoreError, StoreResult};

/// The trigger, in both schemas, that queues an event's deliveries when the event is inserted
/// (see `migrations/*/…_webhooks.sql`): [`Store::emit`] only inserts the event. A test checks
/// that it exists by this name on both stores.
pub const FANS_OUT_EVENTS: &str = "webhook_events_fan_out";

/// Most endpoints an account may have (Orb's default limit).
pub const MAX_ENDPOINTS: i64 = 20;

/// How an endpoint's events are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadStyle {
    /// Every object in full, as the API returns it (the account default).
    Expanded,
    /// Each object's own fields, with related objects as references.
    Standard,
}

impl PayloadStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadStyle::Expanded => "expanded",
            PayloadStyle::Standard => "standard",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "expanded" => Some(PayloadStyle::Expanded),
            "standard" => Some(PayloadStyle::Standard),
            _ => None,
        }
    }
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    /// Returned by the API only when the endpoint is created.
    pub secret: String,
    pub enabled: bool,
    /// `None`: every type.
    pub enabled_event_types: Option<Vec<String>>,
    /// `None`: the account's default, [`PayloadStyle::Expanded`].
    pub payload_style: Option<PayloadStyle>,
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// Whether this endpoint is sent events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.enabled
            && self
                .enabled_event_types
                .as_ref()
                .is_none_or(|types| types.iter().any(|t| t == kind))
    }

    pub fn style(&self) -> PayloadStyle {
        self.payload_style.unwrap_or(PayloadStyle::Expanded)
    }
}

/// What `POST /webhook_endpoints` asks for, already validated.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub enabled_event_types: Option<Vec<String>>,
    pub payload_style: Option<PayloadStyle>,
}

/// What `PUT /webhook_endpoints/{id}` changes: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub enabled_event_types: Option<Option<Vec<String>>>,
    pub payload_style: Option<Option<PayloadStyle>>,
}

/// The endpoint of `--webhook-url` and `--webhook-secret`, which every account has from the
/// start (it is written into an account the first time the account's endpoints are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredEndpoint {
    pub url: String,
    pub secret: String,
}

/// What an event is about: a snapshot of the resource as the change left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resource", rename_all = "snake_case")]
pub enum Subject {
    /// `resource_event.test`.
    None,
    // Boxed, all three: an event is moved about far more often than it is read.
    Customer {
        customer: Box<Customer>,
    },
    Invoice {
        invoice: Box<Invoice>,
    },
    Subscription {
        subscription: Box<Subscription>,
        customer: Box<Customer>,
    },
}

/// What an event says beyond its subject: Orb's `properties`, typed per event (the wire
/// shape is decided where events are rendered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Properties {
    /// `{}`.
    None,
    /// `resource_event.test`.
    Test { message: String },
    /// `customer.edited`: the customer before the edit.
    Edited { before: Box<Customer> },
    /// `invoice.issued`.
    Issued { automatically_marked_as_paid: bool },
    /// `invoice.manually_marked_as_paid`.
    MarkedPaid {
        payment_received: DateTime<Utc>,
        external_id: Option<String>,
        notes: Option<String>,
    },
    /// `subscription.cancellation_scheduled`.
    CancellationScheduled { cancellation_date: DateTime<Utc> },
}

/// An event to emit.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `<resource>.<verb>`, e.g. `customer.created`.
    pub kind: &'static str,
    pub subject: Subject,
    pub properties: Properties,
}

impl NewEvent {
    pub(crate) fn customer_created(customer: &Customer) -> Self {
        NewEvent::about_customer("customer.created", customer, Properties::None)
    }

    /// `customer.edited`: the subject is the customer after the edit, the properties hold it
    /// as it was (its changed fields are Orb's `previous_attributes`).
    pub(crate) fn customer_edited(before: &Customer, after: &Customer) -> Self {
        NewEvent::about_customer(
            "customer.edited",
            after,
            Properties::Edited {
                before: Box::new(before.clone()),
            },
        )
    }

    fn about_customer(kind: &'static str, customer: &Customer, properties: Properties) -> Self {
        NewEvent {
            kind,
            subject: Subject::Customer {
                customer: Box::new(customer.clone()),
            },
            properties,
        }
    }

    /// `invoice.issued`; orb-mock never marks an invoice paid by itself.
    pub(crate) fn invoice_issued(invoice: &Invoice) -> Self {
        NewEvent::about_invoice(
            "invoice.issued",
            invoice,
            Properties::Issued {
                automatically_marked_as_paid: false,
            },
        )
    }

    pub(crate) fn invoice_voided(invoice: &Invoice) -> Self {
        NewEvent::about_invoice("invoice.manually_marked_as_void", invoice, Properties::None)
    }

    pub(crate) fn invoice_marked_paid(
        invoice: &Invoice,
        payment_received: DateTime<Utc>,
        external_id: Option<String>,
        notes: Option<String>,
    ) -> Self {
        NewEvent::about_invoice(
            "invoice.manually_marked_as_paid",
            invoice,
            Properties::MarkedPaid {
                payment_received,
                external_id,
                notes,
            },
        )
    }

    fn about_invoice(kind: &'static str, invoice: &Invoice, properties: Properties) -> Self {
        NewEvent {
            kind,
            subject: Subject::Invoice {
                invoice: Box::new(invoice.clone()),
            },
            properties,
        }
    }

    /// A subscription event with no properties (`subscription.created`, `.started`, `.ended`).
    pub(crate) fn subscription(
        kind: &'static str,
        subscription: &Subscription,
        customer: &Customer,
    ) -> Self {
        NewEvent {
            kind,
            subject: Subject::Subscription {
                subscription: Box::new(subscription.clone()),
                customer: Box::new(customer.clone()),
            },
            properties: Properties::None,
        }
    }

    pub(crate) fn cancellation_scheduled(
        subscription: &Subscription,
        customer: &Customer,
        cancellation_date: DateTime<Utc>,
    ) -> Self {
        NewEvent {
            properties: Properties::CancellationScheduled { cancellation_date },
            ..NewEvent::subscription(
                "subscription.cancellation_scheduled",
                subscription,
                customer,
            )
        }
    }

    pub(crate) fn test() -> Self {
        NewEvent {
            kind: "resource_event.test",
            subject: Subject::None,
            properties: Properties::Test {
                message: "A test webhook from Orb. Happy testing!".to_owned(),
            },
        }
    }
}

/// An event ready to be written by the statement of its change ([`Tx::with_event`]): on a
/// hot path, the change and its event then cost one round trip to the database, not two.
pub(crate) struct Emission {
    pub account: String,
    pub id: String,
    pub kind: &'static str,
    pub subject: Json<Subject>,
    pub properties: Json<Properties>,
    /// On the account's clock.
    pub created_at: DateTime<Utc>,
    /// Send to this endpoint only (a test event aimed at one).
    pub only_endpoint: Option<String>,
    /// When its deliveries fall due: now, on the real clock, whatever the account's.
    pub deliver_at: DateTime<Utc>,
}

impl Emission {
    /// `event` of `account`, for every endpoint that wants it; written by [`Store::emit`], or
    /// by its change's own statement ([`Tx::with_event`](super::backend::Tx::with_event)), in
    /// a transaction where [`Store::ensure_configured_endpoint`] has run.
    pub(crate) fn new(account: &str, event: NewEvent, now: DateTime<Utc>) -> Self {
        Emission::aimed(account, event, None, now)
    }

    fn aimed(
        account: &str,
        event: NewEvent,
        only_endpoint: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        Emission {
            account: account.to_owned(),
            id: new_id(),
            kind: event.kind,
            subject: Json(event.subject),
            properties: Json(event.properties),
            created_at: now.trunc_subsecs(0),
            only_endpoint: only_endpoint.map(str::to_owned),
            deliver_at: Utc::now().trunc_subsecs(6),
        }
    }

    /// The event as emitted.
    fn into_event(self) -> Event {
        Event {
            id: self.id,
            kind: self.kind.to_owned(),
            created_at: self.created_at,
            subject: self.subject.0,
            properties: self.properties.0,
        }
    }
}

/// The `INSERT` of an [`Emission`], its parameters numbered from `first`: the one statement
/// that writes an event, on its own ([`Store::emit`]) or riding in its change's
/// ([`Tx::with_event`](super::backend::Tx::with_event)).
pub(crate) fn event_insert(first: usize) -> String {
    let p: Vec<String> = (first..first + 8).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO webhook_events (account, id, type, subject, properties, created_at, \
         only_endpoint, deliver_at) VALUES ({})",
        p.join(", ")
    )
}

/// Binds an [`Emission`]'s parameters (in [`event_insert`]'s order) after a query's own.
macro_rules! bind_event {
    ($query:expr, $emission:expr) => {
        $query
            .bind(&$emission.account)
            .bind(&$emission.id)
            .bind($emission.kind)
            .bind(&$emission.subject)
            .bind(&$emission.properties)
            .bind($emission.created_at)
            .bind(&$emission.only_endpoint)
            .bind($emission.deliver_at)
    };
}
pub(crate) use bind_event;

/// An emitted event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    /// To the second, as Orb's.
    pub created_at: DateTime<Utc>,
    pub subject: Subject,
    pub properties: Properties,
}

/// A delivery claimed for one attempt: the event, where it goes, and the lease it holds.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pk: i64,
    pub account: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub event: Event,
    pub endpoint: Endpoint,
    leased_until: DateTime<Utc>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why it failed: a non-2xx, a timeout, a refused connection; `None` for a 2xx.
    pub error: Option<String>,
}

/// When a failed delivery is tried again, and when it is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; it doubles after each further one.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub cap: Duration,
    /// Attempts after which a delivery is marked `failed` and no longer tried.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(3600),
            max_attempts: 10,
        }
    }
}

/// One attempt, as `GET /_mock/webhooks/deliveries` shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryAttempt {
    #[sqlx(skip)]
    pub pk: i64,
    pub event_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub attempt: i32,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub attempted_at: DateTime<Utc>,
}

/// The outbox's in-process state, shared by every clone of a store.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Notified after a commit that queued deliveries, so that the worker delivers at once.
    pub(crate) queued: Notify,
    configured: std::sync::RwLock<Option<ConfiguredEndpoint>>,
    courier: std::sync::RwLock<Option<std::sync::Arc<dyn Courier>>>,
    /// Accounts whose configured endpoint this process has written.
    configured_in: Mutex<HashSet<String>>,
    /// Accounts this process has seen with an endpoint: an event of theirs wakes the worker at
    /// once. Any other account's deliveries (an endpoint created by another process) are found
    /// by the worker's next look, at most a second later.
    with_endpoints: Mutex<HashSet<String>>,
}

/// The deliveries queue, for [`super::queue`]'s shared look at due rows.
pub(crate) struct Deliveries;

impl QueueTable for Deliveries {
    const QUEUE: Queue = Queue::Webhooks;
    const TABLE: &'static str = "webhook_deliveries";
    const SUBJECT: &'static str = "endpoint_id";
    /// Deliveries are sent on the real clock, whatever the account's.
    const ACCOUNT_TIME: bool = false;
    /// A leased row's `due_at` is its lease's end; until then it is in flight, and a drain
    /// (`POST /_mock/webhooks/flush`) waits for it.
    const OUTSTANDING: &'static str =
        "(due_at <= $1 OR (leased_until IS NOT NULL AND leased_until > $1))";
}

/// Makes the HTTP call of a delivery: the webhooks module's client, registered with
/// [`Store::set_courier`] (the store itself makes no HTTP call).
pub trait Courier: Send + Sync + 'static {
    /// Sends one signed delivery and reports how it went; never fails otherwise.
    fn deliver(
        &self,
        delivery: ClaimedDelivery,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = AttemptOutcome> + Send>>;
    /// How long a claimed delivery is leased: longer than the call may take.
    fn lease(&self) -> Duration;
    fn retry(&self) -> RetryPolicy;
}

const KIND: &str = "WebhookEndpoint";
const ENDPOINT_COLUMNS: &str =
    "pk, id, url, secret, enabled, enabled_event_types, payload_style, created_at";
const EVENT_COLUMNS: &str = "pk, id, type, subject, properties, created_at";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    pk: i64,
    id: String,
    url: String,
    secret: String,
    enabled: bool,
    enabled_event_types: Option<Json<Vec<String>>>,
    payload_style: Option<String>,
    created_at: DateTime<Utc>,
}

impl EndpointRow {
    fn into_domain(self) -> StoreResult<Endpoint> {
        let payload_style = match self.payload_style.as_deref() {
            None => None,
            Some(style) => Some(PayloadStyle::parse(style).ok_or_else(|| {
                StoreError::Corrupt(format!("webhook endpoint payload_style {style:?}"))
            })?),
        };
        Ok(Endpoint {
            id: self.id,
            url: self.url,
            secret: self.secret,
            enabled: self.enabled,
            enabled_event_types: self.enabled_event_types.map(|Json(types)| types),
            payload_style,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    pk: i64,
    id: String,
    #[sqlx(rename = "type")]
    kind: String,
    subject: Json<Subject>,
    properties: Json<Properties>,
    created_at: DateTime<Utc>,
}

impl EventRow {
    fn into_domain(self) -> StoreResult<Event> {
        Ok(Event {
            id: self.id,
            kind: self.kind,
            created_at: self.created_at,
            subject: self.subject.0,
            properties: self.properties.0,
        })
    }
}

/// The endpoint's types as the fan-out trigger matches them: `,a,b,`, or `NULL` for every type.
fn event_filter(endpoint: &Endpoint) -> Option<String> {
    endpoint
        .enabled_event_types
        .as_ref()
        .map(|types| format!(",{},", types.join(",")))
}

/// A fresh endpoint secret: 32 random bytes, base64url without padding (the shape of Orb's).
fn new_secret() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Store {
    /// Sets the endpoint every account has from the start (`--webhook-url`), or none.
    pub fn set_configured_endpoint(&self, endpoint: Option<ConfiguredEndpoint>) {
        *self
            .outbox
            .configured
            .write()
            .unwrap_or_else(|e| e.into_inner()) = endpoint;
        self.outbox
            .configured_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Sets what makes deliveries' HTTP calls. Without one, deliveries wait in the outbox.
    pub fn set_courier(&self, courier: std::sync::Arc<dyn Courier>) {
        *self
            .outbox
            .courier
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(courier);
    }

    /// Runs up to `max` due deliveries (one per endpoint; for one account, or all): claims
    /// them, makes their calls side by side, and records each attempt.
    pub(crate) async fn run_deliveries(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
    ) -> StoreResult<Turn> {
        let courier = self
            .outbox
            .courier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(courier) = courier else {
            return Ok(Turn::Idle);
        };
        let claimed = self
            .claim_deliveries(now, account, max, courier.lease())
            .await?;
        if claimed.is_empty() {
            return Ok(Turn::Idle);
        }
        let mut calls = tokio::task::JoinSet::new();
        for delivery in claimed {
            let courier = courier.clone();
            calls.spawn(async move {
                let outcome = courier.deliver(delivery.clone()).await;
                (delivery, outcome)
            });
        }
        let retry = courier.retry();
        let mut ran = Vec::new();
        while let Some(call) = calls.join_next().await {
            let Ok((delivery, outcome)) = call else {
                // A call that panicked keeps its lease and is tried again when it ends.
                continue;
            };
            ran.push(
                self.finish_delivery(&delivery, &outcome, after(now, outcome.latency), &retry)
                    .await?,
            );
        }
        Ok(Turn::Ran(ran))
    }

    /// Notified after a commit that queued deliveries.
    pub fn deliveries_queued(&self) -> &Notify {
        &self.outbox.queued
    }

    /// Whether an event of `account` reaches the configured endpoint without first writing it
    /// into the account ([`Store::ensure_configured_endpoint`]): there is none, or this
    /// process has written it.
    pub(crate) fn reaches_configured_endpoint(&self, account: &str) -> bool {
        self.outbox
            .configured
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
            || self
                .outbox
                .configured_in
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(account)
    }

    /// Writes the configured endpoint into `account` if this process has not yet (and the
    /// account has not deleted it). Its URL and secret follow the flags of the latest start.
    pub(crate) async fn ensure_configured_endpoint(
        &self,
        tx: &mut Tx,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let Some(configured) = self
            .outbox
            .configured
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return Ok(());
        };
        if self
            .outbox
            .configured_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(account)
        {
            return Ok(());
        }
        on_tx!(tx, |c| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (account, id, url, secret, configured, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(new_id())
            .bind(&configured.url)
            .bind(&configured.secret)
            .bind(true)
            .bind(now)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "UPDATE webhook_endpoints SET url = $2, secret = $3 \
                 WHERE account = $1 AND configured AND deleted_at IS NULL \
                   AND (url <> $2 OR secret <> $3)",
            )
            .bind(account)
            .bind(&configured.url)
            .bind(&configured.secret)
            .execute(c)
            .await?;
        });
        // Marked once the transaction commits is what matters; marking now is harmless, since a
        // rolled-back insert is redone by the next account read after `forget_configured`. A
        // dry run's insert never commits: it leaves no mark.
        if super::backend::is_dry_run() {
            return Ok(());
        }
        self.outbox
            .configured_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned());
        self.note_endpoints(account);
        Ok(())
    }

    /// Forgets that `account` has its configured endpoint (after a reset or a rollback).
    pub(crate) fn forget_configured(&self, account: &str) {
        self.outbox
            .configured_in
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account);
    }

    fn note_endpoints(&self, account: &str) {
        self.outbox
            .with_endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned());
    }

    pub(crate) fn may_have_endpoints(&self, account: &str) -> bool {
        self.outbox
            .with_endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(account)
    }

    /// Records `event` in `account`'s outbox inside the transaction of the change that causes
    /// it; [`FANS_OUT_EVENTS`] queues its deliveries in the same statement. Returns whether
    /// the worker should be woken once the caller commits ([`Store::queued_deliveries`]).
    pub(crate) async fn emit(
        &self,
        tx: &mut Tx,
        account: &str,
        event: NewEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        self.ensure_configured_endpoint(tx, account, now).await?;
        insert_event(tx, &Emission::new(account, event, now)).await?;
        Ok(usize::from(self.may_have_endpoints(account)))
    }

    /// Wakes the worker after a commit that may have queued deliveries (`count` > 0).
    pub(crate) fn queued_deliveries(&self, count: usize) {
        if count > 0 {
            self.outbox.queued.notify_one();
        }
    }

    /// Queues an event again for each of `endpoints` that wants its type (a resend; an
    /// emitted event's deliveries are queued by [`FANS_OUT_EVENTS`]).
    async fn queue_deliveries(
        &self,
        tx: &mut Tx,
        account: &str,
        event_pk: i64,
        kind: &str,
        endpoints: &[Endpoint],
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        let mut queued = 0;
        for endpoint in endpoints.iter().filter(|e| e.wants(kind)) {
            on_tx!(&mut *tx, |c| {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (account, event_pk, endpoint_id, due_at, \
                     created_at) VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(account)
                .bind(event_pk)
                .bind(&endpoint.id)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
            });
            queued += 1;
        }
        Ok(queued)
    }

    /// The account's endpoints that are not deleted, oldest first, inside a write
    /// transaction.
    async fn live_endpoints(
        &self,
        tx: &mut Tx,
        account: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Endpoint>> {
        self.ensure_configured_endpoint(tx, account, now).await?;
        let rows = on_tx!(tx, |c| {
            sqlx::query_as::<_, EndpointRow>(&format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
                 WHERE account = $1 AND deleted_at IS NULL ORDER BY pk"
            ))
            .bind(account)
            .fetch_all(c)
            .await?
        });
        rows.into_iter().map(EndpointRow::into_domain).collect()
    }

    // --- endpoints -----------------------------------------------------------------------

    pub async fn create_endpoint(
        &self,
        account: &str,
        new: NewEndpoint,
        now: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin().await?;
        let live = self.live_endpoints(&mut tx, account, now).await?;
        if live.len() as i64 >= MAX_ENDPOINTS {
            tx.rollback().await;
            return Err(StoreError::Constraint(format!(
                "An account can have at most {MAX_ENDPOINTS} webhook endpoints; delete one first."
            )));
        }
        let endpoint = Endpoint {
            id: new_id(),
            url: new.url,
            secret: new_secret(),
            enabled: true,
            enabled_event_types: new.enabled_event_types,
            payload_style: new.payload_style,
            created_at: now,
        };
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (account, id, url, secret, enabled, \
                 enabled_event_types, event_filter, payload_style, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(account)
            .bind(&endpoint.id)
            .bind(&endpoint.url)
            .bind(&endpoint.secret)
            .bind(true)
            .bind(endpoint.enabled_event_types.as_ref().map(Json))
            .bind(event_filter(&endpoint))
            .bind(endpoint.payload_style.map(PayloadStyle::as_str))
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        self.commit_endpoints(tx, account).await?;
        self.note_endpoints(account);
        Ok(endpoint)
    }

    /// Commits a transaction that may have written the configured endpoint.
    async fn commit_endpoints(&self, tx: Tx, account: &str) -> StoreResult<()> {
        let committed = tx.commit().await;
        if committed.is_err() {
            self.forget_configured(account);
        }
        committed
    }

    /// One endpoint that is not deleted.
    pub async fn endpoint(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin().await?;
        let endpoint = self.live_endpoint(&mut tx, account, id, now).await;
        match endpoint {
            Ok(endpoint) => {
                self.commit_endpoints(tx, account).await?;
                Ok(endpoint)
            }
            Err(err) => {
                tx.rollback().await;
                self.forget_configured(account);
                Err(err)
            }
        }
    }

    async fn live_endpoint(
        &self,
        tx: &mut Tx,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        self.ensure_configured_endpoint(tx, account, now).await?;
        let select = tx.locking(
            &format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
                 WHERE account = $1 AND id = $2 AND deleted_at IS NULL"
            ),
            RowLock::Update,
        );
        let row = on_tx!(tx, |c| {
            sqlx::query_as::<_, EndpointRow>(&select)
                .bind(account)
                .bind(id)
                .fetch_optional(c)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found(KIND, id))?
            .into_domain()
    }

    /// The account's endpoints, newest first.
    pub async fn list_endpoints(
        &self,
        account: &str,
        page: PageRequest,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<Endpoint>> {
        let mut tx = self.begin().await?;
        self.ensure_configured_endpoint(&mut tx, account, now)
            .await?;
        let rows = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, EndpointRow>(&format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
                 WHERE account = $1 AND deleted_at IS NULL AND ($2 IS NULL OR pk < $2) \
                 ORDER BY pk DESC LIMIT $3"
            ))
            .bind(account)
            .bind(page.before)
            .bind(page.limit + 1)
            .fetch_all(c)
            .await?
        });
        self.commit_endpoints(tx, account).await?;
        page_of(rows, page, |row| row.pk, EndpointRow::into_domain)
    }

    pub async fn update_endpoint(
        &self,
        account: &str,
        id: &str,
        patch: EndpointPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        self.change_endpoint(account, id, now, |endpoint| {
            if let Some(url) = patch.url {
                endpoint.url = url;
            }
            if let Some(types) = patch.enabled_event_types {
                endpoint.enabled_event_types = types;
            }
            if let Some(style) = patch.payload_style {
                endpoint.payload_style = style;
            }
        })
        .await
    }

    /// Enables or disables an endpoint. A disabled endpoint is sent nothing: its pending
    /// deliveries are cancelled, and events emitted while it is disabled queue none for it.
    pub async fn set_endpoint_enabled(
        &self,
        account: &str,
        id: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        self.change_endpoint(account, id, now, |endpoint| endpoint.enabled = enabled)
            .await
    }

    async fn change_endpoint(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Endpoint),
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin().await?;
        let mut endpoint = match self.live_endpoint(&mut tx, account, id, now).await {
            Ok(endpoint) => endpoint,
            Err(err) => {
                tx.rollback().await;
                self.forget_configured(account);
                return Err(err);
            }
        };
        change(&mut endpoint);
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE webhook_endpoints SET url = $3, enabled = $4, enabled_event_types = $5, \
                 event_filter = $6, payload_style = $7 WHERE account = $1 AND id = $2",
            )
            .bind(account)
            .bind(id)
            .bind(&endpoint.url)
            .bind(endpoint.enabled)
            .bind(endpoint.enabled_event_types.as_ref().map(Json))
            .bind(event_filter(&endpoint))
            .bind(endpoint.payload_style.map(PayloadStyle::as_str))
            .execute(c)
            .await?
            .rows_affected()
        });
        if !endpoint.enabled {
            cancel_pending(&mut tx, account, id, now).await?;
        }
        self.commit_endpoints(tx, account).await?;
        Ok(endpoint)
    }

    /// Deletes an endpoint: Orb stops sending to it at once, so its pending deliveries are
    /// cancelled. Its past attempts stay listed.
    pub async fn delete_endpoint(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Err(err) = self.live_endpoint(&mut tx, account, id, now).await {
            tx.rollback().await;
            self.forget_configured(account);
            return Err(err);
        }
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE webhook_endpoints SET deleted_at = $3 WHERE account = $1 AND id = $2",
            )
            .bind(account)
            .bind(id)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        cancel_pending(&mut tx, account, id, now).await?;
        self.commit_endpoints(tx, account).await
    }

    // --- events ------------------------------------------------------------------------------

    /// Emits `resource_event.test`, as Orb's dashboard does: to one endpoint, or to every
    /// enabled endpoint that wants it.
    pub async fn emit_test_event(
        &self,
        account: &str,
        endpoint_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Event> {
        let mut tx = self.begin().await?;
        if let Some(id) = endpoint_id {
            if let Err(err) = self.live_endpoint(&mut tx, account, id, now).await {
                tx.rollback().await;
                self.forget_configured(account);
                return Err(err);
            }
        }
        self.ensure_configured_endpoint(&mut tx, account, now)
            .await?;
        let emission = Emission::aimed(account, NewEvent::test(), endpoint_id, now);
        insert_event(&mut tx, &emission).await?;
        self.commit_endpoints(tx, account).await?;
        self.queued_deliveries(usize::from(self.may_have_endpoints(account)));
        Ok(emission.into_event())
    }

    /// The account's events, newest first, optionally of one type.
    pub async fn list_events(
        &self,
        account: &str,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Event>> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, EventRow>(&format!(
                "SELECT {EVENT_COLUMNS} FROM webhook_events \
                 WHERE account = $1 AND ($2 IS NULL OR type = $2) AND ($3 IS NULL OR pk < $3) \
                 ORDER BY pk DESC LIMIT $4"
            ))
            .bind(account)
            .bind(kind)
            .bind(page.before)
            .bind(page.limit + 1)
            .fetch_all(pool)
            .await?
        });
        page_of(rows, page, |row| row.pk, EventRow::into_domain)
    }

    /// The position of the account's newest event (0 when it has none), for
    /// [`Store::events_after`].
    pub async fn newest_event_mark(&self, account: &str) -> StoreResult<i64> {
        let mark = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(pk) FROM webhook_events WHERE account = $1",
            )
            .bind(account)
            .fetch_one(pool)
            .await?
        });
        Ok(mark.unwrap_or(0))
    }

    /// The account's events emitted after `mark` ([`Store::newest_event_mark`]), oldest first.
    pub async fn events_after(&self, account: &str, mark: i64) -> StoreResult<Vec<Event>> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, EventRow>(&format!(
                "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE account = $1 AND pk > $2 \
                 ORDER BY pk"
            ))
            .bind(account)
            .bind(mark)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(EventRow::into_domain).collect()
    }

    /// Queues `event_id` again for every enabled endpoint that wants its type, with the same
    /// event id. Returns the event and how many deliveries were queued.
    pub async fn resend_event(
        &self,
        account: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(Event, usize)> {
        let mut tx = self.begin().await?;
        let row = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, EventRow>(&format!(
                "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE account = $1 AND id = $2"
            ))
            .bind(account)
            .bind(event_id)
            .fetch_optional(c)
            .await?
        });
        let Some(row) = row else {
            tx.rollback().await;
            return Err(StoreError::not_found("WebhookEvent", event_id));
        };
        let event_pk = row.pk;
        let event = row.into_domain()?;
        let endpoints = self.live_endpoints(&mut tx, account, now).await?;
        let queued = self
            .queue_deliveries(&mut tx, account, event_pk, &event.kind, &endpoints, now)
            .await?;
        self.commit_endpoints(tx, account).await?;
        self.queued_deliveries(queued);
        Ok((event, queued))
    }

    // --- deliveries ----------------------------------------------------------------------

    /// Claims the due deliveries, at most one per endpoint and `max` in all (for one account,
    /// or all), leasing each until `now + lease`.
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // Whole microseconds: the lease is matched by equality when the attempt is recorded,
        // and PostgreSQL keeps microseconds.
        let leased_until =
            (now + chrono::Duration::from_std(lease).unwrap_or_default()).trunc_subsecs(6);
        let mut tx = self.begin().await?;
        let claim = tx.locking(
            "SELECT d.pk, d.account, d.event_pk, d.endpoint_id, d.attempts \
             FROM webhook_deliveries d \
             WHERE d.state = 'pending' AND d.due_at <= $1 AND ($2 IS NULL OR d.account = $2) \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o \
                 WHERE o.account = d.account AND o.endpoint_id = d.endpoint_id \
                   AND o.state = 'pending' AND o.pk <> d.pk \
                   AND ((o.leased_until IS NOT NULL AND o.leased_until > $1) \
                        OR (o.pk < d.pk AND o.due_at <= $1))) \
             ORDER BY d.pk LIMIT $3",
            RowLock::SkipLocked,
        );
        let rows: Vec<(i64, String, i64, String, i32)> = on_tx!(&mut tx, |c| {
            sqlx::query_as(&claim)
                .bind(now)
                .bind(account)
                .bind(max.max(1))
                .fetch_all(c)
                .await?
        });
        let mut claimed = Vec::with_capacity(rows.len());
        for (pk, account, event_pk, endpoint_id, attempts) in rows {
            let event = on_tx!(&mut tx, |c| {
                sqlx::query_as::<_, EventRow>(&format!(
                    "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE pk = $1"
                ))
                .bind(event_pk)
                .fetch_one(c)
                .await?
            })
            .into_domain()?;
            let endpoint = on_tx!(&mut tx, |c| {
                sqlx::query_as::<_, EndpointRow>(&format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
                     WHERE account = $1 AND id = $2 AND deleted_at IS NULL AND enabled"
                ))
                .bind(&account)
                .bind(&endpoint_id)
                .fetch_optional(c)
                .await?
            });
            let Some(endpoint) = endpoint else {
                // Deleted or disabled since (its deliveries were cancelled then; this one
                // raced that change).
                cancel_delivery(&mut tx, pk, now).await?;
                continue;
            };
            on_tx!(&mut tx, |c| {
                sqlx::query(
                    "UPDATE webhook_deliveries SET leased_until = $2, due_at = $2 WHERE pk = $1",
                )
                .bind(pk)
                .bind(leased_until)
                .execute(c)
                .await?
                .rows_affected()
            });
            claimed.push(ClaimedDelivery {
                pk,
                account,
                attempts,
                event,
                endpoint: endpoint.into_domain()?,
                leased_until,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt of a claimed delivery, and completes it (a 2xx), reschedules it
    /// with backoff, or gives it up after `retry.max_attempts`.
    pub async fn finish_delivery(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
        retry: &RetryPolicy,
    ) -> StoreResult<Ran> {
        let attempt = claimed.attempts + 1;
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "INSERT INTO webhook_attempts (account, event_id, endpoint_id, url, attempt, \
                 status, latency_ms, error, attempted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&claimed.account)
            .bind(&claimed.event.id)
            .bind(&claimed.endpoint.id)
            .bind(&claimed.endpoint.url)
            .bind(attempt)
            .bind(outcome.status.map(i32::from))
            .bind(outcome.latency.as_millis().min(i64::MAX as u128) as i64)
            .bind(&outcome.error)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        let ran = match &outcome.error {
            None => {
                on_tx!(&mut tx, |c| {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = 'completed', completed_at = $2, \
                         attempts = $3, leased_until = NULL, last_error = NULL \
                         WHERE pk = $1 AND state = 'pending' AND leased_until = $4",
                    )
                    .bind(claimed.pk)
                    .bind(now)
                    .bind(attempt)
                    .bind(claimed.leased_until)
                    .execute(c)
                    .await?
                    .rows_affected()
                });
                Ran::Completed {
                    account: claimed.account.clone(),
                    subject: claimed.event.id.clone(),
                }
            }
            Some(error) => {
                let give_up = attempt >= retry.max_attempts;
                let retry_at = now + backoff_from(retry.base, retry.cap, attempt);
                on_tx!(&mut tx, |c| {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET state = $5, attempts = $3, \
                         last_error = $6, due_at = $7, leased_until = NULL, completed_at = $2 \
                         WHERE pk = $1 AND state = 'pending' AND leased_until = $4",
                    )
                    .bind(claimed.pk)
                    .bind(give_up.then_some(now))
                    .bind(attempt)
                    .bind(claimed.leased_until)
                    .bind(if give_up { "failed" } else { "pending" })
                    .bind(error)
                    .bind(retry_at)
                    .execute(c)
                    .await?
                    .rows_affected()
                });
                Ran::Failed {
                    account: claimed.account.clone(),
                    subject: claimed.event.id.clone(),
                    error: error.clone(),
                    retry_at,
                }
            }
        };
        tx.commit_regardless().await?;
        Ok(ran)
    }

    /// Every attempt of the account's deliveries, newest first.
    pub async fn delivery_attempts(
        &self,
        account: &str,
        event_id: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<DeliveryAttempt>> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<
                _,
                (
                    i64,
                    String,
                    String,
                    String,
                    i32,
                    Option<i32>,
                    i64,
                    Option<String>,
                    DateTime<Utc>,
                ),
            >(
                "SELECT pk, event_id, endpoint_id, url, attempt, status, latency_ms, error, \
                 attempted_at FROM webhook_attempts \
                 WHERE account = $1 AND ($2 IS NULL OR event_id = $2) AND ($3 IS NULL OR pk < $3) \
                 ORDER BY pk DESC LIMIT $4",
            )
            .bind(account)
            .bind(event_id)
            .bind(page.before)
            .bind(page.limit + 1)
            .fetch_all(pool)
            .await?
        });
        page_of(
            rows,
            page,
            |row| row.0,
            |(pk, event_id, endpoint_id, url, attempt, status, latency_ms, error, attempted_at)| {
                Ok(DeliveryAttempt {
                    pk,
                    event_id,
                    endpoint_id,
                    url,
                    attempt,
                    status,
                    latency_ms,
                    error,
                    attempted_at,
                })
            },
        )
    }

    /// When the account's next pending delivery falls due (or its lease ends), if any.
    pub async fn next_delivery_due(&self, account: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let due = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
                "SELECT MIN(due_at) FROM webhook_deliveries WHERE account = $1 AND state = 'pending'",
            )
            .bind(account)
            .fetch_one(pool)
            .await?
        });
        Ok(due)
    }

    /// How many of the account's deliveries are still pending (due, in flight, or waiting
    /// for a retry).
    pub async fn pending_deliveries(&self, account: &str) -> StoreResult<i64> {
        let count = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE account = $1 AND state = 'pending'",
            )
            .bind(account)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }
}

/// `now` moved on by `elapsed` (the time an attempt took, on the clock that claimed it).
fn after(now: DateTime<Utc>, elapsed: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(elapsed).unwrap_or_default()
}

/// Writes an event into the outbox on its own (its change's statement did not carry it).
async fn insert_event(tx: &mut Tx, emission: &Emission) -> StoreResult<()> {
    let sql = event_insert(1);
    on_tx!(tx, |c| {
        bind_event!(sqlx::query(&sql), emission)
            .execute(c)
            .await?
            .rows_affected()
    });
    Ok(())
}

/// Cancels an endpoint's pending deliveries (it was disabled or deleted).
async fn cancel_pending(
    tx: &mut Tx,
    account: &str,
    endpoint_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'cancelled', completed_at = $3, \
             leased_until = NULL WHERE account = $1 AND endpoint_id = $2 AND state = 'pending'",
        )
        .bind(account)
        .bind(endpoint_id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(())
}

async fn cancel_delivery(tx: &mut Tx, pk: i64, now: DateTime<Utc>) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'cancelled', completed_at = $2, \
             leased_until = NULL WHERE pk = $1",
        )
        .bind(pk)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(())
}
