//! One-off invoices and their status transitions. Issuing is the write that races a customer's
//! deletion: it holds the customer row `FOR SHARE` while `DELETE` takes it `FOR UPDATE`, so the
//! two serialise and a deleting customer never gains an issued invoice (README, "Deleting a
//! customer").

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::types::Json;

use super::backend::{on_reader, on_tx, RowLock, Tx};
use super::customers::{
    live_customer, lock_customer, refuse_if_deleting, refuse_taken_id, same_customer,
};
use super::model::{Invoice, InvoiceStatus, LineItem, Metadata};
use super::rows::{
    in_clause, page_of, InvoiceRow, Page, PageRequest, StoredLineItem, INVOICE_COLUMNS,
    INVOICE_FROM,
};
use super::webhooks::NewEvent;
use super::{new_id, CustomerRef, Store, StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct NewLineItem {
    pub name: String,
    pub item_id: Option<String>,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
}

/// What `POST /invoices` asks for, already validated.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    /// Caller-chosen id (fixtures); `None` draws a fresh one.
    pub id: Option<String>,
    /// A status to start in (fixtures); `None` is `draft`, or `issued` with `will_auto_issue`.
    pub status: Option<InvoiceStatus>,
    pub customer: CustomerRef,
    /// Also given as `external_customer_id` beside a `customer_id`: the customer must have it.
    pub also_external_customer_id: Option<String>,
    pub currency: String,
    pub invoice_date: DateTime<Utc>,
    pub due_date: Option<DateTime<Utc>>,
    pub net_terms: i64,
    pub memo: Option<String>,
    pub metadata: Metadata,
    pub will_auto_issue: bool,
    pub line_items: Vec<NewLineItem>,
    /// `None`: the customer's setting.
    pub auto_collection: Option<bool>,
    pub discount: Option<super::model::InvoiceDiscount>,
}

/// The status changes Orb exposes as POST actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceTransition {
    /// draft → issued
    Issue,
    /// issued → void
    Void,
    /// issued or synced → paid, on the given date (`external_id` and `notes` are carried by
    /// the `invoice.manually_marked_as_paid` event)
    MarkPaid {
        payment_received: DateTime<Utc>,
        external_id: Option<String>,
        notes: Option<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub page: PageRequest,
    pub customer: Option<CustomerRef>,
    /// Empty means every status.
    pub statuses: Vec<InvoiceStatus>,
    pub subscription_id: Option<String>,
    /// `Some(true)`: only invoices of a subscription; `Some(false)`: only one-off ones.
    pub recurring: Option<bool>,
    pub invoice_date_gte: Option<DateTime<Utc>>,
    pub invoice_date_gt: Option<DateTime<Utc>>,
    pub invoice_date_lt: Option<DateTime<Utc>>,
    pub invoice_date_lte: Option<DateTime<Utc>>,
    /// Due on or after this instant (a due date's day, or the day after `due_date[gt]`).
    pub due_from: Option<DateTime<Utc>>,
    /// Due before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// `amount`: an amount due equal to this.
    pub amount: Option<rust_decimal::Decimal>,
    /// `amount[gt]`, `amount[lt]`.
    pub amount_gt: Option<rust_decimal::Decimal>,
    pub amount_lt: Option<rust_decimal::Decimal>,
}

const KIND: &str = "Invoice";

impl Store {
    pub async fn create_invoice(
        &self,
        account: &str,
        new: NewInvoice,
        now: DateTime<Utc>,
    ) -> StoreResult<Invoice> {
        let mut tx = self.begin().await?;
        let invoice = insert_invoice(&mut tx, account, new, now).await?;
        // Created with `will_auto_issue`, it is issued at once, as Orb announces.
        let queued = if invoice.status == InvoiceStatus::Issued {
            self.emit(&mut tx, account, NewEvent::invoice_issued(&invoice), now)
                .await?
        } else {
            0
        };
        tx.commit().await?;
        self.queued_deliveries(queued);
        Ok(invoice)
    }

    /// An invoice that is not soft-deleted (a deleting customer's invoices stay readable).
    pub async fn invoice(&self, account: &str, id: &str) -> StoreResult<Invoice> {
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM {INVOICE_FROM} \
             WHERE i.account = $1 AND i.id = $2 AND i.deleted_at IS NULL"
        );
        let row = on_reader!(self, |pool| {
            sqlx::query_as::<_, InvoiceRow>(&sql)
                .bind(account)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found(KIND, id))?
            .into_domain()
    }

