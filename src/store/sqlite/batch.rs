//! Batches on SQLite: concurrent requests served by one statement (group commit).
//!
//! SQLite has one writer, and sqlx runs each SQLite connection on a thread of its own: every
//! statement, `BEGIN` and `COMMIT` is a hand-off to that thread and back. Profiling under load
//! (BENCHMARKS.md) showed those hand-offs, not SQLite's work, to be what a request costs, and an
//! in-memory database has a single connection, so they queue behind each other. A [`Batcher`]
//! is one task that takes every request of its kind waiting and serves them all with one
//! statement over a JSON array: one round trip for the whole batch.
//!
//! Two kinds are batched, the hottest of each side:
//! - [`queue_deletions`]: DELETEs of customers that may be deleted at once, queued by one
//!   `INSERT … SELECT`, which SQLite runs atomically without an explicit transaction; the
//!   trigger [`MARKS_CUSTOMER_DELETING`](crate::store::deletion::MARKS_CUSTOMER_DELETING) marks
//!   each queued customer deleting in the same statement. Any other DELETE (unknown, already
//!   deleting, blocked, a delay of zero), or one whose batch failed, answers [`Queued::No`], and
//!   the caller takes the transactional path, which finds out why and answers for that request
//!   alone. A request abandoned before its batch runs is left out of it (a request answered
//!   with a timeout changes nothing: README, "Flags", `--request-timeout`).
//! - [`read_customers`]: customers read by id.
//!
//! Writes of customers are grouped on both backends ([`crate::store::group`]).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{FromRow, Row, SqlitePool};
use tokio_util::sync::CancellationToken;

use super::timestamp_text;
use crate::store::control::millis_to_duration;
use crate::store::deletion::{blocks_deletion, due_after};
use crate::store::group::Batcher;
use crate::store::model::Customer;
use crate::store::rows::{CustomerRow, CUSTOMER_COLUMNS};
use crate::store::{StoreError, StoreResult};

/// A DELETE of a customer, for [`queue_deletions`].
pub(crate) struct Deletion {
    pub account: String,
    pub id: String,
    pub now: DateTime<Utc>,
    /// The delay if the account has no delay of its own.
    pub default_delay: Duration,
    pub abandoned: Option<CancellationToken>,
}

/// What became of one DELETE sent to the batcher.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Marked deleting, its deletion due then.
    Yes(DateTime<Utc>),
    /// Nothing changed: the caller takes the transactional path, which finds out why (or, for
    /// a delay of zero, cascades at once).
    No,
}

#[derive(FromRow)]
struct AccountDelay {
    account: String,
    deletion_delay_ms: Option<i64>,
}

/// Queues, in one statement, every listed customer that may be deleted now (the rule of
/// [`deletion`](crate::store::deletion)), due after its account's delay. A DELETE whose delay
/// is zero is left to the transactional path, which cascades before it answers.
pub(crate) async fn queue_deletions(
    writer: SqlitePool,
    batch: Vec<Deletion>,
) -> Vec<StoreResult<Queued>> {
    let mut answers: Vec<Option<StoreResult<Queued>>> = Vec::with_capacity(batch.len());
    let mut connection = match writer.acquire().await {
        Ok(connection) => connection,
        Err(err) => {
            tracing::warn!(error = %err, size = batch.len(), "a batch of DELETEs failed; each goes alone");
            return Vec::new();
        }
    };
    // The accounts' own delays: the due times are computed here, in Rust.
    let accounts: Vec<&str> = batch.iter().map(|d| d.account.as_str()).collect();
    let delays: HashMap<String, Option<i64>> = match sqlx::query_as::<_, AccountDelay>(
        "SELECT account, deletion_delay_ms FROM account_settings \
         WHERE account IN (SELECT value FROM json_each($1))",
    )
    .bind(json!(accounts).to_string())
    .fetch_all(&mut *connection)
    .await
    {
        Ok(rows) => rows
            .into_iter()
            .map(|row| (row.account, row.deletion_delay_ms))
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, size = batch.len(), "a batch of DELETEs failed; each goes alone");
            return Vec::new();
        }
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for d in &batch {
        let delay = delays
            .get(&d.account)
            .copied()
            .flatten()
            .map_or(d.default_delay, millis_to_duration);
        if d.abandoned.as_ref().is_some_and(|t| t.is_cancelled()) {
            answers.push(Some(Err(StoreError::Abandoned)));
        } else if delay.is_zero() || !seen.insert((&d.account, &d.id)) {
            // A delay of zero cascades at once, in a transaction; the same customer twice in
            // one batch: the second finds it already deleting.
            answers.push(Some(Ok(Queued::No)));
        } else {
            answers.push(None);
            rows.push(json!({
                "a": d.account, "i": d.id, "n": timestamp_text(d.now),
                "d": timestamp_text(due_after(d.now, delay)),
            }));
        }
    }
    let queued: Vec<(String, String, DateTime<Utc>)> = if rows.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(concat!(
            "INSERT INTO deletions (account, customer_id, state, due_at, created_at) \
             SELECT r.account, r.id, 'pending', r.due, r.now \
             FROM (SELECT value ->> 'a' AS account, value ->> 'i' AS id, value ->> 'n' AS now, \
                          value ->> 'd' AS due \
                   FROM json_each($1)) AS r \
             WHERE EXISTS (SELECT 1 FROM customers c \
                           WHERE c.account = r.account AND c.id = r.id AND c.state = 'active') \
               AND NOT EXISTS (SELECT 1 FROM invoices i \
                               WHERE i.account = r.account AND i.customer_id = r.id AND ",
            blocks_deletion!(),
            ") RETURNING account, customer_id, due_at",
        ))
        .bind(Value::Array(rows).to_string())
        .fetch_all(&mut *connection)
        .await
        .unwrap_or_else(|err| {
            tracing::warn!(error = %err, size = batch.len(), "a batch of DELETEs failed; each goes alone");
            Vec::new()
        })
    };
    let position: HashMap<(&str, &str), usize> = batch
        .iter()
        .enumerate()
        .filter(|(at, _)| answers[*at].is_none())
        .map(|(at, d)| ((d.account.as_str(), d.id.as_str()), at))
        .collect();
    for (account, id, due) in &queued {
        if let Some(&at) = position.get(&(account.as_str(), id.as_str())) {
            answers[at] = Some(Ok(Queued::Yes(*due)));
        }
    }
    answers
        .into_iter()
        .map(|answer| answer.unwrap_or(Ok(Queued::No)))
        .collect()
}

