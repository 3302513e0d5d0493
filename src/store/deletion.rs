//! Deleting a customer, whole: the DELETE, its due time, the durable queue of deletions, and the
//! cascade each deletion runs when due (README, "Deleting a customer").
//!
//! The rule, stated once: a customer may be deleted when it is active and owns no invoice that
//! [blocks deletion](blocks_deletion) (issued, paid or synced, not deleted). An accepted DELETE
//! queues one row in `deletions`; the trigger [`MARKS_CUSTOMER_DELETING`] marks the customer
//! deleting in the same statement, so a deletion never exists for an active customer. When the
//! row falls due, the queue ([`super::queue`]) runs [`Deletions::perform`], the cascade: the
//! customer's subscriptions and invoices are soft-deleted and the customer is marked deleted.
//! With a delay of zero the cascade runs inside the DELETE's own transaction instead, so the
//! customer is gone when the DELETE answers.
//!
//! Two paths apply the rule. On SQLite, concurrent DELETEs of customers that may be deleted
//! are queued together by one statement ([`super::sqlite::batch`]); any other DELETE, and every
//! DELETE on PostgreSQL, takes the transactional path here, which locks the customer first, so
//! that an invoice issued while the DELETE waits for that lock is seen.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::control::millis_to_duration;
use super::customers::lock_customer;
use super::model::{CustomerState, InvoiceStatus};
use super::queue::{Claimed, Queue, QueueTable, Work};
use super::{CustomerRef, Store, StoreError, StoreResult};

/// The trigger, in both schemas, that marks a customer `deleting` when its row is inserted
/// into `deletions` (see `migrations/*/…_deletions.sql`). Both paths of the DELETE rely on it:
/// they only insert the row. [`super::audit`] checks its effect, and a test checks that it
/// exists by this name on both stores.
pub const MARKS_CUSTOMER_DELETING: &str = "deletions_mark_customer_deleting";

/// The invoice statuses that keep a customer from being deleted, as an SQL list: a macro so
/// that every query naming them is one `concat!`ed literal. A test holds it to
/// [`InvoiceStatus::blocks_deletion`].
macro_rules! blocking_invoice_statuses {
    () => {
        "('issued', 'paid', 'synced')"
    };
}

/// The rule, in SQL: invoice `i` keeps its customer from being deleted.
macro_rules! blocks_deletion {
    () => {
        concat!(
            "i.deleted_at IS NULL AND i.status IN ",
            $crate::store::deletion::blocking_invoice_statuses!()
        )
    };
}

pub(crate) use blocking_invoice_statuses;
pub(crate) use blocks_deletion;

/// What a `DELETE` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The customer is now deleting and its deletion is queued, due at `due_at`.
    Queued { due_at: DateTime<Utc> },
    /// The delay was zero: the cascade committed with the DELETE, and the customer is gone.
    Deleted,
    /// It was already deleting: nothing changed, no second deletion.
    AlreadyDeleting,
}

/// Where a customer's deletion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionState {
    Pending,
    Completed,
}

/// One customer's deletion, as `GET /_mock/deletions` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub customer_id: String,
    pub state: DeletionState,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// When a deletion accepted at `now` falls due. A delay too long to add (the flag and the
/// setting allow at most a year, so never in practice) saturates at the end of time.
pub(crate) fn due_after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| now.checked_add_signed(delay))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The queue of deletions: its rows are `deletions`, its work the cascade.
pub(crate) struct Deletions;

impl QueueTable for Deletions {
    const QUEUE: Queue = Queue::Deletions;
    const TABLE: &'static str = "deletions";
    const SUBJECT: &'static str = "customer_id";
}

impl Work for Deletions {
    /// The cascade: everything the customer owns is soft-deleted, then the customer.
    async fn perform(
        _store: &Store,
        tx: &mut Tx,
        row: &Claimed,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        cascade(tx, &row.account, &row.subject, row.at(now)).await
    }
}

