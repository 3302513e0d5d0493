//! Subscriptions: create, read, list, cancel, and the queue of their starts and ends
//! ([`Changes`]). orb-mock keeps no plan catalogue; a subscription remembers the plan id it was
//! given.
//!
//! A subscription whose start date is ahead of its account's time is `upcoming`; one whose end
//! date (or requested cancellation) is ahead ends later. Each such moment is a row of
//! `subscription_changes`, due on the account's clock: when it falls due, the subscription
//! becomes `active` (emitting `subscription.started`) or `ended` (`subscription.ended`). A
//! cancellation replaces the pending end; a deletion's cascade cancels both.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::customers::{
    live_customer, lock_customer, refuse_if_deleting, refuse_taken_id, same_customer,
};
use super::model::{Customer, Metadata, Subscription, SubscriptionStatus};
use super::queue::{Claimed, Queue, QueueTable, Work};
use super::rows::{
    in_clause, page_of, CustomerRow, Page, PageRequest, SubscriptionRow, CUSTOMER_COLUMNS,
    SUBSCRIPTION_COLUMNS,
};
use super::webhooks::NewEvent;
use super::{new_id, CustomerRef, Store, StoreError, StoreResult};

/// What `POST /subscriptions` asks for, already validated.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// Caller-chosen id (fixtures); `None` draws a fresh one.
    pub id: Option<String>,
    /// Starts already ended, as if cancelled immediately (fixtures).
    pub ended: bool,
    pub customer: CustomerRef,
    /// Also given as `external_customer_id` beside a `customer_id`: the customer must have it.
    pub also_external_customer_id: Option<String>,
    pub plan_id: String,
    pub external_plan_id: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub net_terms: Option<i64>,
    pub auto_collection: Option<bool>,
    pub default_invoice_memo: Option<String>,
    pub metadata: Metadata,
    /// Its own name; `None`: the plan's.
    pub name: Option<String>,
    /// Must be the customer's currency if the customer has one.
    pub currency: Option<String>,
    /// After the start date; a past one makes the subscription ended at once.
    pub end_date: Option<DateTime<Utc>>,
    /// A trial of this many days from the start (0 or `None`: no trial).
    pub trial_duration_days: Option<u32>,
}

/// Orb's `cancel_option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOption {
    /// Ends now.
    Immediate,
    /// Ends at the end of the current billing period (a month from the start, in orb-mock).
    EndOfSubscriptionTerm,
    /// Ends on the given date (now, if it is in the past).
    RequestedDate(DateTime<Utc>),
}

#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub page: PageRequest,
    /// Any of these customer ids (empty: no filter).
    pub customer_ids: Vec<String>,
    /// Any of these external customer ids (empty: no filter).
    pub external_customer_ids: Vec<String>,
    /// Any of these statuses (empty: no filter).
    pub statuses: Vec<SubscriptionStatus>,
    pub plan_id: Option<String>,
    pub external_plan_id: Option<String>,
    pub created_gte: Option<DateTime<Utc>>,
    pub created_gt: Option<DateTime<Utc>>,
    pub created_lt: Option<DateTime<Utc>>,
    pub created_lte: Option<DateTime<Utc>>,
}

const KIND: &str = "Subscription";

