//! The store: the domain API over PostgreSQL or SQLite. Every rule that needs a transaction
//! lives behind it, and it imports no HTTP type.
//!
//! The domain API ([`Store`]) is written once, in one module per concern: [`customers`],
//! [`invoices`], [`subscriptions`], [`deletion`] (the DELETE, the queue of deletions and the
//! cascade), [`queue`] (the claim, backoff and retry every queue of due work shares),
//! [`control`] (settings, idempotency keys, reset), [`fixtures`] and [`webhooks`] (endpoints, the
//! outbox of events and the queue of their deliveries). Their SQL is the dialect
//! both databases share. Where the two databases differ, [`backend`] lists each difference by
//! name and dispatches to [`postgres`] or [`sqlite`]; nothing else matches on the backend. One
//! implementation keeps the two stores from drifting apart: a rule fixed for one is fixed for
//! both.

pub mod backend;
pub mod model;
pub mod postgres;
pub mod sqlite;

mod audit;
mod clocks;
mod control;
mod customers;
mod deletion;
mod fixtures;
mod group;
mod hierarchy;
mod invoices;
mod queue;
mod rows;
mod subscriptions;
mod webhooks;

pub use backend::{abandonable, dry_run, Backend};
pub use clocks::{AccountClock, ClockMove, CLOCK_CHANNEL};
pub use control::{AccountSettings, KeyClaim, IDEMPOTENCY_TTL};
pub use customers::{CustomerFilter, CustomerPatch, NewCustomer};
pub use deletion::{DeleteOutcome, Deletion, DeletionState, MARKS_CUSTOMER_DELETING};
pub use fixtures::{FixtureError, Fixtures, Loaded};
pub use invoices::{InvoiceFilter, InvoiceTransition, NewInvoice, NewLineItem};
pub use queue::{backoff, MovedDue, Queue, Ran, Turn, MAX_BACKOFF};
pub use rows::{Page, PageRequest};
pub use subscriptions::{CancelOption, NewSubscription, SubscriptionFilter};
pub use webhooks::{
    AttemptOutcome, ClaimedDelivery, ConfiguredEndpoint, Courier, DeliveryAttempt, Endpoint,
    EndpointPatch, Event, NewEndpoint, PayloadStyle, Properties, RetryPolicy, Subject,
    FANS_OUT_EVENTS, MAX_ENDPOINTS,
};

use std::time::Duration;

use backend::{on_reader, Db};

/// How a request names a customer: Orb accepts either its id or the caller's external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerRef {
    Id(String),
    External(String),
}

/// Failures of the store. The first group are the domain's refusals, which the HTTP layer
/// answers with a 4xx; the rest are the database failing, answered with a 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Could not find a resource of type {kind} with identifier: {id}")]
    NotFound { kind: &'static str, id: String },
    /// The resource's state forbids the change (e.g. the customer is being deleted).
    #[error("{0}")]
    Constraint(String),
    /// A unique key is taken.
    #[error("{0}")]
    Duplicate(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The request's fields contradict what the store holds: `field: problem` each (a
    /// `customer_id` and an `external_customer_id` naming two customers).
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A row holds a value the code does not know (should never happen; never shown to clients).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The request was abandoned (timed out, or its client left) before it could commit.
    #[error("the request was abandoned before it committed")]
    Abandoned,
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        StoreError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Concurrent writes of customers, committed together ([`group`]).
    writes: group::Groups,
    /// The webhook outbox's in-process state ([`webhooks`]).
    outbox: std::sync::Arc<webhooks::Outbox>,
    /// The account clocks this process has read ([`clocks`]).
    clocks: std::sync::Arc<clocks::ClockCache>,
}

/// Connection settings common to both backends.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `postgres://…`, `sqlite::memory:` or `sqlite://path.db`.
    pub url: String,
    /// PostgreSQL pool size (SQLite uses one writer and a few readers).
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with a transient 500.
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        ConnectOptions {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Store {
    /// Connects to the database the URL names, and applies that backend's migrations.
    pub async fn connect(options: &ConnectOptions) -> StoreResult<Store> {
        let url = options.url.as_str();
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(postgres::connect(options).await?)
        } else if url.starts_with("sqlite:") {
            let (writer, reader) = sqlite::connect(options).await?;
            let batches = sqlite::batch::Batches::start(&writer, &reader);
            Db::Sqlite {
                writer,
                reader,
                batches,
            }
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let writes = group::Groups::start(db.writer());
        Ok(Store {
            db,
            writes,
            outbox: Default::default(),
            clocks: Default::default(),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_reader!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}

/// The URL without its password, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Which store a database URL names, for people (the start-up line, errors), never with a
/// password: `SQLite in memory`, `SQLite file /data/orb-mock.db`, or `PostgreSQL database orb on
/// db.internal:5432 as orb`.
pub fn describe_url(url: &str) -> String {
    use std::str::FromStr as _;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return match sqlx::postgres::PgConnectOptions::from_str(url) {
            Ok(options) => format!(
                "PostgreSQL database {} on {}:{} as {}",
                options
                    .get_database()
                    .unwrap_or_else(|| options.get_username()),
                options.get_host(),
                options.get_port(),
                options.get_username()
            ),
            Err(_) => format!("PostgreSQL at {}", redact_url(url)),
        };
    }
    if sqlite::is_in_memory(url) {
        return "SQLite in memory".to_owned();
    }
    match sqlx::sqlite::SqliteConnectOptions::from_str(url) {
        Ok(options) => {
            let file = options.get_filename();
            let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
            format!("SQLite file {}", file.display())
        }
        Err(_) => redact_url(url),
    }
}

/// A fresh Orb-style id: 16 random alphanumeric characters, no prefix.
pub fn new_id() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

/// True when a database error is a unique-key violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
