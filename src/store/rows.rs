//! Rows as both databases return them, and their conversion into domain types. The column types
//! are chosen to decode identically on both backends: text, 64-bit integers, booleans,
//! `DateTime<Utc>` (TIMESTAMPTZ / RFC 3339 text) and JSON (JSONB / text).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use super::model::{
    Customer, CustomerProfile, CustomerState, Invoice, InvoiceStatus, LineItem, Metadata,
    Subscription, SubscriptionStatus,
};
use super::{StoreError, StoreResult};

pub(crate) const CUSTOMER_COLUMNS: &str = "pk, id, external_customer_id, name, email, currency, \
     timezone, metadata, balance, state, created_at, profile";

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub pk: i64,
    pub id: String,
    pub external_customer_id: Option<String>,
    pub name: String,
    pub email: String,
    pub currency: Option<String>,
    pub timezone: String,
    pub metadata: Json<Metadata>,
    pub balance: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub profile: Json<CustomerProfile>,
}

impl CustomerRow {
    pub fn into_domain(self) -> StoreResult<Customer> {
        Ok(Customer {
            state: match self.state.as_str() {
                "active" => CustomerState::Active,
                "deleting" => CustomerState::Deleting,
                "deleted" => CustomerState::Deleted,
                other => return Err(StoreError::Corrupt(format!("customer state {other:?}"))),
            },
            balance: decimal(&self.balance)?,
            id: self.id,
            external_customer_id: self.external_customer_id,
            name: self.name,
            email: self.email,
            currency: self.currency,
            timezone: self.timezone,
            metadata: self.metadata.0,
            created_at: self.created_at,
            profile: self.profile.0,
        })
    }
}

/// Invoice columns, read joined with the owning customer (`c`) for its external id.
pub(crate) const INVOICE_COLUMNS: &str = "i.pk, i.id, i.customer_id, c.external_customer_id, \
     i.subscription_id, i.invoice_number, i.currency, i.status, i.invoice_date, i.due_date, \
     i.net_terms, i.memo, i.metadata, i.will_auto_issue, i.line_items, i.created_at, \
     i.issued_at, i.paid_at, i.voided_at, i.auto_collection, i.discount";

pub(crate) const INVOICE_FROM: &str =
    "invoices i JOIN customers c ON c.account = i.account AND c.id = i.customer_id";

#[derive(sqlx::FromRow)]
pub(crate) struct InvoiceRow {
    pub pk: i64,
    pub id: String,
    pub customer_id: String,
    pub external_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub invoice_number: String,
    pub currency: String,
    pub status: String,
    pub invoice_date: DateTime<Utc>,
    pub due_date: Option<DateTime<Utc>>,
    pub net_terms: i64,
    pub memo: Option<String>,
    pub metadata: Json<Metadata>,
    pub will_auto_issue: bool,
    pub line_items: Json<Vec<StoredLineItem>>,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub auto_collection: Option<bool>,
    pub discount: Option<Json<super::model::InvoiceDiscount>>,
}

/// A line item as stored inside its invoice's JSON column; amounts are decimal strings, never
/// floats.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredLineItem {
    pub id: String,
    pub name: String,
    pub item_id: String,
    pub quantity: String,
    pub unit_amount: String,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
}

impl From<&LineItem> for StoredLineItem {
    fn from(item: &LineItem) -> Self {
        StoredLineItem {
            id: item.id.clone(),
            name: item.name.clone(),
            item_id: item.item_id.clone(),
            quantity: item.quantity.to_string(),
            unit_amount: item.unit_amount.to_string(),
            start_date: item.start_date,
            end_date: item.end_date,
        }
    }
}

