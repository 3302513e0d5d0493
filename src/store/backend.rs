//! The seam between the two databases: every place where PostgreSQL and SQLite differ, by name.
//!
//! The domain modules (customers, invoices, subscriptions, deletion, control) write their SQL
//! once, in the dialect both databases share (`$N` placeholders, `RETURNING`, partial indexes,
//! `->>` on JSON). What differs is listed here, and nowhere else:
//!
//! | difference | PostgreSQL | SQLite |
//! |---|---|---|
//! | connecting, pools, migrations | [`super::postgres::connect`] | [`super::sqlite::connect`] |
//! | how a write transaction begins ([`Store::begin`]) | `BEGIN`; row locks serialise | `BEGIN IMMEDIATE` on the one writer |
//! | row locks ([`RowLock`], [`Tx::locking`]) | `FOR UPDATE`, `FOR SHARE`, `SKIP LOCKED` | none: the write lock is already held |
//! | plans for bulk loads ([`Tx::for_bulk_load`]) | custom plans | nothing to do |
//! | which errors are transient ([`StoreError::is_transient`]) | [`super::postgres::is_transient_code`] | [`super::sqlite::is_transient_code`] |
//! | batching of hot requests ([`Store::batches`]) | none (many connections) | [`super::sqlite::batch`] |
//! | what a failed statement leaves of a transaction ([`Tx::survives`]) | nothing: it is aborted | the transaction, less that statement |
//! | the catalog of triggers ([`Store::trigger_exists`]) | `pg_trigger` | `sqlite_master` |
//! | one round trip for a change and its webhook event ([`Tx::with_event`]) | a `WITH` of both statements | both statements in one query |
//!
//! Reads outside a transaction use [`on_reader!`]; statements inside one use [`on_tx!`]: both
//! compile the same sqlx expression once per backend.

use tokio_util::sync::CancellationToken;

use super::sqlite::batch::Batches;
use super::{Store, StoreError, StoreResult};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The connections of a store.
#[derive(Clone)]
pub(crate) enum Db {
    Postgres(sqlx::PgPool),
    /// One writer connection (SQLite allows one writer at a time anyway, and a single writer
    /// turns lock contention into queueing instead of `database is locked`), readers, and the
    /// batches that serve hot requests together.
    Sqlite {
        writer: sqlx::SqlitePool,
        reader: sqlx::SqlitePool,
        batches: Batches,
    },
}

impl Db {
    /// Where write transactions begin.
    pub(crate) fn writer(&self) -> Writer {
        match self {
            Db::Postgres(pool) => Writer::Postgres(pool.clone()),
            Db::Sqlite { writer, .. } => Writer::Sqlite(writer.clone()),
        }
    }
}

/// The pool write transactions begin on ([`Store::begin`]); cheap to clone.
#[derive(Clone)]
pub(crate) enum Writer {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl Writer {
    /// Begins a write transaction: `BEGIN` on PostgreSQL (row locks do the serialising),
    /// `BEGIN IMMEDIATE` on SQLite's writer, so that a read-then-write transaction holds the
    /// write lock from its first read and can never fail to upgrade.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Writer::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Writer::Sqlite(writer) => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
        })
    }
}