impl Store {
    pub async fn create_subscription(
        &self,
        account: &str,
        new: NewSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<(Subscription, Customer)> {
        let mut tx = self.begin().await?;
        let (subscription, customer) = insert_subscription(&mut tx, account, new, now).await?;
        let mut queued = self
            .emit(
                &mut tx,
                account,
                NewEvent::subscription("subscription.created", &subscription, &customer),
                now,
            )
            .await?;
        // One that starts now is active at once, and one whose end date has passed already
        // ended; an upcoming one starts when its start date comes ([`Changes`]).
        let mut kinds = Vec::new();
        if subscription.start_date <= now {
            kinds.push("subscription.started");
        }
        if subscription.status == SubscriptionStatus::Ended {
            kinds.push("subscription.ended");
        }
        for kind in kinds {
            let event = NewEvent::subscription(kind, &subscription, &customer);
            queued += self.emit(&mut tx, account, event, now).await?;
        }
        tx.commit().await?;
        self.queued_deliveries(queued);
        Ok((subscription, customer))
    }

    /// A subscription that is not soft-deleted, with its customer as embedded in Orb's object.
    pub async fn subscription(
        &self,
        account: &str,
        id: &str,
    ) -> StoreResult<(Subscription, Customer)> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
             WHERE account = $1 AND id = $2 AND deleted_at IS NULL"
        );
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, SubscriptionRow>(&sql)
                .bind(account)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let subscription = row
            .ok_or_else(|| StoreError::not_found(KIND, id))?
            .into_domain()?;
        let customer = self.owner(account, &subscription.customer_id).await?;
        Ok((subscription, customer))
    }

    pub async fn list_subscriptions(
        &self,
        account: &str,
        filter: &SubscriptionFilter,
    ) -> StoreResult<Page<(Subscription, Customer)>> {
        let mut next = 9;
        let statuses = in_clause("s.status", filter.statuses.len(), &mut next);
        let customers = in_clause("s.customer_id", filter.customer_ids.len(), &mut next);
        let externals = in_clause(
            "c.external_customer_id",
            filter.external_customer_ids.len(),
            &mut next,
        );
        let columns: Vec<String> = SUBSCRIPTION_COLUMNS
            .split(", ")
            .map(|column| format!("s.{column}"))
            .collect();
        let sql = format!(
            "SELECT {columns} FROM subscriptions s \
             JOIN customers c ON c.account = s.account AND c.id = s.customer_id \
             WHERE s.account = $1 AND s.deleted_at IS NULL \
               AND ($2 IS NULL OR s.pk < $2) \
               AND ($3 IS NULL OR s.plan_id = $3) AND ($4 IS NULL OR s.external_plan_id = $4) \
               AND ($5 IS NULL OR s.created_at >= $5) AND ($6 IS NULL OR s.created_at > $6) \
               AND ($7 IS NULL OR s.created_at < $7) AND ($8 IS NULL OR s.created_at <= $8)\
               {statuses}{customers}{externals} \
             ORDER BY s.pk DESC LIMIT ${next}",
            columns = columns.join(", ")
        );
        let rows = on_reader!(self, |pool| {
            let mut query = sqlx::query_as::<_, SubscriptionRow>(&sql)
                .bind(account)
                .bind(filter.page.before)
                .bind(filter.plan_id.as_deref())
                .bind(filter.external_plan_id.as_deref())
                .bind(filter.created_gte)
                .bind(filter.created_gt)
                .bind(filter.created_lt)
                .bind(filter.created_lte);
            for status in &filter.statuses {
                query = query.bind(status.as_str());
            }
            for id in filter
                .customer_ids
                .iter()
                .chain(&filter.external_customer_ids)
            {
                query = query.bind(id);
            }
            query.bind(filter.page.limit + 1).fetch_all(pool).await?
        });
        let page = page_of(
            rows,
            filter.page,
            |row| row.pk,
            SubscriptionRow::into_domain,
        )?;
        // A page usually belongs to one customer: fetch each distinct owner once.
        let mut owners: Vec<Customer> = Vec::new();
        let mut items = Vec::with_capacity(page.items.len());
        for subscription in page.items {
            let customer = match owners.iter().find(|c| c.id == subscription.customer_id) {
                Some(customer) => customer.clone(),
                None => {
                    let customer = self.owner(account, &subscription.customer_id).await?;
                    owners.push(customer.clone());
                    customer
                }
            };
            items.push((subscription, customer));
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }

    pub async fn cancel_subscription(
        &self,
        account: &str,
        id: &str,
        option: CancelOption,
        now: DateTime<Utc>,
    ) -> StoreResult<(Subscription, Customer)> {
        let mut tx = self.begin().await?;
        let subscription = fetch_subscription(&mut tx, account, id).await?;
        let customer = lock_customer(
            &mut tx,
            account,
            &CustomerRef::Id(subscription.customer_id.clone()),
            RowLock::Share,
        )
        .await?
        .ok_or_else(|| StoreError::not_found(KIND, id))?;
        refuse_if_deleting(&customer)?;
        if subscription.status == SubscriptionStatus::Ended {
            return Err(StoreError::Constraint(format!(
                "Subscription {id} has already ended and cannot be cancelled."
            )));
        }
        let end = match option {
            CancelOption::Immediate => now,
            CancelOption::EndOfSubscriptionTerm => {
                subscription.current_period(now).map_or(now, |(_, end)| end)
            }
            CancelOption::RequestedDate(date) => date.max(now),
        };
        let status = if end <= now {
            SubscriptionStatus::Ended
        } else {
            subscription.status
        };
        let sql = format!(
            "UPDATE subscriptions SET status = $3, end_date = $4 WHERE account = $1 AND id = $2 \
             RETURNING {SUBSCRIPTION_COLUMNS}"
        );
        let row = on_tx!(&mut tx, |c| {
            sqlx::query_as::<_, SubscriptionRow>(&sql)
                .bind(account)
                .bind(id)
                .bind(status.as_str())
                .bind(end)
                .fetch_one(c)
                .await?
        });
        let subscription = row.into_domain()?;
        // The pending end (and, once ended, the pending start) give way to this one.
        let kinds: &[&str] = match subscription.status {
            SubscriptionStatus::Ended => &["start", "end"],
            _ => &["end"],
        };
        for change in kinds {
            on_tx!(&mut tx, |c| {
                sqlx::query(
                    "UPDATE subscription_changes SET state = 'cancelled', completed_at = $4 \
                     WHERE account = $1 AND subscription_id = $2 AND change = $3 \
                     AND state = 'pending'",
                )
                .bind(account)
                .bind(id)
                .bind(*change)
                .bind(now)
                .execute(c)
                .await?
                .rows_affected()
            });
        }
        if subscription.status != SubscriptionStatus::Ended {
            queue_change(&mut tx, account, id, "end", end, now).await?;
        }
        let event = if subscription.status == SubscriptionStatus::Ended {
            NewEvent::subscription("subscription.ended", &subscription, &customer)
        } else {
            NewEvent::cancellation_scheduled(&subscription, &customer, end)
        };
        let queued = self.emit(&mut tx, account, event, now).await?;
        tx.commit().await?;
        self.queued_deliveries(queued);
        Ok((subscription, customer))
    }

    /// The customer that owns a readable resource, whatever its deletion state.
    async fn owner(&self, account: &str, customer_id: &str) -> StoreResult<Customer> {
        let sql =
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account = $1 AND id = $2");
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, CustomerRow>(&sql)
                .bind(account)
                .bind(customer_id)
                .fetch_one(pool)
                .await?
        });
        row.into_domain()
    }
}

