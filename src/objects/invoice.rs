//! Orb's `Invoice` object, its `InvoiceLineItem`s and the unit `Price` each line carries.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::{money, ts, unit_amount, AddressObject, CustomerMinifiedObject, Never};
use crate::store::model::{Invoice, LineItem, Metadata};

/// Orb's `Invoice` schema. orb-mock has no minimums, maximums, taxes, credits or payment
/// attempts, so those keys are present but empty: `subtotal` is the sum of the line amounts,
/// and `total` and `amount_due` are that less the invoice's discount.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InvoiceObject {
    pub id: String,
    pub invoice_number: String,
    pub customer: CustomerMinifiedObject,
    pub subscription: Option<SubscriptionMinifiedObject>,
    pub invoice_source: InvoiceSource,
    /// `draft`, `issued`, `paid`, `synced` or `void`.
    pub status: &'static str,
    pub currency: String,
    pub subtotal: String,
    pub total: String,
    pub amount_due: String,
    pub line_items: Vec<InvoiceLineItemObject>,
    /// Line items left out of `line_items` because their quantity is zero (as Orb does); the
    /// amounts still count every line. Required by the SDKs newer than the 4.69.0 document.
    pub hidden_line_item_count: usize,
    pub memo: Option<String>,
    #[schema(inline)]
    pub metadata: Metadata,
    pub will_auto_issue: bool,
    pub auto_collection: InvoiceAutoCollectionObject,
    #[serde(serialize_with = "ts::serialize")]
    pub invoice_date: DateTime<Utc>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub issued_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub voided_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub scheduled_issue_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub eligible_to_issue_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub issue_failed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub sync_failed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub payment_failed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub payment_started_at: Option<DateTime<Utc>>,
    pub invoice_pdf: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub billing_address: Option<AddressObject>,
    pub shipping_address: Option<AddressObject>,
    pub customer_tax_id: Option<Never>,
    pub credit_notes: Vec<Never>,
    pub customer_balance_transactions: Vec<Never>,
    pub payment_attempts: Vec<Never>,
    /// Deprecated in Orb but still required: the first of `discounts`.
    #[schema(value_type = Option<super::discount::InvoiceLevelDiscountObject>)]
    pub discount: Option<serde_json::Value>,
    /// Orb's `InvoiceLevelDiscount`s: the discount the invoice was created with, if any.
    #[schema(value_type = Vec<super::discount::InvoiceLevelDiscountObject>)]
    pub discounts: Vec<serde_json::Value>,
    pub minimum: Option<Never>,
    pub minimum_amount: Option<String>,
    pub maximum: Option<Never>,
    pub maximum_amount: Option<String>,
}

impl InvoiceObject {
    /// Builds the wire object for a stored invoice.
    pub fn new(invoice: &Invoice) -> Self {
        let subtotal = money(invoice.subtotal());
        let total = money(invoice.total());
        let discounts: Vec<serde_json::Value> = invoice
            .discount
            .iter()
            .map(super::discount_object)
            .collect();
        Self {
            id: invoice.id.clone(),
            invoice_number: invoice.invoice_number.clone(),
            customer: CustomerMinifiedObject {
                id: invoice.customer_id.clone(),
                external_customer_id: invoice.external_customer_id.clone(),
            },
            subscription: invoice
                .subscription_id
                .as_ref()
                .map(|id| SubscriptionMinifiedObject { id: id.clone() }),
            invoice_source: if invoice.subscription_id.is_some() {
                InvoiceSource::Subscription
            } else {
                InvoiceSource::OneOff
            },
            status: invoice.status.as_str(),
            currency: invoice.currency.clone(),
            amount_due: total.clone(),
            total,
            subtotal,
            line_items: invoice
                .line_items
                .iter()
                .filter(|line| !line.quantity.is_zero())
                .map(|line| InvoiceLineItemObject::new(line, invoice))
                .collect(),
            hidden_line_item_count: invoice
                .line_items
                .iter()
                .filter(|line| line.quantity.is_zero())
                .count(),
            memo: invoice.memo.clone(),
            metadata: invoice.metadata.clone(),
            will_auto_issue: invoice.will_auto_issue,
            auto_collection: InvoiceAutoCollectionObject {
                enabled: Some(invoice.auto_collection),
                ..InvoiceAutoCollectionObject::default()
            },
            invoice_date: invoice.invoice_date,
            due_date: invoice.due_date,
            created_at: invoice.created_at,
            issued_at: invoice.issued_at,
            paid_at: invoice.paid_at,
            voided_at: invoice.voided_at,
            scheduled_issue_at: None,
            eligible_to_issue_at: None,
            issue_failed_at: None,
            sync_failed_at: None,
            payment_failed_at: None,
            payment_started_at: None,
            invoice_pdf: None,
            hosted_invoice_url: None,
            billing_address: None,
            shipping_address: None,
            customer_tax_id: None,
            credit_notes: Vec::new(),
            customer_balance_transactions: Vec::new(),
            payment_attempts: Vec::new(),
            discount: discounts.first().cloned(),
            discounts,
            minimum: None,
            minimum_amount: None,
            maximum: None,
            maximum_amount: None,
        }
    }
}