/// A write transaction on either backend.
pub(crate) enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// A row lock a `SELECT` inside a write transaction takes on the rows it reads.
///
/// PostgreSQL runs many writers at once, so a statement that reads a row it will change, or
/// needs unchanged, locks it. SQLite takes none: every write transaction begins `IMMEDIATE`
/// and so already holds the database's only write lock, which is stronger than any row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowLock {
    /// The statement will change the row, or must exclude writers that need it unchanged (a
    /// DELETE locks its customer so that no invoice is issued meanwhile).
    Update,
    /// Like [`RowLock::Update`], on the rows of one table of a join only (its alias).
    UpdateOf(&'static str),
    /// The row must stay as read (a write that needs a live customer), but other such writes
    /// may proceed alongside.
    Share,
    /// Claim rows no other process holds, passing over those it does (the work queues).
    SkipLocked,
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Postgres(_) => Backend::Postgres,
            Tx::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// `select` taking `lock` on the rows it reads, as this backend takes it.
    pub(crate) fn locking(&self, select: &str, lock: RowLock) -> String {
        match self.backend() {
            Backend::Postgres => {
                format!("{select}{}", super::postgres::lock_clause(lock))
            }
            Backend::Sqlite => select.to_owned(),
        }
    }

    /// `change` (a statement with `RETURNING`) and the `INSERT` of its webhook event
    /// ([`super::webhooks::event_insert`], parameters from `first`) as one query, answering
    /// `change`'s rows: PostgreSQL runs both in one statement (a data-modifying `WITH`), SQLite
    /// both statements in one hand-off to its writer's thread. Fetch all the rows, so that the
    /// second statement runs.
    pub(crate) fn with_event(&self, change: &str, first: usize) -> String {
        let event = super::webhooks::event_insert(first);
        match self.backend() {
            Backend::Postgres => {
                format!("WITH changed AS ({change}), emitted AS ({event}) SELECT * FROM changed")
            }
            Backend::Sqlite => format!("{change}; {event}"),
        }
    }

    /// Prepares a transaction that will run the same statements thousands of times over
    /// tables it is itself growing (fixtures). On PostgreSQL, a prepared statement's generic
    /// plan, chosen while the table looked empty, would scan the whole table on every row
    /// (quadratic); custom plans see the table's real size and use the indexes. SQLite plans
    /// every statement afresh.
    pub(crate) async fn for_bulk_load(&mut self) -> StoreResult<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Whether the transaction can go on after a statement failed with `err`: PostgreSQL
    /// aborts the whole transaction at any failed statement (a taken unique key included);
    /// SQLite undoes just the statement, so only the database failing ends it.
    pub(crate) fn survives(&self, err: &StoreError) -> bool {
        !matches!(
            (self, err),
            (_, StoreError::Database(_)) | (Tx::Postgres(_), StoreError::Duplicate(_))
        )
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
    /// happen (an idempotency key's stored answer or its release). A dry run ([`dry_run`])
    /// commits nothing: the transaction rolls back, and the caller goes on as if it had
    /// committed.
    pub(crate) async fn commit_regardless(self) -> StoreResult<()> {
        if is_dry_run() {
            self.rollback().await;
            return Ok(());
        }
        match self {
            Tx::Postgres(tx) => tx.commit().await?,
            Tx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

impl Store {
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Postgres(_) => Backend::Postgres,
            Db::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// Begins a write transaction ([`Writer::begin`]).
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        self.db.writer().begin().await
    }

    /// The batches that serve concurrent hot requests in one statement: SQLite's, where every
    /// statement is a hand-off to the connection's thread. PostgreSQL has none; its requests
    /// run side by side on a pool of connections.
    pub(crate) fn batches(&self) -> Option<&Batches> {
        match &self.db {
            Db::Postgres(_) => None,
            Db::Sqlite { batches, .. } => Some(batches),
        }
    }

    /// Whether the schema has a trigger of this name (the code relies on
    /// [`MARKS_CUSTOMER_DELETING`](super::MARKS_CUSTOMER_DELETING)).
    pub async fn trigger_exists(&self, name: &str) -> StoreResult<bool> {
        let found: i64 = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM pg_trigger WHERE tgname = $1")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
            }
            Db::Sqlite { reader, .. } => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = $1",
                )
                .bind(name)
                .fetch_one(reader)
                .await?
            }
        };
        Ok(found > 0)
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

impl StoreError {
    /// Whether retrying the same request may succeed: the connection or the database blipped,
    /// or a lock could not be had in time. Each backend names its own transient codes.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(db) => {
                let Some(code) = db.code() else {
                    return false;
                };
                if db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some()
                {
                    super::postgres::is_transient_code(&code)
                } else {
                    super::sqlite::is_transient_code(&code)
                }
            }
            _ => false,
        }
    }
}

tokio::task_local! {
    static ABANDONED: CancellationToken;
    static DRY_RUN: ();
}

/// Whether the request this task works for is a dry run ([`dry_run`]).
pub(crate) fn is_dry_run() -> bool {
    DRY_RUN.try_with(|_| ()).is_ok()
}

/// Runs `work` (a request's store calls) as a dry run (`Dry-Run: true`): processed as if real,
/// with every check and every statement, but each transaction it commits rolls back instead,
/// so that nothing changes and no event is emitted. The paths that commit several requests'
/// writes together (group commit, SQLite's batched DELETE) are not taken.
pub async fn dry_run<F: std::future::Future>(work: F) -> F::Output {
    DRY_RUN.scope((), work).await
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

/// Runs the same sqlx expression on whichever connection a [`Tx`] holds: `$c` is bound to a
/// `&mut` connection of the right backend. The expression is compiled once per backend.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::backend::Tx::Postgres(tx) => {
                let $c = &mut **tx;
                $body
            }
            $crate::store::backend::Tx::Sqlite(tx) => {
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
            $crate::store::backend::Db::Postgres($p) => $body,
            $crate::store::backend::Db::Sqlite { reader: $p, .. } => $body,
        }
    };
}

pub(crate) use on_reader;
pub(crate) use on_tx;