/// A read of a customer by id, for [`read_customers`].
pub(crate) struct CustomerRead {
    pub account: String,
    pub id: String,
}

/// Reads every listed customer that is not fully deleted, in one statement. A batch that fails
/// is left unanswered, and each caller reads alone.
pub(crate) async fn read_customers(
    reader: SqlitePool,
    batch: Vec<CustomerRead>,
) -> Vec<StoreResult<Option<Customer>>> {
    let keys: Vec<Value> = batch
        .iter()
        .enumerate()
        .map(|(at, r)| json!({"k": at, "a": r.account, "i": r.id}))
        .collect();
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let columns: Vec<String> = CUSTOMER_COLUMNS
            .split(',')
            .map(|column| format!("c.{}", column.trim()))
            .collect();
        format!(
            "SELECT r.value ->> 'k' AS batch_index, {} \
             FROM json_each($1) AS r \
             JOIN customers c ON c.account = r.value ->> 'a' AND c.id = r.value ->> 'i' \
             WHERE c.state <> 'deleted'",
            columns.join(", ")
        )
    });
    let found = sqlx::query(&SQL)
        .bind(Value::Array(keys).to_string())
        .fetch_all(&reader)
        .await;
    let rows = match found {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = %err, size = batch.len(), "a batch of customer reads failed; each goes alone");
            return Vec::new();
        }
    };
    let mut answers: Vec<StoreResult<Option<Customer>>> = batch.iter().map(|_| Ok(None)).collect();
    for row in rows {
        let Some(at) = row
            .try_get::<i64, _>("batch_index")
            .ok()
            .and_then(|at| usize::try_from(at).ok())
            .filter(|at| *at < answers.len())
        else {
            continue;
        };
        answers[at] = CustomerRow::from_row(&row)
            .map_err(StoreError::from)
            .and_then(CustomerRow::into_domain)
            .map(Some);
    }
    answers
}

/// The batches of a SQLite store; cheap to clone.
#[derive(Clone)]
pub(crate) struct Batches {
    deletes: Batcher<Deletion, Queued>,
    reads: Batcher<CustomerRead, Option<Customer>>,
}

impl Batches {
    /// Starts the batching tasks on the current runtime.
    pub(crate) fn start(writer: &SqlitePool, reader: &SqlitePool) -> Batches {
        Batches {
            deletes: Batcher::start(writer.clone(), queue_deletions),
            reads: Batcher::start(reader.clone(), read_customers),
        }
    }

    /// Queues the deletion of a customer that may be deleted now, with others waiting: its
    /// due time, or `None` when the caller must take the transactional path.
    pub(crate) async fn delete(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
        default_delay: Duration,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let deletion = Deletion {
            account: account.to_owned(),
            id: id.to_owned(),
            now,
            default_delay,
            abandoned: crate::store::backend::abandonment(),
        };
        match self.deletes.ask(deletion).await {
            Some(Ok(Queued::Yes(due_at))) => Ok(Some(due_at)),
            Some(Err(err)) => Err(err),
            Some(Ok(Queued::No)) | None => Ok(None),
        }
    }

    /// A customer read by id with others waiting: `Some(answer)`, or `None` when the batch
    /// failed and the caller reads alone.
    pub(crate) async fn customer(
        &self,
        account: &str,
        id: &str,
    ) -> Option<StoreResult<Option<Customer>>> {
        let read = CustomerRead {
            account: account.to_owned(),
            id: id.to_owned(),
        };
        self.reads.ask(read).await
    }
}