/// Inserts a subscription in a write transaction (creation and fixtures).
pub(crate) async fn insert_subscription(
    tx: &mut Tx,
    account: &str,
    new: NewSubscription,
    now: DateTime<Utc>,
) -> StoreResult<(Subscription, Customer)> {
    let customer = live_customer(tx, account, &new.customer, RowLock::Share).await?;
    same_customer(&customer, new.also_external_customer_id.as_deref())?;
    let start = new.start_date.unwrap_or(now);
    subscription_terms_fit(&customer, &new, start)?;
    let (status, end_date) = if new.ended {
        (SubscriptionStatus::Ended, Some(now.max(start)))
    } else if new.end_date.is_some_and(|end| end <= now) {
        (SubscriptionStatus::Ended, new.end_date)
    } else if start > now {
        (SubscriptionStatus::Upcoming, new.end_date)
    } else {
        (SubscriptionStatus::Active, new.end_date)
    };
    let trial_end_date = new
        .trial_duration_days
        .filter(|days| *days > 0)
        .map(|days| start + chrono::Duration::days(i64::from(days)));
    let id = match new.id {
        Some(id) => {
            refuse_taken_id(tx, "subscriptions", KIND, account, &id).await?;
            id
        }
        None => new_id(),
    };
    let sql = format!(
        "INSERT INTO subscriptions (account, id, customer_id, plan_id, external_plan_id, \
         status, net_terms, auto_collection, default_invoice_memo, metadata, start_date, \
         created_at, end_date, name, currency, trial_end_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING {SUBSCRIPTION_COLUMNS}"
    );
    let row = on_tx!(tx, |c| {
        sqlx::query_as::<_, SubscriptionRow>(&sql)
            .bind(account)
            .bind(&id)
            .bind(&customer.id)
            .bind(&new.plan_id)
            .bind(&new.external_plan_id)
            .bind(status.as_str())
            .bind(new.net_terms.unwrap_or(0))
            .bind(new.auto_collection)
            .bind(&new.default_invoice_memo)
            .bind(Json(&new.metadata))
            .bind(start)
            .bind(now)
            .bind(end_date)
            .bind(&new.name)
            .bind(&new.currency)
            .bind(trial_end_date)
            .fetch_one(c)
            .await?
    });
    let subscription = row.into_domain()?;
    if subscription.status == SubscriptionStatus::Upcoming {
        queue_change(tx, account, &id, "start", start, now).await?;
    }
    if let (Some(end), false) = (end_date, subscription.status == SubscriptionStatus::Ended) {
        queue_change(tx, account, &id, "end", end, now).await?;
    }
    Ok((subscription, customer))
}

