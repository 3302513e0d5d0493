//! The deletion worker: runs due cascade jobs from the store's durable queue.
//!
//! It is woken by the DELETE handler, and otherwise sleeps until the next job falls due, but
//! never longer than [`POLL_INTERVAL`], so that it also notices jobs queued by another process
//! sharing the database. On shutdown it finishes (or rolls back) the job in hand and stops;
//! whatever is still queued runs after the next start. Tests do not sleep for it: they call
//! [`drain`], or move the [`Clock`] and wake it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{CascadeRun, Store, StoreResult};

/// Longest the worker sleeps without looking at the queue.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Wakes the worker early (after a DELETE, or after the clock moved).
#[derive(Clone, Default, Debug)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        // notify_one keeps a permit when the worker is busy, so a wake is never lost.
        self.0.notify_one();
    }
}

/// Most jobs the worker runs in one transaction.
pub const BATCH: i64 = 32;

/// How soon the worker looks again when every due job is held by another process.
const HELD_RETRY: Duration = Duration::from_millis(100);

/// How often the worker sweeps expired idempotency keys.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs jobs until `shutdown` is cancelled, and sweeps expired idempotency keys hourly.
pub async fn run(store: Store, clock: Clock, waker: Waker, shutdown: CancellationToken) {
    tracing::debug!("cascade worker started");
    let mut next_sweep = tokio::time::Instant::now();
    while !shutdown.is_cancelled() {
        if tokio::time::Instant::now() >= next_sweep {
            next_sweep += SWEEP_INTERVAL;
            match store.sweep_idempotency_keys(clock.now()).await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired idempotency keys swept"),
                Err(err) => tracing::warn!(error = %err, "could not sweep idempotency keys"),
            }
        }
        // Look before claiming: the look is a read, while a claim is a write transaction (on
        // SQLite, the only writer), and most wakes (a DELETE with a delay) find nothing due.
        let due_in = until_next_due(&store, &clock).await;
        let wait = if !due_in.is_zero() {
            due_in
        } else {
            match store.run_due_cascades(clock.now(), None, BATCH).await {
                Ok(runs) if runs.contains(&CascadeRun::Empty) && runs.len() == 1 => {
                    // Due jobs exist but another process holds them.
                    HELD_RETRY
                }
                Ok(runs) => {
                    for run in runs {
                        if let CascadeRun::Completed { customer_id, .. } = run {
                            tracing::info!(%customer_id, "customer deletion cascade completed");
                        }
                    }
                    // Failures were recorded and their jobs rescheduled; look for more work.
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cascade worker could not reach the store");
                    POLL_INTERVAL
                }
            }
        };
        tokio::select! {
            _ = waker.0.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {}
        }
    }
    tracing::debug!("cascade worker stopped");
}

async fn until_next_due(store: &Store, clock: &Clock) -> Duration {
    match store.next_cascade_due().await {
        Ok(Some(due)) => (due - clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(POLL_INTERVAL),
        _ => POLL_INTERVAL,
    }
}

/// Longest [`drain`] waits for jobs that another worker holds.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs every job due now (for one account, or all) in the caller's task, and returns once none
/// is due any more: jobs another worker (this process's or another's) has claimed are waited
/// for until they commit, so that on return every due cascade is done. Returns how many this
/// call completed. A failed attempt is recorded and rescheduled as usual (so it is no longer
/// due), not retried here.
pub async fn drain(store: &Store, clock: &Clock, account: Option<&str>) -> StoreResult<usize> {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let mut completed = 0;
    loop {
        let now = clock.now();
        let runs = store.run_due_cascades(now, account, BATCH).await?;
        completed += runs
            .iter()
            .filter(|run| matches!(run, CascadeRun::Completed { .. }))
            .count();
        if runs.contains(&CascadeRun::Empty) {
            if store.due_cascades(now, account).await? == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("drain: due cascades are still held by another worker");
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(completed)
}