/// Where an invoice came from (Orb's `invoice_source`; orb-mock never makes `partial` ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSource {
    Subscription,
    OneOff,
}

/// Orb's `SubscriptionMinified`: how an invoice points at its subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SubscriptionMinifiedObject {
    pub id: String,
}

/// Orb's `AutoCollection` block on an invoice. orb-mock has no payment provider, so nothing is
/// ever scheduled or attempted; `enabled` is the invoice's `auto_collection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvoiceAutoCollectionObject {
    pub enabled: Option<bool>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub previously_attempted_at: Option<DateTime<Utc>>,
    pub num_attempts: Option<i64>,
}

impl Default for InvoiceAutoCollectionObject {
    fn default() -> Self {
        Self {
            enabled: Some(true),
            next_attempt_at: None,
            previously_attempted_at: None,
            num_attempts: None,
        }
    }
}

/// Orb's `InvoiceLineItem` for a one-off `unit` line: `quantity` × `unit_amount`, with no
/// adjustments, credits, taxes or sub-lines.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InvoiceLineItemObject {
    pub id: String,
    pub name: String,
    /// A JSON number, as Orb sends it.
    pub quantity: f64,
    pub amount: String,
    pub subtotal: String,
    pub adjusted_subtotal: String,
    pub credits_applied: String,
    pub partially_invoiced_amount: String,
    #[serde(serialize_with = "ts::serialize")]
    pub start_date: DateTime<Utc>,
    #[serde(serialize_with = "ts::serialize")]
    pub end_date: DateTime<Utc>,
    pub price: UnitPriceObject,
    pub grouping: Option<String>,
    pub filter: Option<String>,
    pub usage_customer_ids: Option<Vec<String>>,
    pub adjustments: Vec<Never>,
    pub sub_line_items: Vec<Never>,
    pub tax_amounts: Vec<Never>,
}

impl InvoiceLineItemObject {
    /// Builds a line; the invoice supplies the price's currency and creation time.
    pub fn new(line: &LineItem, invoice: &Invoice) -> Self {
        let amount = money(line.amount());
        Self {
            id: line.id.clone(),
            name: line.name.clone(),
            quantity: decimal_to_number(line.quantity),
            subtotal: amount.clone(),
            // No adjustments: the adjusted subtotal is the subtotal.
            adjusted_subtotal: amount.clone(),
            amount,
            credits_applied: money(Decimal::ZERO),
            partially_invoiced_amount: money(Decimal::ZERO),
            start_date: line.start_date,
            end_date: line.end_date,
            price: UnitPriceObject::new(line, invoice),
            grouping: None,
            filter: None,
            usage_customer_ids: None,
            adjustments: Vec::new(),
            sub_line_items: Vec::new(),
            tax_amounts: Vec::new(),
        }
    }
}