/// Queues a subscription's start or end, due at `due_at` on its account's clock.
async fn queue_change(
    tx: &mut Tx,
    account: &str,
    subscription_id: &str,
    change: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO subscription_changes (account, subscription_id, change, due_at, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account)
        .bind(subscription_id)
        .bind(change)
        .bind(due_at)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// The queue of subscription starts and ends: its rows are `subscription_changes`, its work
/// the change of status and its event. The subject is `start:<id>` or `end:<id>`.
pub(crate) struct Changes;

impl QueueTable for Changes {
    const QUEUE: Queue = Queue::SubscriptionChanges;
    const TABLE: &'static str = "subscription_changes";
    const SUBJECT: &'static str = "change || ':' || subscription_id";
}

impl Work for Changes {
    /// Starts or ends the subscription, at the time the change fell due, and emits its event.
    /// One already in that state (or deleted) is left as it is, with no event.
    async fn perform(
        store: &Store,
        tx: &mut Tx,
        row: &Claimed,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let at = row.at(now);
        let (change, id) = row
            .subject
            .split_once(':')
            .ok_or_else(|| StoreError::Corrupt(format!("subscription change {}", row.subject)))?;
        let (to, from, kind) = match change {
            "start" => ("active", "status = 'upcoming'", "subscription.started"),
            "end" => ("ended", "status <> 'ended'", "subscription.ended"),
            other => return Err(StoreError::Corrupt(format!("subscription change {other}"))),
        };
        let sql = format!(
            "UPDATE subscriptions SET status = $3 \
             WHERE account = $1 AND id = $2 AND deleted_at IS NULL AND {from} \
             RETURNING {SUBSCRIPTION_COLUMNS}"
        );
        let row_changed = on_tx!(&mut *tx, |c| {
            sqlx::query_as::<_, SubscriptionRow>(&sql)
                .bind(&row.account)
                .bind(id)
                .bind(to)
                .fetch_optional(c)
                .await?
        });
        let Some(changed) = row_changed else {
            return Ok(());
        };
        let subscription = changed.into_domain()?;
        let customer = lock_customer(
            tx,
            &row.account,
            &CustomerRef::Id(subscription.customer_id.clone()),
            RowLock::Share,
        )
        .await?
        .ok_or_else(|| StoreError::not_found("Customer", &subscription.customer_id))?;
        let event = NewEvent::subscription(kind, &subscription, &customer);
        let queued = store.emit(tx, &row.account, event, at).await?;
        store.queued_deliveries(queued);
        Ok(())
    }
}

/// Refuses terms that contradict the customer or the start date, naming the field: a currency
/// other than the one the customer bills in, and an end date not after the start.
fn subscription_terms_fit(
    customer: &Customer,
    new: &NewSubscription,
    start: DateTime<Utc>,
) -> StoreResult<()> {
    let mut problems = Vec::new();
    if let (Some(theirs), Some(asked)) = (&customer.currency, &new.currency) {
        if theirs != asked {
            problems.push(format!(
                "currency: customer {} bills in {theirs}; a subscription of theirs cannot be in \
                 {asked}",
                customer.id
            ));
        }
    }
    if let Some(end) = new.end_date.filter(|end| *end <= start) {
        problems.push(format!(
            "end_date: {} is not after the start date {}",
            end.to_rfc3339(),
            start.to_rfc3339()
        ));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(StoreError::Invalid(problems)),
    }
}

async fn fetch_subscription(tx: &mut Tx, account: &str, id: &str) -> StoreResult<Subscription> {
    let sql = tx.locking(
        &format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
             WHERE account = $1 AND id = $2 AND deleted_at IS NULL"
        ),
        RowLock::Update,
    );
    let row = on_tx!(tx, |c| {
        sqlx::query_as::<_, SubscriptionRow>(&sql)
            .bind(account)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.ok_or_else(|| StoreError::not_found(KIND, id))?
        .into_domain()
}
