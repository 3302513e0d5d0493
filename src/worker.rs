//! The worker: runs due work from the store's durable queues ([`Queue`]), and, beside it, the
//! sweep of expired idempotency keys.
//!
//! The worker looks at every queue in turn and runs what is due. It is woken early by a
//! [`Waker`] when something falls due soon, and otherwise sleeps until the next row falls due,
//! but never longer than [`POLL_INTERVAL`], so that it also notices rows queued by another
//! process sharing the database. On shutdown it finishes (or rolls back) the batch in hand and
//! stops; whatever is still queued runs after the next start. Tests do not sleep for it: they
//! call [`drain`], or move the [`Clock`] and wake it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{Queue, Ran, Store, StoreResult, Turn};

/// Longest the worker sleeps without looking at the queues.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Most rows the worker runs in one transaction.
pub const BATCH: i64 = 32;

/// How soon the worker looks again when every due row is held by another process.
const HELD_RETRY: Duration = Duration::from_millis(100);

/// How often expired idempotency keys are swept.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Wakes the worker early.
#[derive(Clone, Default, Debug)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        // notify_one keeps a permit when the worker is busy, so a wake is never lost.
        self.0.notify_one();
    }

    /// Tells the worker that work was queued, due at `due_at`. Only work due within the
    /// worker's poll interval needs a wake (so that it sleeps until exactly then); later work
    /// is found by its next look, at most [`POLL_INTERVAL`] away.
    pub fn queued(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) {
        let soon = chrono::Duration::from_std(POLL_INTERVAL).unwrap_or_default();
        if due_at < now + soon {
            self.wake();
        }
    }
}

/// Runs due work until `shutdown` is cancelled.
pub async fn run(store: Store, clock: Clock, waker: Waker, shutdown: CancellationToken) {
    tracing::debug!("worker started");
    while !shutdown.is_cancelled() {
        let mut wait = POLL_INTERVAL;
        let mut ran_any = false;
        for queue in Queue::ALL {
            // Look before claiming: the look is a read, while a claim is a write transaction
            // (on SQLite, the only writer), and most wakes find nothing due yet.
            let due_in = until_next_due(&store, &clock, queue).await;
            if !due_in.is_zero() {
                wait = wait.min(due_in);
                continue;
            }
            match store.run_queue(queue, clock.now(), None, BATCH).await {
                // Due rows exist, but another process holds them.
                Ok(Turn::Idle) => wait = wait.min(HELD_RETRY),
                Ok(Turn::Ran(ran)) => {
                    log(queue, &ran);
                    ran_any = true;
                }
                Err(err) => tracing::warn!(queue = queue.name(), error = %err,
                    "worker could not reach the store"),
            }
        }
        if ran_any {
            // Failures were recorded and rescheduled; look for more work at once.
            continue;
        }
        tokio::select! {
            _ = waker.0.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {}
        }
    }
    tracing::debug!("worker stopped");
}

fn log(queue: Queue, ran: &[Ran]) {
    for run in ran {
        if let (Queue::Deletions, Ran::Completed { subject, .. }) = (queue, run) {
            tracing::info!(customer_id = %subject, "customer deletion cascade completed");
        }
    }
}

async fn until_next_due(store: &Store, clock: &Clock, queue: Queue) -> Duration {
    match store.queue_next_due(queue).await {
        Ok(Some(due)) => (due - clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(POLL_INTERVAL),
        Ok(None) => POLL_INTERVAL,
        Err(err) => {
            tracing::warn!(queue = queue.name(), error = %err, "worker could not reach the store");
            POLL_INTERVAL
        }
    }
}

/// Sweeps expired idempotency keys every [`SWEEP_INTERVAL`], from the start, until
/// `shutdown` is cancelled.
pub async fn sweep(store: Store, clock: Clock, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        match store.sweep_idempotency_keys(clock.now()).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "expired idempotency keys swept"),
            Err(err) => tracing::warn!(error = %err, "could not sweep idempotency keys"),
        }
    }
}

/// Longest [`drain`] waits for rows that another worker holds.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs every row of `queue` due now (for one account, or all) in the caller's task, and
/// returns once none is due any more: rows another worker (this process's or another's) has
/// claimed are waited for until they commit, so that on return every due row is done. Returns
/// how many this call completed. A failed attempt is recorded and rescheduled as usual (so it
/// is no longer due), not retried here.
pub async fn drain(
    store: &Store,
    clock: &Clock,
    queue: Queue,
    account: Option<&str>,
) -> StoreResult<usize> {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let mut completed = 0;
    loop {
        let now = clock.now();
        match store.run_queue(queue, now, account, BATCH).await? {
            Turn::Ran(ran) => {
                completed += ran
                    .iter()
                    .filter(|run| matches!(run, Ran::Completed { .. }))
                    .count();
            }
            Turn::Idle => {
                if store.queue_due_count(queue, now, account).await? == 0 {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(
                        queue = queue.name(),
                        "drain: due rows are still held by another worker"
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    Ok(completed)
}
