//! Durable due work: the claim, completion, backoff and retry that every queue shares.
//!
//! A queue is a table whose rows fall due at `due_at`. Running a queue claims the due rows
//! (oldest first; on PostgreSQL with `SKIP LOCKED`, so several orb-mock processes share a queue
//! without running a row twice), performs each inside the claiming transaction, and completes
//! them in that same transaction: a crash at any point leaves a row either pending (it runs
//! again) or done, never half done. A failed attempt rolls back, and the row's attempts, last
//! error and next due time (exponential [`backoff`]) are recorded in a transaction of their own.
//!
//! Deletions are the first queue ([`super::deletion`]), subscription starts and ends the
//! second ([`super::subscriptions`]). Another kind of due work is a table with the same queue
//! columns, a [`Work`] that performs one row, and a [`Queue`] variant.
//!
//! Both fall due on their account's clock ([`super::clocks`]): a run for one account is given
//! that account's time, and a run for every account ([`Store::run_due`] with no account) claims
//! only the rows of accounts on real time; the worker runs each moved account on its own
//! ([`Store::moved_accounts_due`]).
//!
//! Webhook deliveries ([`super::webhooks`]) are the third, with two differences: they fall due
//! on the real clock, whatever the account's, and their work is
//! an HTTP call, which must not hold a transaction open. They are claimed with a lease instead
//! of inside a transaction; they share the look at due rows ([`QueueTable`]), the backoff
//! ([`backoff_from`]) and the runner's interface ([`Store::run_queue`]).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::{Store, StoreResult};

/// Every queue orb-mock keeps. The worker runs each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Customers whose deletion was accepted, waiting for their cascade.
    Deletions,
    /// Subscriptions waiting to start (`upcoming` to `active`) or to end.
    SubscriptionChanges,
    /// Webhook events waiting for their delivery to an endpoint.
    Webhooks,
}

impl Queue {
    pub const ALL: [Queue; 3] = [
        Queue::Deletions,
        Queue::SubscriptionChanges,
        Queue::Webhooks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Queue::Deletions => "deletions",
            Queue::SubscriptionChanges => "subscription changes",
            Queue::Webhooks => "webhooks",
        }
    }

    /// Whether the queue's rows fall due on their account's clock (else on the real clock).
    pub fn on_account_time(self) -> bool {
        match self {
            Queue::Deletions => super::deletion::Deletions::ACCOUNT_TIME,
            Queue::SubscriptionChanges => super::subscriptions::Changes::ACCOUNT_TIME,
            Queue::Webhooks => super::webhooks::Deliveries::ACCOUNT_TIME,
        }
    }
}

/// The longest wait between two attempts of a failing row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// 1 s, 2 s, 4 s, … after the n-th failed attempt, capped at [`MAX_BACKOFF`].
pub fn backoff(attempts: i32) -> chrono::Duration {
    backoff_from(Duration::from_secs(1), MAX_BACKOFF, attempts)
}

/// `base`, 2 × `base`, 4 × `base`, … after the n-th failed attempt, capped at `cap`.
pub fn backoff_from(base: Duration, cap: Duration, attempts: i32) -> chrono::Duration {
    let exponent = (attempts.clamp(1, 31) - 1) as u32;
    let wait = base.saturating_mul(1u32 << exponent).min(cap);
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

/// A claimed row: which account it belongs to and what it is about.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Claimed {
    pk: i64,
    pub account: String,
    /// The row's subject, e.g. the customer of a deletion.
    pub subject: String,
    attempts: i32,
    /// When it fell due, on its account's clock: the time its work happened.
    pub due_at: DateTime<Utc>,
}

impl Claimed {
    /// When the row's work happens: when it fell due, or `now` if that is earlier (a run
    /// that moved a clock across several due rows does each at its own time).
    pub fn at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.due_at.min(now)
    }
}

