//! The durable cascade queue behind `DELETE /customers/{id}` (SPEC §5 step 6).
//!
//! A job is a row, written in the same transaction that marks its customer deleting. Running a
//! job claims it, soft-deletes the customer's subscriptions and invoices, marks the customer
//! deleted and completes the job, all in one transaction: a crash at any point either leaves the
//! job pending (and it runs again) or leaves it done, never half done. On PostgreSQL the claim
//! uses `FOR UPDATE SKIP LOCKED`, so several orb-mock processes share the queue without running a
//! job twice. A failed attempt rolls back, and the job's attempts, last error and next due time
//! (exponential backoff) are recorded in a separate transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{on_reader, on_tx, Lock, Store, StoreError, StoreResult, Tx};

/// The longest wait between two attempts of a failing job.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Completed,
}

/// One customer's deletion, as the queue sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletionJob {
    pub customer_id: String,
    pub state: JobState,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// What one turn of the worker did.
#[derive(Debug, Clone, PartialEq)]
pub enum CascadeRun {
    /// No job was due (or every due job is held by another process).
    Empty,
    /// A job ran and committed.
    Completed {
        account: String,
        customer_id: String,
    },
    /// A job failed and was rolled back; it is due again at `retry_at`.
    Failed {
        account: String,
        customer_id: String,
        error: String,
        retry_at: DateTime<Utc>,
    },
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    pk: i64,
    account: String,
    customer_id: String,
    attempts: i32,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    customer_id: String,
    state: String,
    due_at: DateTime<Utc>,
    attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Runs the oldest due job, if any. `account` narrows the claim to one account's jobs.
    pub async fn run_due_cascade(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
    ) -> StoreResult<CascadeRun> {
        let mut runs = self.run_due_cascades(now, account, 1).await?;
        Ok(runs.pop().unwrap_or(CascadeRun::Empty))
    }

