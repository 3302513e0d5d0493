//! Orb's one-off invoice routes: create, fetch, list, and the issue / void / mark-paid actions.
//!
//! Reference: <https://docs.withorb.com/api-reference/invoice/create-a-one-off-invoice> and
//! siblings.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{page_body, parse_date, Account, Body, PathId, QueryParams, Resource};
use super::validate::Problems;
use super::AppState;
use crate::objects::{InvoiceObject, Page};
use crate::store::model::InvoiceStatus;
use crate::store::{CustomerRef, InvoiceFilter, InvoiceTransition, NewInvoice, NewLineItem};

/// Customers, invoices or subscriptions addressed by id in a path.
pub struct Invoices;

impl Resource for Invoices {
    const KIND: &'static str = "Invoice";
}

/// The name this module's list carries in its cursors.
const LIST: &str = "invoices";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(list).post(create))
        .route("/invoices/{invoice_id}", get(fetch))
        .route("/invoices/{invoice_id}/issue", post(issue))
        .route("/invoices/{invoice_id}/void", post(void))
        .route("/invoices/{invoice_id}/mark_paid", post(mark_paid))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateInvoice {
    customer_id: Option<String>,
    external_customer_id: Option<String>,
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z]{3}$")]
    currency: Option<String>,
    #[schema(required = true, value_type = String, format = DateTime)]
    invoice_date: Option<String>,
    #[schema(format = DateTime)]
    due_date: Option<String>,
    net_terms: Option<i64>,
    memo: Option<String>,
    metadata: Option<BTreeMap<String, Option<String>>>,
    will_auto_issue: Option<bool>,
    /// `null`: the customer's setting.
    auto_collection: Option<bool>,
    #[schema(required = true, value_type = Vec<CreateLineItem>)]
    line_items: Option<Vec<CreateLineItem>>,
    /// Orb's `Discount`: `percentage`, `amount`, `trial` or `tiered_percentage` (a `usage`
    /// discount is refused: a one-off invoice has no usage).
    #[schema(value_type = Option<Object>)]
    discount: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateLineItem {
    #[schema(required = true, value_type = String, max_length = 4096, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: Option<String>,
    item_id: Option<String>,
    #[schema(required = true, value_type = f64, minimum = 0)]
    quantity: Option<serde_json::Value>,
    #[schema(required = true, value_type = UnitConfig)]
    unit_config: Option<UnitConfig>,
    #[schema(required = true, value_type = String, format = DateTime)]
    start_date: Option<String>,
    #[schema(required = true, value_type = String, format = DateTime)]
    end_date: Option<String>,
    model_type: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UnitConfig {
    #[schema(required = true, value_type = String, pattern = r"^-?[0-9]{1,9}(\.[0-9]{1,4})?$")]
    unit_amount: Option<serde_json::Value>,
}

/// Most line items one invoice may carry.
const MAX_LINE_ITEMS: usize = 100;

impl CreateInvoice {
    /// The invoice this body asks for, or the problems with it (also used by fixtures).
    pub(crate) fn validate(self, p: &mut Problems) -> Option<NewInvoice> {
        let also_external_customer_id = self
            .customer_id
            .is_some()
            .then(|| self.external_customer_id.clone())
            .flatten();
        let customer = p.customer_ref(self.customer_id, self.external_customer_id);
        let currency = p.require("currency", self.currency);
        let currency = p.currency("currency", currency);
        let invoice_date = p.require("invoice_date", self.invoice_date);
        let invoice_date = p.datetime("invoice_date", invoice_date);
        let due_date = p.datetime("due_date", self.due_date);
        let net_terms = self.net_terms.unwrap_or(0);
        if !(0..=3650).contains(&net_terms) {
            p.push("net_terms", "must be a number of days from 0 to 3650");
        }
        let memo = p.text("memo", self.memo, false);
        let metadata = p.new_metadata("metadata", self.metadata);
        let lines = p.require("line_items", self.line_items).unwrap_or_default();
        if lines.len() > MAX_LINE_ITEMS {
            p.push("line_items", format!("at most {MAX_LINE_ITEMS} line items"));
        }
        let line_items: Vec<Option<NewLineItem>> = lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| line_item(p, i, line))
            .collect();
        let discount = super::discounts::discount(p, "discount", self.discount);
        (|| {
            let invoice_date = invoice_date?;
            Some(NewInvoice {
                id: None,
                status: None,
                customer: customer?,
                also_external_customer_id,
                currency: currency?,
                due_date: due_date
                    .or_else(|| Some(invoice_date + chrono::Duration::days(net_terms))),
                invoice_date,
                net_terms,
                memo,
                metadata,
                will_auto_issue: self.will_auto_issue.unwrap_or(false),
                line_items: line_items.into_iter().collect::<Option<Vec<_>>>()?,
                auto_collection: self.auto_collection,
                discount: discount?,
            })
        })()
    }
}