/// A table of due work. It has the queue columns: `pk`, `account`, `state` (`pending`, then
/// `completed` or another final state), `due_at`, `attempts`, `last_error`, `completed_at`.
pub(crate) trait QueueTable {
    const QUEUE: Queue;
    /// The queue table.
    const TABLE: &'static str;
    /// The column that names a row's subject.
    const SUBJECT: &'static str;
    /// When a pending row counts as outstanding (due, or being worked on), with `$1` = now.
    const OUTSTANDING: &'static str = "due_at <= $1";
    /// Whether rows fall due on their account's clock ([`super::clocks`]).
    const ACCOUNT_TIME: bool = true;
}

/// The condition, in a query on `table`, that a row's account is on real time: a run for
/// every account takes only these rows of an account-time queue.
fn on_real_time<W: QueueTable>(account: Option<&str>) -> String {
    match (W::ACCOUNT_TIME, account) {
        (true, None) => format!(
            " AND NOT EXISTS (SELECT 1 FROM account_clocks k WHERE k.account = {}.account)",
            W::TABLE
        ),
        _ => String::new(),
    }
}

/// One kind of due work that is done inside the transaction that claims it.
pub(crate) trait Work: QueueTable {
    /// Does the work of one claimed row, inside the claiming transaction. The row is
    /// completed by the caller in the same transaction.
    fn perform(
        store: &Store,
        tx: &mut Tx,
        row: &Claimed,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What one turn of a queue did.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Nothing could be claimed: no row is due, or another process holds every due row.
    Idle,
    /// Rows were claimed and attempted, each with its outcome.
    Ran(Vec<Ran>),
}

/// The outcome of one attempted row.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran {
    /// It was performed and committed.
    Completed { account: String, subject: String },
    /// It failed and was rolled back; it is due again at `retry_at`.
    Failed {
        account: String,
        subject: String,
        error: String,
        retry_at: DateTime<Utc>,
    },
}

/// One claim-perform-commit of up to `max` rows.
enum Attempt {
    Idle,
    Committed(Vec<Claimed>),
    Failed {
        claimed: Vec<Claimed>,
        error: super::StoreError,
    },
}

impl Store {
    /// Runs up to `max` due rows of `W`'s queue, oldest first, in one transaction (one commit
    /// instead of one per row is what makes a queue of thousands drain quickly). `account`
    /// narrows the claim to one account's rows. If a row fails, the whole batch is rolled back
    /// and its rows are run one at a time instead, so that the failure is recorded against its
    /// own row and the others complete.
    pub(crate) async fn run_due<W: Work>(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
    ) -> StoreResult<Turn> {
        let (claimed, error) = match self.attempt::<W>(now, account, max).await? {
            Attempt::Idle => return Ok(Turn::Idle),
            Attempt::Committed(done) => {
                return Ok(Turn::Ran(done.into_iter().map(completed).collect()))
            }
            Attempt::Failed { claimed, error } => (claimed, error),
        };
        if let [row] = claimed.as_slice() {
            return Ok(Turn::Ran(vec![
                self.record_failure::<W>(row, error, now).await?,
            ]));
        }
        tracing::debug!(queue = W::QUEUE.name(), %error,
            "a row in a batch failed; running the batch one row at a time");
        let mut ran = Vec::with_capacity(claimed.len());
        for _ in 0..claimed.len() {
            match self.attempt::<W>(now, account, 1).await? {
                Attempt::Idle => break,
                Attempt::Committed(done) => ran.extend(done.into_iter().map(completed)),
                Attempt::Failed { claimed, error } => {
                    if let Some(row) = claimed.first() {
                        ran.push(self.record_failure::<W>(row, error, now).await?);
                    }
                }
            }
        }
        Ok(if ran.is_empty() {
            Turn::Idle
        } else {
            Turn::Ran(ran)
        })
    }