/// Orb's `UnitPrice` (the `model_type: "unit"` arm of its `Price` union), as Orb creates it for
/// a one-off invoice line: a one-time fixed price of `unit_amount` per unit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitPriceObject {
    pub id: String,
    pub name: String,
    /// Always `"unit"`: the discriminator of Orb's `Price` union.
    pub model_type: &'static str,
    pub unit_config: UnitConfigObject,
    pub item: ItemSlimObject,
    pub currency: String,
    pub price_type: &'static str,
    pub cadence: &'static str,
    pub billing_mode: &'static str,
    pub billing_cycle_configuration: BillingCycleConfigurationObject,
    pub invoicing_cycle_configuration: Option<BillingCycleConfigurationObject>,
    pub fixed_price_quantity: Option<f64>,
    #[schema(inline)]
    pub metadata: Metadata,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
    pub external_price_id: Option<String>,
    pub replaces_price_id: Option<String>,
    pub billable_metric: Option<Never>,
    pub plan_phase_order: Option<i64>,
    pub conversion_rate: Option<f64>,
    pub conversion_rate_config: Option<Never>,
    pub credit_allocation: Option<Never>,
    pub composite_price_filters: Option<Vec<Never>>,
    pub invoice_grouping_key: Option<String>,
    /// Deprecated in Orb but still required, like the four below.
    pub discount: Option<Never>,
    pub minimum: Option<Never>,
    pub minimum_amount: Option<String>,
    pub maximum: Option<Never>,
    pub maximum_amount: Option<String>,
}

impl UnitPriceObject {
    /// The price behind one invoice line. The store keeps no prices, so its id is derived from
    /// the line's id: stable across reads and unique per line.
    pub fn new(line: &LineItem, invoice: &Invoice) -> Self {
        Self {
            id: line.price_id(),
            name: line.name.clone(),
            model_type: "unit",
            unit_config: UnitConfigObject {
                unit_amount: unit_amount(line.unit_amount),
            },
            item: ItemSlimObject {
                id: line.item_id.clone(),
                // The store keeps no item catalogue; the line's name is the best label we have.
                name: line.name.clone(),
            },
            currency: invoice.currency.clone(),
            price_type: "fixed_price",
            cadence: "one_time",
            billing_mode: "in_advance",
            billing_cycle_configuration: BillingCycleConfigurationObject::monthly(),
            invoicing_cycle_configuration: None,
            fixed_price_quantity: Some(decimal_to_number(line.quantity)),
            metadata: Metadata::new(),
            created_at: invoice.created_at,
            external_price_id: None,
            replaces_price_id: None,
            billable_metric: None,
            plan_phase_order: None,
            conversion_rate: None,
            conversion_rate_config: None,
            credit_allocation: None,
            composite_price_filters: None,
            invoice_grouping_key: None,
            discount: None,
            minimum: None,
            minimum_amount: None,
            maximum: None,
            maximum_amount: None,
        }
    }
}

/// Orb's `UnitConfig`. The schema forbids extra keys here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnitConfigObject {
    /// Per-unit amount as a decimal string, e.g. `"4.00"`.
    pub unit_amount: String,
}

/// Orb's `ItemSlim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ItemSlimObject {
    pub id: String,
    pub name: String,
}

/// Orb's `BillingCycleConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BillingCycleConfigurationObject {
    pub duration: i64,
    /// `day` or `month`.
    pub duration_unit: &'static str,
}

impl BillingCycleConfigurationObject {
    /// One month, Orb's default cycle.
    pub fn monthly() -> Self {
        Self {
            duration: 1,
            duration_unit: "month",
        }
    }
}

/// Orb sends quantities as JSON numbers. Quantities are small, human-entered values, so the
/// conversion is exact in practice; a value beyond f64 (impossible for a `Decimal` in range)
/// would degrade to 0 rather than fail the response.
fn decimal_to_number(value: Decimal) -> f64 {
    value.to_f64().unwrap_or_default()
}