async fn create(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<CreateInvoice>,
) -> ApiResult<Response> {
    // A usage discount is a shape orb-mock does not emulate, not a malformed one.
    if body
        .discount
        .as_ref()
        .is_some_and(|discount| discount["discount_type"] == "usage")
    {
        return Err(ApiError::FeatureNotAvailable(
            "orb-mock does not emulate a `usage` `discount` on `POST /invoices`: a one-off \
             invoice has no usage to discount. Use a percentage, amount, trial or \
             tiered_percentage discount, or see the README, \"What is emulated, and what is \
             not\"."
                .into(),
        ));
    }
    let mut problems = Problems::default();
    let new = body.validate(&mut problems);
    let new = problems.finish(|| new)?;
    let invoice = state
        .store
        .create_invoice(account.as_str(), new, state.now(&account).await?)
        .await?;
    Ok((StatusCode::CREATED, Json(InvoiceObject::new(&invoice))).into_response())
}

fn line_item(p: &mut Problems, index: usize, line: CreateLineItem) -> Option<NewLineItem> {
    let field = |name: &str| format!("line_items[{index}].{name}");
    let name = p.require(&field("name"), line.name);
    let name = p.text(&field("name"), name, true);
    let item_id = p.text(&field("item_id"), line.item_id, true);
    let quantity = p.require(&field("quantity"), line.quantity);
    let quantity = p.decimal(&field("quantity"), quantity);
    if quantity.is_some_and(|q| q.is_sign_negative()) {
        p.push(&field("quantity"), "must not be negative");
    }
    let unit_config = p.require(&field("unit_config"), line.unit_config);
    let unit_amount = unit_config.and_then(|config| {
        let amount = p.require(&field("unit_config.unit_amount"), config.unit_amount);
        p.decimal(&field("unit_config.unit_amount"), amount)
    });
    let start_date = p.require(&field("start_date"), line.start_date);
    let start_date = p.datetime(&field("start_date"), start_date);
    let end_date = p.require(&field("end_date"), line.end_date);
    let end_date = p.datetime(&field("end_date"), end_date);
    if let (Some(start), Some(end)) = (start_date, end_date) {
        if end < start {
            p.push(&field("end_date"), "must not be before start_date");
        }
    }
    match line.model_type.as_deref() {
        None | Some("unit") => {}
        Some(other) => p.push(
            &field("model_type"),
            format!("{other:?} is not supported; use \"unit\""),
        ),
    }
    Some(NewLineItem {
        name: name?,
        item_id,
        quantity: quantity?,
        unit_amount: unit_amount?,
        start_date: start_date?,
        end_date: end_date?,
    })
}

async fn fetch(
    State(state): State<AppState>,
    account: Account,
    invoice_id: PathId<Invoices>,
) -> ApiResult<Json<InvoiceObject>> {
    let id = invoice_id.as_str();
    let invoice = state.store.invoice(account.as_str(), id).await?;
    Ok(Json(InvoiceObject::new(&invoice)))
}

/// Orb lists issued, paid and synced invoices unless `status[]` says otherwise.
const DEFAULT_STATUSES: [InvoiceStatus; 3] = [
    InvoiceStatus::Issued,
    InvoiceStatus::Paid,
    InvoiceStatus::Synced,
];

