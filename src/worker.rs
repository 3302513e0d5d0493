//! The worker: runs due work from the store's durable queues ([`Queue`]), and, beside it, the
//! sweep of expired idempotency keys. Deletions and subscription changes fall due on their
//! account's clock: each look runs the accounts on real time together, then each account with
//! a moved, running clock on its own time.
//!
//! The worker runs each queue in a loop of its own (a slow webhook receiver never holds back a
//! deletion). A loop is woken early when something falls due soon (by the [`Waker`] for
//! deletions, by the store when deliveries commit), and otherwise sleeps until the next row falls due,
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

/// Runs due work until `shutdown` is cancelled: each queue in a loop of its own, so that a
/// slow webhook receiver never holds back a deletion.
pub async fn run(store: Store, clock: Clock, waker: Waker, shutdown: CancellationToken) {
    tracing::debug!("worker started");
    let loops = Queue::ALL.map(|queue| {
        let (store, clock, waker, shutdown) = (
            store.clone(),
            clock.clone(),
            waker.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move { run_queue(queue, &store, &clock, &waker, &shutdown).await })
    });
    for queue_loop in loops {
        let _ = queue_loop.await;
    }
    tracing::debug!("worker stopped");
}

async fn run_queue(
    queue: Queue,
    store: &Store,
    clock: &Clock,
    waker: &Waker,
    shutdown: &CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let wait = match turn(queue, store, clock).await {
            Ok(wait) => wait,
            Err(err) => {
                tracing::warn!(queue = queue.name(), error = %err,
                    "worker could not reach the store");
                POLL_INTERVAL
            }
        };
        if wait.is_zero() {
            continue;
        }
        // Deletions are announced by the waker, deliveries by the store once they commit;
        // subscription changes are found by the next look.
        let woken = async {
            match queue {
                Queue::Deletions => waker.0.notified().await,
                Queue::Webhooks => store.deliveries_queued().notified().await,
                Queue::SubscriptionChanges => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

/// One look at `queue`: runs what is due for every account on real time, then for each
/// account whose clock was moved, on its own clock. Returns how long until something falls
/// due (zero: look again at once; rows ran, and more may be due).
async fn turn(queue: Queue, store: &Store, clock: &Clock) -> StoreResult<Duration> {
    let real = clock.now();
    let mut wait = POLL_INTERVAL;
    // Look before claiming: the look is a read, while a claim is a write transaction (on
    // SQLite, the only writer), and most wakes find nothing due yet.
    let mut due = match store.queue_next_due(queue, None).await? {
        Some(due_at) => vec![(None, real, due_at)],
        None => Vec::new(),
    };
    for moved in store.moved_accounts_due(queue).await? {
        due.push((Some(moved.account), moved.clock.now(real), moved.due_at));
    }
    for (account, now, due_at) in due {
        if due_at > now {
            wait = wait.min((due_at - now).to_std().unwrap_or(Duration::ZERO));
            continue;
        }
        match store
            .run_queue(queue, now, account.as_deref(), BATCH)
            .await?
        {
            // Due rows exist, but another process holds them.
            Turn::Idle => wait = wait.min(HELD_RETRY),
            Turn::Ran(ran) => {
                log(queue, &ran);
                // Failures were recorded and rescheduled; look for more work at once.
                wait = Duration::ZERO;
            }
        }
    }
    Ok(wait)
}

fn log(queue: Queue, ran: &[Ran]) {
    for run in ran {
        match (queue, run) {
            (Queue::Deletions, Ran::Completed { subject, .. }) => {
                tracing::info!(customer_id = %subject, "customer deletion cascade completed");
            }
            (Queue::SubscriptionChanges, Ran::Completed { subject, .. }) => {
                tracing::info!(change = %subject, "subscription change done");
            }
            (Queue::Webhooks, Ran::Completed { subject, .. }) => {
                tracing::debug!(event_id = %subject, "webhook delivered");
            }
            (
                Queue::Webhooks,
                Ran::Failed {
                    subject,
                    error,
                    retry_at,
                    ..
                },
            ) => {
                tracing::info!(event_id = %subject, %error, %retry_at, "webhook delivery failed");
            }
            (Queue::Deletions | Queue::SubscriptionChanges, Ran::Failed { .. }) => {}
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

/// Runs every row of `queue` due now (for one account, on its clock; or for every account on
/// real time) in the caller's task, and
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
    // One account's rows of an account-time queue fall due on its clock.
    let account_clock = match account {
        Some(account) if queue.on_account_time() => store.account_clock(account).await?,
        _ => crate::store::AccountClock::default(),
    };
    loop {
        let now = account_clock.now(clock.now());
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

/// Runs, in the caller's task, every row of one account's account-time queues (deletions,
/// subscription changes) due by `until` on its clock, in the order they fall due across the
/// queues, each at its own due time; returns each ran row with its queue. A failed row is
/// recorded and rescheduled as usual, and ends the run (what is left runs when next due).
/// Rows another worker holds are waited for, up to [`DRAIN_TIMEOUT`].
pub async fn catch_up(
    store: &Store,
    account: &str,
    until: DateTime<Utc>,
) -> StoreResult<Vec<(Queue, Ran)>> {
    let queues = [Queue::SubscriptionChanges, Queue::Deletions];
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    let mut done = Vec::new();
    loop {
        let mut next = Vec::new();
        for queue in queues {
            if let Some(due_at) = store.queue_next_due(queue, Some(account)).await? {
                if due_at <= until {
                    next.push((queue, due_at));
                }
            }
        }
        // Stable: at the same time, a subscription's change comes before a deletion.
        next.sort_by_key(|(_, due_at)| *due_at);
        let Some(&(queue, _)) = next.first() else {
            break;
        };
        // This queue runs up to the time the other's next row falls due.
        let up_to = next.get(1).map_or(until, |(_, due_at)| *due_at);
        match store.run_queue(queue, up_to, Some(account), BATCH).await? {
            Turn::Ran(ran) => {
                let failed = ran.iter().any(|run| matches!(run, Ran::Failed { .. }));
                log(queue, &ran);
                done.extend(ran.into_iter().map(|run| (queue, run)));
                if failed {
                    break;
                }
            }
            Turn::Idle => {
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(
                        account,
                        "catch-up: due rows are still held by another worker"
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    Ok(done)
}