impl InvoiceRow {
    pub fn into_domain(self) -> StoreResult<Invoice> {
        let line_items = self
            .line_items
            .0
            .into_iter()
            .map(|item| {
                Ok(LineItem {
                    quantity: decimal(&item.quantity)?,
                    unit_amount: decimal(&item.unit_amount)?,
                    id: item.id,
                    name: item.name,
                    item_id: item.item_id,
                    start_date: item.start_date,
                    end_date: item.end_date,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(Invoice {
            status: InvoiceStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("invoice status {:?}", self.status)))?,
            id: self.id,
            customer_id: self.customer_id,
            external_customer_id: self.external_customer_id,
            subscription_id: self.subscription_id,
            invoice_number: self.invoice_number,
            currency: self.currency,
            invoice_date: self.invoice_date,
            due_date: self.due_date,
            net_terms: self.net_terms,
            memo: self.memo,
            metadata: self.metadata.0,
            will_auto_issue: self.will_auto_issue,
            line_items,
            created_at: self.created_at,
            issued_at: self.issued_at,
            paid_at: self.paid_at,
            voided_at: self.voided_at,
            auto_collection: self.auto_collection.unwrap_or(true),
            discount: self.discount.map(|discount| discount.0),
        })
    }
}

pub(crate) const SUBSCRIPTION_COLUMNS: &str = "pk, id, customer_id, plan_id, external_plan_id, \
     status, net_terms, auto_collection, default_invoice_memo, metadata, start_date, end_date, \
     created_at, name, currency, trial_end_date";

#[derive(sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
    pub pk: i64,
    pub id: String,
    pub customer_id: String,
    pub plan_id: String,
    pub external_plan_id: Option<String>,
    pub status: String,
    pub net_terms: i64,
    pub auto_collection: Option<bool>,
    pub default_invoice_memo: Option<String>,
    pub metadata: Json<Metadata>,
    pub start_date: DateTime<Utc>,
    pub end_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub trial_end_date: Option<DateTime<Utc>>,
}

impl SubscriptionRow {
    pub fn into_domain(self) -> StoreResult<Subscription> {
        Ok(Subscription {
            status: SubscriptionStatus::parse(&self.status).ok_or_else(|| {
                StoreError::Corrupt(format!("subscription status {:?}", self.status))
            })?,
            id: self.id,
            customer_id: self.customer_id,
            plan_id: self.plan_id,
            external_plan_id: self.external_plan_id,
            net_terms: self.net_terms,
            auto_collection: self.auto_collection,
            default_invoice_memo: self.default_invoice_memo,
            metadata: self.metadata.0,
            start_date: self.start_date,
            end_date: self.end_date,
            created_at: self.created_at,
            name: self.name,
            currency: self.currency,
            trial_end_date: self.trial_end_date,
        })
    }
}

fn decimal(text: &str) -> StoreResult<Decimal> {
    Decimal::from_str(text).map_err(|_| StoreError::Corrupt(format!("decimal {text:?}")))
}

/// Which page of a newest-first list: at most `limit` rows, older than keyset position `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub before: Option<i64>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: 20,
            before: None,
        }
    }
}

/// A page of results: the rows, and whether more follow after the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The keyset position of the last item, when more items follow.
    pub next: Option<i64>,
}

/// Cuts a `limit + 1` fetch down to `limit` and works out the next position.
pub(crate) fn page_of<R, T>(
    mut rows: Vec<R>,
    request: PageRequest,
    pk: impl Fn(&R) -> i64,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let limit = request.limit;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if more { rows.last().map(&pk) } else { None };
    Ok(Page {
        items: rows.into_iter().map(convert).collect::<StoreResult<_>>()?,
        next,
    })
}

/// `$first, $first+1, …` for `count` values: an `IN (…)` list that binds each value, portable
/// across both databases.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AND column IN (…)` over the next `count` placeholders, or nothing when `count` is 0;
/// advances `next` past them.
pub(crate) fn in_clause(column: &str, count: usize, next: &mut usize) -> String {
    if count == 0 {
        return String::new();
    }
    let clause = format!(" AND {column} IN ({})", placeholders(*next, count));
    *next += count;
    clause
}
