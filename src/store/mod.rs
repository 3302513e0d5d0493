//! The store: every rule of SPEC §5 that needs a transaction lives behind this API.
//!
//! orb-mock runs on PostgreSQL or on SQLite. The domain API ([`Store`]) is written once; the
//! SQL it runs is portable (`$N` placeholders, `RETURNING`, partial indexes work on both), and
//! the places where the two databases need different idioms are confined to [`postgres`] and
//! [`sqlite`]: how to connect and migrate, how a write transaction begins (`BEGIN IMMEDIATE` on
//! SQLite's single writer), and which row-lock clause a statement carries (`FOR UPDATE`,
//! `FOR SHARE`, `SKIP LOCKED` on PostgreSQL; none on SQLite, whose write transactions are already
//! serialised). One implementation keeps the two stores from drifting apart: a rule fixed for one
//! is fixed for both.

pub mod model;
pub mod postgres;
pub mod sqlite;

mod audit;
mod control;
mod customers;
mod fixtures;
mod group;
mod invoices;
mod jobs;
mod rows;
mod subscriptions;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use control::{AccountSettings, KeyClaim, IDEMPOTENCY_TTL};
pub use customers::{CustomerFilter, CustomerPatch, DeleteOutcome, NewCustomer};
pub use fixtures::{FixtureError, Fixtures, Loaded};
pub use invoices::{InvoiceFilter, InvoiceTransition, NewInvoice, NewLineItem};
pub use jobs::{backoff, CascadeRun, DeletionJob, JobState};
pub use rows::{Page, PageRequest};
pub use subscriptions::{CancelOption, NewSubscription, SubscriptionFilter};

/// How a request names a customer: Orb accepts either its id or the caller's external id.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Whether retrying the same request may succeed: the connection or the database blipped,
    /// or a lock could not be had in time.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(err) => match err {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // PostgreSQL: connection exceptions (08), serialization failure, deadlock,
                    // admin shutdown, cannot connect now. SQLite: BUSY (5), LOCKED (6).
                    code.starts_with("08")
                        || matches!(&*code, "40001" | "40P01" | "57P01" | "57P03" | "5" | "6")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

#[derive(Clone)]
enum Db {
    Postgres(sqlx::PgPool),
    /// One writer connection (SQLite allows one writer at a time anyway, and a single writer
    /// turns lock contention into queueing instead of `database is locked`), and readers.
    Sqlite {
        writer: sqlx::SqlitePool,
        reader: sqlx::SqlitePool,
        /// Queues concurrent DELETEs through the writer in one statement.
        deletes: group::Batcher<group::Deletion, group::Queued>,
        /// Reads concurrently requested customers in one statement.
        reads: group::Batcher<group::CustomerRead, Option<model::Customer>>,
    },
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A write transaction on either backend.
pub(crate) enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Row locks that PostgreSQL needs and SQLite (serialised writers) does not.
#[derive(Clone, Copy)]
pub(crate) enum Lock {
    /// `FOR UPDATE`: the statement will change the row, or must exclude writers that need it
    /// unchanged (DELETE locks the customer so that no invoice is issued meanwhile).
    Update,
    /// `FOR SHARE`: the statement needs the row to stay as read (a write that needs a live
    /// customer), but other such writes may proceed alongside.
    Share,
    /// `FOR UPDATE SKIP LOCKED`: claim a job no other process holds.
    SkipLocked,
}

impl Tx {
    /// The lock clause to append to a `SELECT` in this transaction.
    pub(crate) fn lock(&self, lock: Lock) -> &'static str {
        match (self, lock) {
            (Tx::Sqlite(_), _) => "",
            (Tx::Postgres(_), Lock::Update) => " FOR UPDATE",
            (Tx::Postgres(_), Lock::Share) => " FOR SHARE",
            (Tx::Postgres(_), Lock::SkipLocked) => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Prepares a transaction that will run the same statements thousands of times over
    /// tables it is itself growing (fixtures). On PostgreSQL, a prepared statement's generic
    /// plan, chosen while the table looked empty, would scan the whole table on every row
    /// (quadratic); custom plans see the table's real size and use the indexes.
    pub(crate) async fn for_bulk_load(&mut self) -> StoreResult<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Rolls back, logging (not returning) a failure: a connection that cannot roll back is
    /// closed by the pool, which rolls back just the same.
    pub(crate) async fn rollback(self) {
        let result = match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "rollback failed");
        }
    }

    /// Commits, unless the request this transaction works for has been abandoned (see
    /// [`abandonable`]): then it rolls back, so that a request answered with a timeout, or
    /// whose client went away, changes nothing.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        if abandonment().is_some_and(|token| token.is_cancelled()) {
            self.rollback().await;
            return Err(StoreError::Abandoned);
        }
        self.commit_regardless().await
    }

    /// Commits even for an abandoned request: for bookkeeping that must reflect what did
    /// happen (an idempotency key's stored answer or its release).
    pub(crate) async fn commit_regardless(self) -> StoreResult<()> {
        match self {
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

tokio::task_local! {
    static ABANDONED: CancellationToken;
}

/// The abandonment token of the request this task works for, if it is one.
pub(crate) fn abandonment() -> Option<CancellationToken> {
    ABANDONED.try_with(CancellationToken::clone).ok()
}

/// Runs `work` (a request's store calls) so that it can be abandoned safely: `work` should run
/// on its own task, never be dropped mid-way (a sqlx connection dropped in the middle of a
/// statement or of `BEGIN`/`COMMIT` is left in a state the pool cannot repair; on in-memory
/// SQLite that loses the database), and once `abandoned` is cancelled, every commit it reaches
/// rolls back instead.
pub async fn abandonable<F: std::future::Future>(
    abandoned: CancellationToken,
    work: F,
) -> F::Output {
    ABANDONED.scope(abandoned, work).await
}

/// The invoice statuses that keep a customer from being deleted (SPEC §5), as an SQL list: a
/// macro so that every query naming them can be one `concat!`ed literal.
macro_rules! blocking_invoice_statuses {
    () => {
        "('issued', 'paid', 'synced')"
    };
}

pub(crate) use blocking_invoice_statuses;

/// Runs the same sqlx expression on whichever connection a [`Tx`] holds: `$c` is bound to a
/// `&mut` connection of the right backend. The expression is compiled once per backend.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Postgres(tx) => {
                let $c = &mut **tx;
                $body
            }
            $crate::store::Tx::Sqlite(tx) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

/// Like [`on_tx!`] for reads outside a transaction: `$p` is the backend's read pool.
macro_rules! on_reader {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Postgres($p) => $body,
            $crate::store::Db::Sqlite { reader: $p, .. } => $body,
        }
    };
}

pub(crate) use on_reader;
pub(crate) use on_tx;

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
            let deletes = group::Batcher::start(writer.clone(), group::queue_deletions);
            let reads = group::Batcher::start(reader.clone(), group::read_customers);
            Db::Sqlite {
                writer,
                reader,
                deletes,
                reads,
            }
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        Ok(Store { db })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Postgres(_) => Backend::Postgres,
            Db::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// Begins a write transaction: `BEGIN` on PostgreSQL (row locks do the serialising),
    /// `BEGIN IMMEDIATE` on SQLite's writer, so that a read-then-write transaction holds the
    /// write lock from its first read and can never fail to upgrade.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match &self.db {
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_reader!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection; in-flight queries finish first.
    pub async fn close(&self) {
        match &self.db {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite { writer, reader, .. } => {
                reader.close().await;
                writer.close().await;
            }
        }
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