    pub async fn list_invoices(
        &self,
        account: &str,
        filter: &InvoiceFilter,
    ) -> StoreResult<Page<Invoice>> {
        let (customer_id, external_id) = match &filter.customer {
            Some(CustomerRef::Id(id)) => (Some(id.as_str()), None),
            Some(CustomerRef::External(external)) => (None, Some(external.as_str())),
            None => (None, None),
        };
        let mut next = 16;
        let statuses = in_clause("i.status", filter.statuses.len(), &mut next);
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM {INVOICE_FROM} \
             WHERE i.account = $1 AND i.deleted_at IS NULL \
               AND ($2 IS NULL OR i.pk < $2) \
               AND ($3 IS NULL OR i.customer_id = $3) \
               AND ($4 IS NULL OR c.external_customer_id = $4) \
               AND ($5 IS NULL OR i.subscription_id = $5) \
               AND ($6 IS NULL OR (i.subscription_id IS NOT NULL) = $6) \
               AND ($7 IS NULL OR i.invoice_date >= $7) AND ($8 IS NULL OR i.invoice_date > $8) \
               AND ($9 IS NULL OR i.invoice_date < $9) AND ($10 IS NULL OR i.invoice_date <= $10) \
               AND ($11 IS NULL OR i.due_date >= $11) \
               AND ($12 IS NULL OR i.due_date < $12) \
               AND ($13 IS NULL OR i.amount_due = CAST($13 AS NUMERIC)) \
               AND ($14 IS NULL OR i.amount_due > CAST($14 AS NUMERIC)) \
               AND ($15 IS NULL OR i.amount_due < CAST($15 AS NUMERIC)){statuses} \
             ORDER BY i.pk DESC LIMIT ${next}"
        );
        let rows = on_reader!(self, |pool| {
            let mut query = sqlx::query_as::<_, InvoiceRow>(&sql)
                .bind(account)
                .bind(filter.page.before)
                .bind(customer_id)
                .bind(external_id)
                .bind(filter.subscription_id.as_deref())
                .bind(filter.recurring)
                .bind(filter.invoice_date_gte)
                .bind(filter.invoice_date_gt)
                .bind(filter.invoice_date_lt)
                .bind(filter.invoice_date_lte)
                .bind(filter.due_from)
                .bind(filter.due_before)
                .bind(filter.amount.map(|amount| amount.to_string()))
                .bind(filter.amount_gt.map(|amount| amount.to_string()))
                .bind(filter.amount_lt.map(|amount| amount.to_string()));
            for status in &filter.statuses {
                query = query.bind(status.as_str());
            }
            query.bind(filter.page.limit + 1).fetch_all(pool).await?
        });
        page_of(rows, filter.page, |row| row.pk, InvoiceRow::into_domain)
    }

    /// Moves an invoice through Orb's lifecycle; refused while its customer is being deleted.
    pub async fn transition_invoice(
        &self,
        account: &str,
        id: &str,
        transition: InvoiceTransition,
        now: DateTime<Utc>,
    ) -> StoreResult<Invoice> {
        let mut tx = self.begin().await?;
        let invoice = fetch_invoice(&mut tx, account, id, true).await?;
        // The customer row is held FOR SHARE: a concurrent DELETE (FOR UPDATE) waits for this
        // transaction, or this one waits for it and then sees the customer deleting.
        let customer = lock_customer(
            &mut tx,
            account,
            &CustomerRef::Id(invoice.customer_id.clone()),
            RowLock::Share,
        )
        .await?
        .ok_or_else(|| StoreError::not_found(KIND, id))?;
        refuse_if_deleting(&customer)?;
        let from = invoice.status;
        let (to, column, at) = match &transition {
            InvoiceTransition::Issue if from == InvoiceStatus::Draft => {
                (InvoiceStatus::Issued, "issued_at", now)
            }
            InvoiceTransition::Void if from == InvoiceStatus::Issued => {
                (InvoiceStatus::Void, "voided_at", now)
            }
            InvoiceTransition::MarkPaid {
                payment_received, ..
            } if matches!(from, InvoiceStatus::Issued | InvoiceStatus::Synced) => {
                (InvoiceStatus::Paid, "paid_at", *payment_received)
            }
            _ => {
                let action = match transition {
                    InvoiceTransition::Issue => "issued; only draft invoices can be issued",
                    InvoiceTransition::Void => "voided; only issued invoices can be voided",
                    InvoiceTransition::MarkPaid { .. } => {
                        "marked paid; only issued or synced invoices can be marked paid"
                    }
                };
                return Err(StoreError::Constraint(format!(
                    "Invoice {id} is {} and cannot be {action}.",
                    from.as_str()
                )));
            }
        };
        let sql = format!(
            "UPDATE invoices SET status = $3, {column} = $4 WHERE account = $1 AND id = $2"
        );
        on_tx!(&mut tx, |c| {
            sqlx::query(&sql)
                .bind(account)
                .bind(id)
                .bind(to.as_str())
                .bind(at)
                .execute(c)
                .await?
                .rows_affected()
        });
        let invoice = fetch_invoice(&mut tx, account, id, false).await?;
        let event = match transition {
            InvoiceTransition::Issue => NewEvent::invoice_issued(&invoice),
            InvoiceTransition::Void => NewEvent::invoice_voided(&invoice),
            InvoiceTransition::MarkPaid {
                payment_received,
                external_id,
                notes,
            } => NewEvent::invoice_marked_paid(&invoice, payment_received, external_id, notes),
        };
        let queued = self.emit(&mut tx, account, event, now).await?;
        tx.commit().await?;
        self.queued_deliveries(queued);
        Ok(invoice)
    }
}