async fn cascade(
    tx: &mut Tx,
    account: &str,
    customer_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::hierarchy::unlink(tx, account, customer_id).await?;
    on_tx!(tx, |c| {
        // The subscriptions' starts and ends that were still to come will not happen.
        sqlx::query(
            "UPDATE subscription_changes SET state = 'cancelled', completed_at = $3 \
             WHERE account = $1 AND state = 'pending' AND subscription_id IN \
             (SELECT id FROM subscriptions WHERE account = $1 AND customer_id = $2)",
        )
        .bind(account)
        .bind(customer_id)
        .bind(now)
        .execute(&mut *c)
        .await?;
        for table in ["subscriptions", "invoices"] {
            sqlx::query(&format!(
                "UPDATE {table} SET deleted_at = $3 \
                 WHERE account = $1 AND customer_id = $2 AND deleted_at IS NULL"
            ))
            .bind(account)
            .bind(customer_id)
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
        .bind(account)
        .bind(customer_id)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DeletionRow {
    customer_id: String,
    state: String,
    due_at: DateTime<Utc>,
    attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// One blocking invoice, with the account's delay beside it (see [`Store::delete_customer`]).
#[derive(sqlx::FromRow)]
struct Blocker {
    delay_ms: Option<i64>,
    id: Option<String>,
    status: Option<String>,
}

impl Store {
    /// The DELETE, atomically: refuse an unknown or blocked customer; otherwise queue its
    /// deletion, due after the account's `deletion_delay` setting (or `delay` when it has
    /// none), which marks the customer deleting. With a delay of zero the cascade commits in
    /// the same transaction.
    pub async fn delete_customer(
        &self,
        account: &str,
        id: &str,
        now: DateTime<Utc>,
        delay: Duration,
    ) -> StoreResult<DeleteOutcome> {
        if let Some(batches) = self.batches().filter(|_| !super::backend::is_dry_run()) {
            if let Some(due_at) = batches.delete(account, id, now, delay).await? {
                return Ok(DeleteOutcome::Queued { due_at });
            }
        }
        let mut tx = self.begin().await?;
        let by = CustomerRef::Id(id.to_owned());
        let customer = lock_customer(&mut tx, account, &by, RowLock::Update)
            .await?
            .ok_or_else(|| StoreError::not_found("Customer", id))?;
        if customer.state == CustomerState::Deleting {
            return Ok(DeleteOutcome::AlreadyDeleting);
        }
        // One round trip for both: what blocks the deletion (none: one row of NULLs), and
        // the account's delay.
        let rows: Vec<Blocker> = on_tx!(&mut tx, |c| {
            sqlx::query_as(concat!(
                "SELECT s.deletion_delay_ms AS delay_ms, i.id, i.status \
                 FROM (SELECT 1 AS one) AS one \
                 LEFT JOIN account_settings s ON s.account = $1 \
                 LEFT JOIN invoices i ON i.account = $1 AND i.customer_id = $2 AND ",
                blocks_deletion!(),
                " ORDER BY i.pk",
            ))
            .bind(account)
            .bind(id)
            .fetch_all(c)
            .await?
        });
        let delay = rows
            .first()
            .and_then(|row| row.delay_ms)
            .map_or(delay, millis_to_duration);
        let blockers: Vec<(String, String)> = rows
            .into_iter()
            .filter_map(|row| Some((row.id?, row.status?)))
            .collect();
        if !blockers.is_empty() {
            return Err(StoreError::Constraint(refusal(id, &blockers)));
        }
        let due_at = due_after(now, delay);
        let pk: i64 = on_tx!(&mut tx, |c| {
            sqlx::query_scalar(
                "INSERT INTO deletions (account, customer_id, state, due_at, created_at) \
                 VALUES ($1, $2, 'pending', $3, $4) RETURNING pk",
            )
            .bind(account)
            .bind(id)
            .bind(due_at)
            .bind(now)
            .fetch_one(c)
            .await?
        });
        if !delay.is_zero() {
            tx.commit().await?;
            return Ok(DeleteOutcome::Queued { due_at });
        }
        cascade(&mut tx, account, id, now).await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE deletions SET state = 'completed', completed_at = $2, attempts = 1 \
                 WHERE pk = $1",
            )
            .bind(pk)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(DeleteOutcome::Deleted)
    }

    /// Makes an account's pending deletions (or one customer's) due at `now`, so that the
    /// next runs pick them up. Returns how many were pending.
    pub async fn make_deletions_due(
        &self,
        account: &str,
        customer_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let updated = on_tx!(&mut tx, |c| {
            sqlx::query(
                "UPDATE deletions SET due_at = $3 WHERE account = $1 AND state = 'pending' \
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

    /// Every deletion of an account, oldest first.
    pub async fn deletions(&self, account: &str) -> StoreResult<Vec<Deletion>> {
        let rows = on_reader!(self, |pool| {
            sqlx::query_as::<_, DeletionRow>(
                "SELECT customer_id, state, due_at, attempts, last_error, created_at, \
                 completed_at FROM deletions WHERE account = $1 ORDER BY pk",
            )
            .bind(account)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(Deletion {
                    state: match row.state.as_str() {
                        "pending" => DeletionState::Pending,
                        "completed" => DeletionState::Completed,
                        other => {
                            return Err(StoreError::Corrupt(format!("deletion state {other:?}")))
                        }
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
}

/// The refusal of a DELETE, naming each blocking invoice with the remedy its status allows.
fn refusal(customer_id: &str, blockers: &[(String, String)]) -> String {
    let count = blockers.len();
    let noun = if count == 1 { "invoice" } else { "invoices" };
    let each: Vec<String> = blockers
        .iter()
        .map(|(id, status)| {
            let remedy = match InvoiceStatus::parse(status) {
                Some(InvoiceStatus::Issued) => {
                    format!("void it first (POST /invoices/{id}/void)")
                }
                Some(InvoiceStatus::Paid) => {
                    "a paid invoice cannot be voided, so it keeps the customer".to_owned()
                }
                Some(InvoiceStatus::Synced) => {
                    "a synced invoice cannot be voided; marking it paid still keeps the customer"
                        .to_owned()
                }
                _ => "it blocks deletion".to_owned(),
            };
            format!("{id} is {status}: {remedy}")
        })
        .collect();
    format!(
        "Customer {customer_id} has {count} issued {noun} and cannot be deleted. {}.",
        each.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_each_blocking_invoice_with_a_remedy_that_fits_its_status() {
        let detail = refusal(
            "cus",
            &[
                ("inv_a".to_owned(), "issued".to_owned()),
                ("inv_b".to_owned(), "paid".to_owned()),
                ("inv_c".to_owned(), "synced".to_owned()),
            ],
        );
        assert!(
            detail.starts_with("Customer cus has 3 issued invoices"),
            "{detail}"
        );
        assert!(detail.contains("inv_a is issued: void it first (POST /invoices/inv_a/void)"));
        assert!(detail.contains("inv_b is paid: a paid invoice cannot be voided"));
        assert!(detail.contains("inv_c is synced: a synced invoice cannot be voided"));
        assert!(!detail.contains("inv_b is paid: void"), "{detail}");
    }

    #[test]
    fn an_absurd_delay_saturates_instead_of_overflowing() {
        let now = Utc::now();
        assert_eq!(
            due_after(now, Duration::from_secs(u64::MAX)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(due_after(now, Duration::ZERO), now);
    }
}