async fn list(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<InvoiceObject>>> {
    let mut p = Problems::default();
    let now = state.now(&account).await?;
    let customer = match (
        query.one("customer_id")?,
        query.one("external_customer_id")?,
    ) {
        (Some(id), _) => Some(CustomerRef::Id(id.to_owned())),
        (None, Some(external)) => Some(CustomerRef::External(external.to_owned())),
        (None, None) => None,
    };
    let mut statuses = Vec::new();
    for text in query.many("status")? {
        match InvoiceStatus::parse(text) {
            Some(status) => statuses.push(status),
            None => p.push(
                "status",
                format!("{text:?} is not one of draft, issued, paid, synced, void"),
            ),
        }
    }
    if statuses.is_empty() {
        statuses = DEFAULT_STATUSES.to_vec();
    }
    let page = query.page(LIST)?;
    let recurring = match query.one("is_recurring")? {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(text) => {
            p.push("is_recurring", format!("{text:?} is not true or false"));
            None
        }
    };
    // `due_date` is a day (UTC): due on it, after it, or before it.
    let day = |key: &str, p: &mut Problems| -> ApiResult<Option<DateTime<Utc>>> {
        Ok(query.one(key)?.and_then(|text| match parse_date(text) {
            Some(day) => Some(day),
            None => {
                p.push(key, format!("{text:?} is not a date like 2026-01-31"));
                None
            }
        }))
    };
    let due_on = day("due_date", &mut p)?;
    let due_after = day("due_date[gt]", &mut p)?;
    let due_before = day("due_date[lt]", &mut p)?;
    // `due_date_window` (`7d`, `2m`): dated within that much of now, in the past; `date_type`
    // picks the date (`invoice_date` by default).
    let window_start = match query.one("due_date_window")? {
        None => None,
        Some(text) => {
            let start = window_start(text, now);
            if start.is_none() {
                p.push(
                    "due_date_window",
                    format!("{text:?} is not a number of days or months like 7d or 2m"),
                );
            }
            start
        }
    };
    let by_due_date = match query.one("date_type")? {
        None | Some("invoice_date") => false,
        Some("due_date") => true,
        Some(text) => {
            p.push(
                "date_type",
                format!("{text:?} is not one of due_date, invoice_date"),
            );
            false
        }
    };
    let (due_window, invoice_window) = match (window_start, by_due_date) {
        (Some(start), true) => (Some(start), None),
        (Some(start), false) => (None, Some(start)),
        (None, _) => (None, None),
    };
    // A window ends now: dated at or before it (strictly before the next microsecond).
    let just_after_now = now + chrono::Duration::microseconds(1);
    let next_day = |at: DateTime<Utc>| at + chrono::Duration::days(1);
    let due_from = [due_on, due_after.map(next_day), due_window]
        .into_iter()
        .flatten()
        .max();
    let due_before = [
        due_on.map(next_day),
        due_before,
        due_window.map(|_| just_after_now),
    ]
    .into_iter()
    .flatten()
    .min();
    let invoice_date_gte = [query.datetime("invoice_date[gte]")?, invoice_window]
        .into_iter()
        .flatten()
        .max();
    let invoice_date_lte = [
        query.datetime("invoice_date[lte]")?,
        invoice_window.map(|_| now),
    ]
    .into_iter()
    .flatten()
    .min();
    let mut amount = |key: &str| -> ApiResult<Option<rust_decimal::Decimal>> {
        Ok(p.decimal(key, query.one(key)?.map(serde_json::Value::from)))
    };
    let (amount_eq, amount_gt, amount_lt) = (
        amount("amount")?,
        amount("amount[gt]")?,
        amount("amount[lt]")?,
    );
    let filter = InvoiceFilter {
        page,
        customer,
        statuses,
        subscription_id: query.one("subscription_id")?.map(str::to_owned),
        recurring,
        invoice_date_gte,
        invoice_date_gt: query.datetime("invoice_date[gt]")?,
        invoice_date_lt: query.datetime("invoice_date[lt]")?,
        invoice_date_lte,
        due_from,
        due_before,
        amount: amount_eq,
        amount_gt,
        amount_lt,
    };
    let filter = p.finish(|| Some(filter))?;
    let page = state.store.list_invoices(account.as_str(), &filter).await?;
    Ok(Json(page_body(LIST, &page, InvoiceObject::new)))
}

/// The start of a `due_date_window` ending at `now`: `Nd` days or `Nm` months back.
fn window_start(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (count, unit) = text.split_at(text.len().checked_sub(1)?);
    let count: u32 = count.parse().ok()?;
    match unit {
        "d" => now.checked_sub_signed(chrono::Duration::days(i64::from(count))),
        "m" => now.checked_sub_months(chrono::Months::new(count)),
        _ => None,
    }
}

async fn transition(
    state: &AppState,
    account: &Account,
    invoice_id: &PathId<Invoices>,
    transition: InvoiceTransition,
) -> ApiResult<Json<InvoiceObject>> {
    let id = invoice_id.as_str();
    let invoice = state
        .store
        .transition_invoice(account.as_str(), id, transition, state.now(account).await?)
        .await?;
    Ok(Json(InvoiceObject::new(&invoice)))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct IssueInvoice {
    /// Accepted for compatibility; orb-mock always issues synchronously.
    #[allow(dead_code)]
    synchronous: Option<bool>,
}

async fn issue(
    State(state): State<AppState>,
    account: Account,
    invoice_id: PathId<Invoices>,
    Body(_): Body<IssueInvoice>,
) -> ApiResult<Json<InvoiceObject>> {
    transition(&state, &account, &invoice_id, InvoiceTransition::Issue).await
}

async fn void(
    State(state): State<AppState>,
    account: Account,
    invoice_id: PathId<Invoices>,
) -> ApiResult<Json<InvoiceObject>> {
    transition(&state, &account, &invoice_id, InvoiceTransition::Void).await
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MarkPaid {
    #[schema(required = true, value_type = String, format = Date)]
    payment_received_date: Option<String>,
    external_id: Option<String>,
    notes: Option<String>,
}

async fn mark_paid(
    State(state): State<AppState>,
    account: Account,
    invoice_id: PathId<Invoices>,
    Body(body): Body<MarkPaid>,
) -> ApiResult<Json<InvoiceObject>> {
    let mut p = Problems::default();
    let date = p.require("payment_received_date", body.payment_received_date);
    let date = p.datetime("payment_received_date", date);
    let external_id = p.text("external_id", body.external_id, false);
    let notes = p.text("notes", body.notes, false);
    let payment_received = p.finish(|| date)?;
    transition(
        &state,
        &account,
        &invoice_id,
        InvoiceTransition::MarkPaid {
            payment_received,
            external_id,
            notes,
        },
    )
    .await
}