    async fn attempt<W: Work>(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
    ) -> StoreResult<Attempt> {
        #[cfg(debug_assertions)]
        if crate::failpoint::armed("cascade-before-claim")
            && self.due_count::<W>(now, account).await? > 0
        {
            crate::failpoint::hit("cascade-before-claim");
        }
        let mut tx = self.begin().await?;
        let claim = tx.locking(
            &format!(
                "SELECT pk, account, {} AS subject, attempts, due_at FROM {} \
                 WHERE state = 'pending' AND due_at <= $1 AND ($2 IS NULL OR account = $2){} \
                 ORDER BY due_at, pk LIMIT $3",
                W::SUBJECT,
                W::TABLE,
                on_real_time::<W>(account)
            ),
            RowLock::SkipLocked,
        );
        let claimed = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, Claimed>(&claim)
                .bind(now)
                .bind(account)
                .bind(max.max(1))
                .fetch_all(c)
                .await?
        });
        if claimed.is_empty() {
            tx.rollback().await;
            return Ok(Attempt::Idle);
        }
        let complete = format!(
            "UPDATE {} SET state = 'completed', completed_at = $2, attempts = attempts + 1 \
             WHERE pk = $1",
            W::TABLE
        );
        for row in &claimed {
            let performed = match W::perform(self, &mut tx, row, now).await {
                Ok(()) => on_tx!(&mut tx, |c| {
                    sqlx::query(&complete)
                        .bind(row.pk)
                        .bind(now)
                        .execute(c)
                        .await
                        .map(|_| ())
                        .map_err(super::StoreError::from)
                }),
                Err(error) => Err(error),
            };
            if let Err(error) = performed {
                tx.rollback().await;
                return Ok(Attempt::Failed { claimed, error });
            }
        }
        #[cfg(debug_assertions)]
        crate::failpoint::hit("cascade-before-commit");
        // The claim's transaction has ended before a failure is recorded: on SQLite it holds
        // the only writer connection.
        match tx.commit().await {
            Ok(()) => {
                #[cfg(debug_assertions)]
                crate::failpoint::hit("cascade-after-commit");
                Ok(Attempt::Committed(claimed))
            }
            Err(error) => Ok(Attempt::Failed { claimed, error }),
        }
    }

    async fn record_failure<W: Work>(
        &self,
        row: &Claimed,
        error: super::StoreError,
        now: DateTime<Utc>,
    ) -> StoreResult<Ran> {
        let error = error.to_string();
        let retry_at = now + backoff(row.attempts + 1);
        let sql = format!(
            "UPDATE {} SET attempts = attempts + 1, last_error = $2, due_at = $3 \
             WHERE pk = $1 AND state = 'pending'",
            W::TABLE
        );
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(&sql)
                .bind(row.pk)
                .bind(&error)
                .bind(retry_at)
                .execute(c)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        tracing::warn!(queue = W::QUEUE.name(), subject = %row.subject,
            attempts = row.attempts + 1, %error, %retry_at, "due work failed; will retry");
        Ok(Ran::Failed {
            account: row.account.clone(),
            subject: row.subject.clone(),
            error,
            retry_at,
        })
    }

    /// How many pending rows of `W`'s queue are outstanding at `now` (for one account, or
    /// all): due, including any that another transaction has claimed but not yet committed.
    pub(crate) async fn due_count<W: QueueTable>(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
    ) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE state = 'pending' AND {} \
             AND ($2 IS NULL OR account = $2){}",
            W::TABLE,
            W::OUTSTANDING,
            on_real_time::<W>(account)
        );
        let count = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(&sql)
                .bind(now)
                .bind(account)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// When the next pending row of `W`'s queue falls due (for one account, on its clock;
    /// or for every account on real time), if any is pending.
    pub(crate) async fn next_due_at<W: QueueTable>(
        &self,
        account: Option<&str>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let sql = format!(
            "SELECT MIN(due_at) FROM {} WHERE state = 'pending' AND ($1 IS NULL OR account = $1){}",
            W::TABLE,
            on_real_time::<W>(account)
        );
        let due = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(&sql)
                .bind(account)
                .fetch_one(pool)
                .await?
        });
        Ok(due)
    }

    /// The accounts with a moved, running clock that have pending rows in `W`'s queue: each
    /// with its clock and when (on its clock) its next row falls due. Frozen clocks are left
    /// out: only a move of the clock makes their rows due, and the move runs them.
    async fn moved_due<W: QueueTable>(&self) -> StoreResult<Vec<MovedDue>> {
        if !W::ACCOUNT_TIME {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT q.account, MIN(q.due_at) AS due_at, k.offset_micros FROM {} q \
             JOIN account_clocks k ON k.account = q.account \
             WHERE q.state = 'pending' AND k.frozen_at IS NULL \
             GROUP BY q.account, k.offset_micros",
            W::TABLE
        );
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, MovedDueRow>(&sql)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| MovedDue {
                account: row.account,
                clock: super::AccountClock {
                    offset: chrono::Duration::microseconds(row.offset_micros),
                    frozen_at: None,
                },
                due_at: row.due_at,
            })
            .collect())
    }

    /// Runs up to `max` due rows of `queue` (see [`Store::run_due`]).
    pub async fn run_queue(
        &self,
        queue: Queue,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
    ) -> StoreResult<Turn> {
        match queue {
            Queue::Deletions => {
                self.run_due::<super::deletion::Deletions>(now, account, max)
                    .await
            }
            Queue::SubscriptionChanges => {
                self.run_due::<super::subscriptions::Changes>(now, account, max)
                    .await
            }
            Queue::Webhooks => self.run_deliveries(now, account, max).await,
        }
    }

    /// How many rows of `queue` are due at `now`.
    pub async fn queue_due_count(
        &self,
        queue: Queue,
        now: DateTime<Utc>,
        account: Option<&str>,
    ) -> StoreResult<i64> {
        match queue {
            Queue::Deletions => {
                self.due_count::<super::deletion::Deletions>(now, account)
                    .await
            }
            Queue::SubscriptionChanges => {
                self.due_count::<super::subscriptions::Changes>(now, account)
                    .await
            }
            Queue::Webhooks => {
                self.due_count::<super::webhooks::Deliveries>(now, account)
                    .await
            }
        }
    }

    /// When the next row of `queue` falls due: one account's, on its clock, or (`None`) the
    /// next of every account on real time.
    pub async fn queue_next_due(
        &self,
        queue: Queue,
        account: Option<&str>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        match queue {
            Queue::Deletions => {
                self.next_due_at::<super::deletion::Deletions>(account)
                    .await
            }
            Queue::SubscriptionChanges => {
                self.next_due_at::<super::subscriptions::Changes>(account)
                    .await
            }
            Queue::Webhooks => {
                self.next_due_at::<super::webhooks::Deliveries>(account)
                    .await
            }
        }
    }

    /// The moved, running account clocks with pending rows in `queue` (see
    /// [`Store::moved_due`]); none for a queue on the real clock.
    pub async fn moved_accounts_due(&self, queue: Queue) -> StoreResult<Vec<MovedDue>> {
        match queue {
            Queue::Deletions => self.moved_due::<super::deletion::Deletions>().await,
            Queue::SubscriptionChanges => self.moved_due::<super::subscriptions::Changes>().await,
            Queue::Webhooks => self.moved_due::<super::webhooks::Deliveries>().await,
        }
    }
}

/// An account with a moved clock and pending rows in an account-time queue.
#[derive(Debug, Clone)]
pub struct MovedDue {
    pub account: String,
    pub clock: super::AccountClock,
    /// When its next row falls due, on its clock.
    pub due_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MovedDueRow {
    account: String,
    due_at: DateTime<Utc>,
    offset_micros: i64,
}

fn completed(row: Claimed) -> Ran {
    Ran::Completed {
        account: row.account,
        subject: row.subject,
    }
}