    /// Runs up to `max` due jobs, oldest first, in one transaction (one commit instead of one
    /// per job is what makes a queue of thousands drain quickly). Answers `[Empty]` when none
    /// is due. If a job fails, the whole batch is rolled back and its jobs are run one at a
    /// time instead, so that the failure is recorded against its own job and the others
    /// complete.
    pub async fn run_due_cascades(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
        max: i64,
    ) -> StoreResult<Vec<CascadeRun>> {
        #[cfg(debug_assertions)]
        if crate::failpoint::armed("cascade-before-claim")
            && self.due_cascades(now, account).await? > 0
        {
            crate::failpoint::hit("cascade-before-claim");
        }
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT pk, account, customer_id, attempts FROM deletion_jobs \
             WHERE state = 'pending' AND due_at <= $1 AND ($2 IS NULL OR account = $2) \
             ORDER BY due_at, pk LIMIT $3{}",
            tx.lock(Lock::SkipLocked)
        );
        let claimed = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, ClaimRow>(&sql)
                .bind(now)
                .bind(account)
                .bind(max.max(1))
                .fetch_all(c)
                .await?
        });
        if claimed.is_empty() {
            tx.rollback().await;
            return Ok(vec![CascadeRun::Empty]);
        }
        let mut failure = None;
        for job in &claimed {
            if let Err(err) = cascade(&mut tx, job, now).await {
                failure = Some((job, err));
                break;
            }
        }
        // The claim's transaction must end before a failure is recorded: on SQLite it holds
        // the only writer connection.
        let cascaded = match failure {
            None => {
                #[cfg(debug_assertions)]
                crate::failpoint::hit("cascade-before-commit");
                tx.commit().await
            }
            Some((job, err)) => {
                tx.rollback().await;
                if claimed.len() > 1 {
                    tracing::debug!(customer_id = %job.customer_id, error = %err,
                        "a cascade in a batch failed; running the batch one job at a time");
                    let mut runs = Vec::with_capacity(claimed.len());
                    for _ in 0..claimed.len() {
                        let run = Box::pin(self.run_due_cascades(now, account, 1)).await?;
                        let empty = run.contains(&CascadeRun::Empty);
                        runs.extend(run);
                        if empty {
                            break;
                        }
                    }
                    return Ok(runs);
                }
                Err(err)
            }
        };
        match cascaded {
            Ok(()) => {
                #[cfg(debug_assertions)]
                crate::failpoint::hit("cascade-after-commit");
                Ok(claimed
                    .into_iter()
                    .map(|job| CascadeRun::Completed {
                        account: job.account,
                        customer_id: job.customer_id,
                    })
                    .collect())
            }
            Err(err) => {
                let job = claimed.into_iter().next().expect("one job was claimed");
                let error = err.to_string();
                let retry_at = now + backoff(job.attempts + 1);
                self.record_failure(job.pk, &error, retry_at).await?;
                tracing::warn!(customer_id = %job.customer_id, attempts = job.attempts + 1,
                    %error, %retry_at, "cascade failed; will retry");
                Ok(vec![CascadeRun::Failed {
                    account: job.account,
                    customer_id: job.customer_id,
                    error,
                    retry_at,
                }])
            }
        }
    }

    /// Makes an account's pending jobs (or one customer's) due at `now`, so that the next runs
    /// pick them up. Returns how many were pending.
    pub async fn make_cascades_due(
        &self,
        account: &str,
        customer_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let updated = on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE deletion_jobs SET due_at = $3 WHERE account = $1 AND state = 'pending' \
                 AND ($2 IS NULL OR customer_id = $2) AND due_at > $3",
            )
            .bind(account)
            .bind(customer_id)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(updated)
    }

    /// How many pending jobs are due at `now` (for one account, or all), including any that
    /// another transaction has claimed but not yet committed.
    pub async fn due_cascades(
        &self,
        now: DateTime<Utc>,
        account: Option<&str>,
    ) -> StoreResult<i64> {
        let count = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM deletion_jobs WHERE state = 'pending' AND due_at <= $1 \
                 AND ($2 IS NULL OR account = $2)",
            )
            .bind(now)
            .bind(account)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// When the next pending job falls due, if any is pending.
    pub async fn next_cascade_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let due = on_reader!(self, |pool| {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
                "SELECT MIN(due_at) FROM deletion_jobs WHERE state = 'pending'",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(due)
    }

    /// Every deletion of an account, oldest first.
    pub async fn deletion_jobs(&self, account: &str) -> StoreResult<Vec<DeletionJob>> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, JobRow>(
                "SELECT customer_id, state, due_at, attempts, last_error, created_at, \
                 completed_at FROM deletion_jobs WHERE account = $1 ORDER BY pk",
            )
            .bind(account)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(DeletionJob {
                    state: match row.state.as_str() {
                        "pending" => JobState::Pending,
                        "completed" => JobState::Completed,
                        other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
                    },
                    customer_id: row.customer_id,
                    due_at: row.due_at,
                    attempts: i64::from(row.attempts),
                    last_error: row.last_error,
                    created_at: row.created_at,
                    completed_at: row.completed_at,
                })
            })
            .collect()
    }

    async fn record_failure(
        &self,
        pk: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE deletion_jobs SET attempts = attempts + 1, last_error = $2, due_at = $3 \
                 WHERE pk = $1 AND state = 'pending'",
            )
            .bind(pk)
            .bind(error)
            .bind(retry_at)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit().await
    }
}

/// The cascade proper: everything the customer owns is soft-deleted, then the customer, then
/// the job is completed. Runs inside the claiming transaction.
async fn cascade(tx: &mut Tx, job: &ClaimRow, now: DateTime<Utc>) -> StoreResult<()> {
    on_tx!(tx, |c| {
        for table in ["subscriptions", "invoices"] {
            sqlx::query(&format!(
                "UPDATE {table} SET deleted_at = $3 \
                 WHERE account = $1 AND customer_id = $2 AND deleted_at IS NULL"
            ))
            .bind(&job.account)
            .bind(&job.customer_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
            #[cfg(debug_assertions)]
            if table == "subscriptions" {
                crate::failpoint::hit("cascade-mid");
            }
        }
        sqlx::query(
            "UPDATE customers SET state = 'deleted', deleted_at = $3 \
             WHERE account = $1 AND id = $2 AND state = 'deleting'",
        )
        .bind(&job.account)
        .bind(&job.customer_id)
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE deletion_jobs SET state = 'completed', completed_at = $2, \
             attempts = attempts + 1 WHERE pk = $1",
        )
        .bind(job.pk)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// 1 s, 2 s, 4 s, … after the n-th failed attempt, capped at [`MAX_BACKOFF`].
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(1, 20) - 1;
    let seconds = (1u64 << exponent).min(MAX_BACKOFF.as_secs());
    chrono::Duration::seconds(seconds as i64)
}
