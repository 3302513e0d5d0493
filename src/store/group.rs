//! Group commit of DELETEs on SQLite.
//!
//! SQLite has one writer, and sqlx runs each SQLite connection on a thread of its own: every
//! statement, `BEGIN` and `COMMIT` is a hand-off to that thread and back. Profiling the DELETE
//! under load (BENCHMARKS.md) showed those hand-offs, not SQLite's work, to be its cost. So
//! concurrent DELETEs are gathered here and queued together: one task takes every DELETE waiting
//! (up to [`MAX_BATCH`]) and queues them all in one `INSERT … SELECT` over a JSON array, which
//! SQLite runs atomically without an explicit transaction; the schema's trigger marks each
//! queued customer deleting in the same statement. One round trip serves the whole batch.
//!
//! The statement queues only the customers that may be deleted at once (active, no issued
//! invoice). Any other DELETE, a batch that fails, or a batcher that has stopped answers
//! [`Queued::No`], and the caller takes the long way in a transaction of its own, which finds
//! out why and answers for that request alone. A request abandoned before its batch runs is
//! left out of it (SPEC §6: a request answered with a timeout changes nothing).

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{StoreError, StoreResult};

/// The most DELETEs queued by one statement.
pub const MAX_BATCH: usize = 256;

/// What became of one DELETE sent to the batcher.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Marked deleting, its cascade due then.
    Yes(DateTime<Utc>),
    /// Nothing changed: the caller finds out why in a transaction of its own.
    No,
}

struct Deletion {
    account: String,
    id: String,
    now: DateTime<Utc>,
    default_due: DateTime<Utc>,
    abandoned: Option<CancellationToken>,
    reply: oneshot::Sender<StoreResult<Queued>>,
}

/// A handle on the batching task; cheap to clone. The task ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct DeleteBatcher {
    sender: mpsc::UnboundedSender<Deletion>,
}

impl DeleteBatcher {
    /// Starts the batching task on the current runtime, writing through `writer`.
    pub(crate) fn start(writer: SqlitePool) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, receiver));
        DeleteBatcher { sender }
    }

    /// Marks `id` deleting and queues its cascade, due after the account's own delay, or at
    /// `default_due` when it has none, if it is active and has no issued invoice.
    pub(crate) async fn queue(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
        default_due: DateTime<Utc>,
    ) -> StoreResult<Queued> {
        let (reply, answer) = oneshot::channel();
        let deletion = Deletion {
            account: account.to_owned(),
            id: id.to_owned(),
            now,
            default_due,
            abandoned: super::abandonment(),
            reply,
        };
        if self.sender.send(deletion).is_err() {
            return Ok(Queued::No);
        }
        answer.await.unwrap_or(Ok(Queued::No))
    }
}

async fn run(writer: SqlitePool, mut receiver: mpsc::UnboundedReceiver<Deletion>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut seen = HashSet::new();
        let mut queued = Vec::with_capacity(batch.len());
        for deletion in batch.drain(..) {
            if deletion
                .abandoned
                .as_ref()
                .is_some_and(|t| t.is_cancelled())
            {
                let _ = deletion.reply.send(Err(StoreError::Abandoned));
            } else if seen.insert((deletion.account.clone(), deletion.id.clone())) {
                queued.push(deletion);
            } else {
                // The same customer twice in one batch: the second is already deleting.
                let _ = deletion.reply.send(Ok(Queued::No));
            }
        }
        let mut due = match queue_all(&writer, &queued).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, size = queued.len(), "a batch of DELETEs failed; each goes alone");
                Vec::new()
            }
        };
        for deletion in queued {
            let found = due
                .iter()
                .position(|(account, id, _)| *account == deletion.account && *id == deletion.id);
            let answer = match found {
                Some(at) => Queued::Yes(due.swap_remove(at).2),
                None => Queued::No,
            };
            let _ = deletion.reply.send(Ok(answer));
        }
    }
}

/// The one statement: queues every listed customer that may be deleted now, and answers the
/// `(account, id, due_at)` of each it queued. An account's own delay is added in SQL, to the
/// request's time in whole milliseconds (the setting's own precision).
async fn queue_all(
    writer: &SqlitePool,
    batch: &[Deletion],
) -> sqlx::Result<Vec<(String, String, DateTime<Utc>)>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // The times are written as sqlx writes a `DateTime<Utc>` to SQLite, so that every
    // timestamp column holds one format (compared as text).
    let text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::AutoSi, false);
    let rows: Vec<_> = batch
        .iter()
        .map(|d| {
            json!({
                "a": d.account, "i": d.id, "n": text(d.now), "d": text(d.default_due),
                "m": d.now.timestamp_millis(),
            })
        })
        .collect();
    sqlx::query_as(
        "INSERT INTO deletion_jobs (account, customer_id, state, due_at, created_at) \
         SELECT r.account, r.id, 'pending', COALESCE(( \
             SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00', (r.now_ms + s.deletion_delay_ms) / 1000.0, \
                 'unixepoch') \
             FROM account_settings s WHERE s.account = r.account), r.due), r.now \
         FROM (SELECT value ->> 'a' AS account, value ->> 'i' AS id, value ->> 'n' AS now, \
                      value ->> 'd' AS due, value ->> 'm' AS now_ms \
               FROM json_each($1)) AS r \
         WHERE EXISTS (SELECT 1 FROM customers c \
                       WHERE c.account = r.account AND c.id = r.id AND c.state = 'active') \
           AND NOT EXISTS (SELECT 1 FROM invoices i \
                           WHERE i.account = r.account AND i.customer_id = r.id \
                           AND i.deleted_at IS NULL AND i.status IN ('issued', 'paid', 'synced')) \
         RETURNING account, customer_id, due_at",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(writer)
    .await
}