/// Inserts an invoice in a write transaction (creation and fixtures).
pub(crate) async fn insert_invoice(
    tx: &mut Tx,
    account: &str,
    new: NewInvoice,
    now: DateTime<Utc>,
) -> StoreResult<Invoice> {
    // FOR UPDATE, not FOR SHARE: the invoice number counts the customer's invoices, so two
    // creations for one customer must not interleave.
    let customer = live_customer(tx, account, &new.customer, RowLock::Update).await?;
    same_customer(&customer, new.also_external_customer_id.as_deref())?;
    let count: i64 = on_tx!(tx, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE account = $1 AND customer_id = $2")
            .bind(account)
            .bind(&customer.id)
            .fetch_one(c)
            .await?
    });
    let invoice_number = format!(
        "{}-{:04}",
        customer
            .id
            .chars()
            .take(8)
            .collect::<String>()
            .to_uppercase(),
        count + 1
    );
    let line_items: Vec<LineItem> = new
        .line_items
        .into_iter()
        .map(|item| LineItem {
            id: new_id(),
            item_id: item.item_id.unwrap_or_else(new_id),
            name: item.name,
            quantity: item.quantity,
            unit_amount: item.unit_amount,
            start_date: item.start_date,
            end_date: item.end_date,
        })
        .collect();
    let subtotal: rust_decimal::Decimal = line_items.iter().map(LineItem::amount).sum();
    let amount_due = subtotal
        - new
            .discount
            .as_ref()
            .map_or(rust_decimal::Decimal::ZERO, |discount| {
                discount.amount_off(&line_items, &new.currency)
            });
    let line_items: Vec<StoredLineItem> = line_items.iter().map(StoredLineItem::from).collect();
    let status = new.status.unwrap_or(if new.will_auto_issue {
        InvoiceStatus::Issued
    } else {
        InvoiceStatus::Draft
    });
    let issued_at = (status != InvoiceStatus::Draft).then_some(now);
    let paid_at = (status == InvoiceStatus::Paid).then_some(now);
    let voided_at = (status == InvoiceStatus::Void).then_some(now);
    let id = match new.id {
        Some(id) => {
            refuse_taken_id(tx, "invoices", KIND, account, &id).await?;
            id
        }
        None => new_id(),
    };
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO invoices (account, id, customer_id, invoice_number, currency, status, \
             invoice_date, due_date, net_terms, memo, metadata, will_auto_issue, line_items, \
             created_at, issued_at, paid_at, voided_at, amount_due, auto_collection, discount) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     CAST($18 AS NUMERIC), $19, $20)",
        )
        .bind(account)
        .bind(&id)
        .bind(&customer.id)
        .bind(&invoice_number)
        .bind(&new.currency)
        .bind(status.as_str())
        .bind(new.invoice_date)
        .bind(new.due_date)
        .bind(new.net_terms)
        .bind(&new.memo)
        .bind(Json(&new.metadata))
        .bind(new.will_auto_issue)
        .bind(Json(&line_items))
        .bind(now)
        .bind(issued_at)
        .bind(paid_at)
        .bind(voided_at)
        .bind(amount_due.to_string())
        .bind(
            new.auto_collection
                .unwrap_or(customer.profile.auto_collection),
        )
        .bind(new.discount.as_ref().map(Json))
        .execute(c)
        .await?
        .rows_affected()
    });
    fetch_invoice(tx, account, &id, false).await
}

async fn fetch_invoice(tx: &mut Tx, account: &str, id: &str, lock: bool) -> StoreResult<Invoice> {
    let select = format!(
        "SELECT {INVOICE_COLUMNS} FROM {INVOICE_FROM} \
         WHERE i.account = $1 AND i.id = $2 AND i.deleted_at IS NULL"
    );
    // Lock only the invoice row, not the joined customer (its lock is taken separately, and
    // with the strength the caller needs).
    let sql = if lock {
        tx.locking(&select, RowLock::UpdateOf("i"))
    } else {
        select
    };
    let row = on_tx!(tx, |c| {
        sqlx::query_as::<_, InvoiceRow>(&sql)
            .bind(account)
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    row.ok_or_else(|| StoreError::not_found(KIND, id))?
        .into_domain()
}
