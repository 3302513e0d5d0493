//! The domain types the store hands out. They speak Orb's concepts, not SQL, and carry no wire
//! formatting: `http::objects` turns them into Orb's response shapes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Key-value metadata, as Orb stores it on every resource.
pub type Metadata = BTreeMap<String, String>;

/// Where a customer is in its life. Orb shows only the first two through its API; `Deleted`
/// customers answer 404 but stay in the store (soft deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerState {
    Active,
    /// `DELETE` committed; the cascade has not yet run.
    Deleting,
    /// The cascade has run.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub external_customer_id: Option<String>,
    pub name: String,
    pub email: String,
    pub currency: Option<String>,
    pub timezone: String,
    pub metadata: Metadata,
    pub balance: Decimal,
    pub created_at: DateTime<Utc>,
    pub state: CustomerState,
    #[serde(default)]
    pub profile: CustomerProfile,
}

/// A postal address, as Orb's `Address` (every part optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// A customer's tax id, as Orb's `CustomerTaxId` (a country and type of Orb's list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxId {
    pub country: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A customer's accounting sync settings, as Orb's `AccountingSyncConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountingSync {
    pub excluded: bool,
    pub accounting_providers: Vec<AccountingProvider>,
}

/// One accounting provider a customer syncs to (`quickbooks` or `netsuite`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountingProvider {
    pub provider_type: String,
    pub external_provider_id: String,
}

/// A customer's tax settings (Orb's `NewTaxConfiguration`); orb-mock computes no tax, but shows
/// them where Orb's `Customer` does (`exempt_from_automated_tax`, `automatic_tax_enabled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSettings {
    pub tax_provider: String,
    pub tax_exempt: bool,
    pub automatic_tax_enabled: Option<bool>,
    pub tax_exemption_code: Option<String>,
}

/// One provider's payment settings for a customer (Orb's `PaymentConfigurationItem`; Orb's
/// only provider is `stripe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSettings {
    pub provider_type: String,
    pub excluded_payment_method_types: Vec<String>,
    pub default_shared_payment_token: Option<String>,
}

/// What a customer carries beyond its identity: kept as one JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerProfile {
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub additional_emails: Vec<String>,
    pub auto_collection: bool,
    pub email_delivery: bool,
    pub payment_provider: Option<String>,
    pub payment_provider_id: Option<String>,
    pub tax_id: Option<TaxId>,
    /// `None`: the account's setting.
    pub auto_issuance: Option<bool>,
    /// `reporting_configuration.exempt`; `None`: no reporting configuration.
    pub reporting_exempt: Option<bool>,
    pub accounting_sync: Option<AccountingSync>,
    pub tax: Option<TaxSettings>,
    /// `payment_configuration.payment_providers`; `None`: no payment configuration.
    pub payment: Option<Vec<PaymentSettings>>,
    /// Its parent, or its children ([`super::hierarchy`]); left out of the stored JSON when
    /// empty, as it is for almost every customer.
    #[serde(skip_serializing_if = "Hierarchy::is_empty")]
    pub hierarchy: Hierarchy,
}

/// A customer's place in a hierarchy. Orb's are one level deep: a customer has a parent, or
/// children, or neither. Each side keeps the other's id and external id, so that a read needs
/// no other row; every change to a link writes both sides in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hierarchy {
    pub parent: Option<Linked>,
    pub children: Vec<Linked>,
}

impl Hierarchy {
    pub fn is_empty(&self) -> bool {
        self.parent.is_none() && self.children.is_empty()
    }

    /// Every customer linked to this one.
    pub fn linked(&self) -> impl Iterator<Item = &Linked> {
        self.parent.iter().chain(&self.children)
    }
}

/// Another customer in a hierarchy, as Orb's `CustomerMinified` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    pub id: String,
    pub external_customer_id: Option<String>,
}

/// What a create or an edit asks of the customer's hierarchy (Orb's
/// `CustomerHierarchyConfig`): a parent (`Some(None)` removes it), and children to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HierarchyChange {
    pub parent: Option<Option<String>>,
    pub children: Vec<String>,
}

impl Default for CustomerProfile {
    fn default() -> Self {
        CustomerProfile {
            billing_address: None,
            shipping_address: None,
            additional_emails: Vec::new(),
            auto_collection: true,
            email_delivery: true,
            payment_provider: None,
            payment_provider_id: None,
            tax_id: None,
            auto_issuance: None,
            reporting_exempt: None,
            accounting_sync: None,
            tax: None,
            payment: None,
            hierarchy: Hierarchy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceStatus {
    Draft,
    Issued,
    Paid,
    Synced,
    Void,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 5] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::Paid,
        InvoiceStatus::Synced,
        InvoiceStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Synced => "synced",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Issued, paid and synced invoices block a customer's deletion (README, "Errors").
    pub fn blocks_deletion(self) -> bool {
        matches!(
            self,
            InvoiceStatus::Issued | InvoiceStatus::Paid | InvoiceStatus::Synced
        )
    }
}

/// One line of a one-off invoice: `quantity` units at `unit_amount` each (Orb's `unit` model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: String,
    pub name: String,
    pub item_id: String,
    pub quantity: Decimal,
    pub unit_amount: Decimal,
    pub start_date: DateTime<Utc>,
    pub end_date: DateTime<Utc>,
}

impl LineItem {
    pub fn amount(&self) -> Decimal {
        (self.quantity * self.unit_amount).round_dp(2)
    }

    /// The id of the price behind the line: the store keeps no prices, so it is derived from
    /// the line's id, stable across reads and unique per line.
    pub fn price_id(&self) -> String {
        format!("price_{}", self.id)
    }

    /// Orb's `price_type` of a one-off line's price.
    pub const PRICE_TYPE: &'static str = "fixed_price";
}

/// An invoice-level discount (Orb's `Discount` on `POST /invoices`), validated. It takes its
/// share off the lines it applies to (all, unless `applies_to_price_ids` or `filters` narrow
/// them), never more than they come to, rounded to the cent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDiscount {
    pub kind: DiscountKind,
    pub applies_to_price_ids: Option<Vec<String>>,
    pub filters: Option<Vec<PriceFilter>>,
    pub reason: Option<String>,
}

/// The shapes of a discount an invoice can carry (Orb's `InvoiceLevelDiscount`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKind {
    /// This fraction (0–1) of the lines it applies to.
    Percentage(Decimal),
    /// This amount, at most what the lines come to.
    Amount(Decimal),
    /// A trial: this amount, or this fraction, or (neither) all of it.
    Trial {
        amount: Option<Decimal>,
        percentage: Option<Decimal>,
    },
    /// Progressive bands of the lines' total, each at its own fraction.
    TieredPercentage(Vec<PercentageTier>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentageTier {
    /// Exclusive.
    pub lower_bound: Decimal,
    /// Inclusive; `None` for the last, open-ended band.
    pub upper_bound: Option<Decimal>,
    pub percentage: Decimal,
}

/// Orb's `PriceFilter`: which lines' prices a discount applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceFilter {
    /// `price_id`, `item_id`, `price_type`, `currency` or `pricing_unit_id`.
    pub field: String,
    /// `includes` or `excludes`.
    pub operator: String,
    pub values: Vec<String>,
}

impl InvoiceDiscount {
    pub fn discount_type(&self) -> &'static str {
        match self.kind {
            DiscountKind::Percentage(_) => "percentage",
            DiscountKind::Amount(_) => "amount",
            DiscountKind::Trial { .. } => "trial",
            DiscountKind::TieredPercentage(_) => "tiered_percentage",
        }
    }

    fn applies_to(&self, line: &LineItem, currency: &str) -> bool {
        let price_id = line.price_id();
        if let Some(ids) = &self.applies_to_price_ids {
            if !ids.contains(&price_id) {
                return false;
            }
        }
        self.filters.iter().flatten().all(|filter| {
            let value = match filter.field.as_str() {
                "price_id" => Some(price_id.as_str()),
                "item_id" => Some(line.item_id.as_str()),
                "price_type" => Some(LineItem::PRICE_TYPE),
                "currency" => Some(currency),
                // A one-off line's price has no pricing unit.
                _ => None,
            };
            let matches = value.is_some_and(|value| filter.values.iter().any(|v| v == value));
            matches == (filter.operator == "includes")
        })
    }

    /// What the discount takes off an invoice of these lines in `currency`.
    pub fn amount_off(&self, lines: &[LineItem], currency: &str) -> Decimal {
        let eligible: Decimal = lines
            .iter()
            .filter(|line| self.applies_to(line, currency))
            .map(LineItem::amount)
            .sum();
        let off = match &self.kind {
            DiscountKind::Percentage(fraction) => eligible * fraction,
            DiscountKind::Amount(amount) => *amount,
            DiscountKind::Trial {
                amount: Some(amount),
                ..
            } => *amount,
            DiscountKind::Trial {
                percentage: Some(fraction),
                ..
            } => eligible * fraction,
            DiscountKind::Trial { .. } => eligible,
            DiscountKind::TieredPercentage(tiers) => tiers
                .iter()
                .map(|tier| {
                    let top = tier
                        .upper_bound
                        .map_or(eligible, |upper| upper.min(eligible));
                    (top - tier.lower_bound).max(Decimal::ZERO) * tier.percentage
                })
                .sum(),
        };
        off.min(eligible).max(Decimal::ZERO).round_dp(2)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub customer_id: String,
    /// The owning customer's external id at read time (Orb embeds it in `customer`).
    pub external_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub invoice_number: String,
    pub currency: String,
    pub status: InvoiceStatus,
    pub invoice_date: DateTime<Utc>,
    pub due_date: Option<DateTime<Utc>>,
    pub net_terms: i64,
    pub memo: Option<String>,
    pub metadata: Metadata,
    pub will_auto_issue: bool,
    pub line_items: Vec<LineItem>,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    /// Whether it is auto-collected: the request's choice, else its customer's at creation.
    #[serde(default = "collected")]
    pub auto_collection: bool,
    #[serde(default)]
    pub discount: Option<InvoiceDiscount>,
}

/// An invoice's `auto_collection` when nothing says otherwise (events written before it).
fn collected() -> bool {
    true
}

impl Invoice {
    /// Sum of the line amounts, before the discount.
    pub fn subtotal(&self) -> Decimal {
        self.line_items.iter().map(LineItem::amount).sum()
    }

    /// What the discount takes off (zero without one).
    pub fn discount_amount(&self) -> Decimal {
        self.discount.as_ref().map_or(Decimal::ZERO, |discount| {
            discount.amount_off(&self.line_items, &self.currency)
        })
    }

    /// The subtotal less the discount; orb-mock has no minimums, maximums, taxes or credits,
    /// so this is also the amount due.
    pub fn total(&self) -> Decimal {
        self.subtotal() - self.discount_amount()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    Active,
    Ended,
    Upcoming,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Ended => "ended",
            SubscriptionStatus::Upcoming => "upcoming",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Ended, Self::Upcoming]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer_id: String,
    /// orb-mock has no plan catalogue: it remembers the plan id (or external plan id) it was
    /// given and answers with a minimal plan carrying it.
    pub plan_id: String,
    pub external_plan_id: Option<String>,
    pub status: SubscriptionStatus,
    pub net_terms: i64,
    pub auto_collection: Option<bool>,
    pub default_invoice_memo: Option<String>,
    pub metadata: Metadata,
    pub start_date: DateTime<Utc>,
    pub end_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Its own name; `None`: the plan's.
    #[serde(default)]
    pub name: Option<String>,
    /// Its own currency; `None`: the customer's (the plan's invoicing currency).
    #[serde(default)]
    pub currency: Option<String>,
    /// When its trial ends (`trial_duration_days` after the start); `None`: no trial.
    #[serde(default)]
    pub trial_end_date: Option<DateTime<Utc>>,
}

impl Subscription {
    /// The billing period that contains `now`: periods are whole months from the start date
    /// (start + n months, so a subscription started on the 31st bills on the last day of
    /// shorter months and on the 31st again after them). An upcoming subscription's current
    /// period is its first; an ended one has none.
    pub fn current_period(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.status == SubscriptionStatus::Ended {
            return None;
        }
        let months_after = |n: u32| {
            self.start_date
                .checked_add_months(chrono::Months::new(n))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        };
        let mut start = self.start_date;
        for n in 1.. {
            let end = months_after(n);
            if end > now || end == DateTime::<Utc>::MAX_UTC {
                return Some((start, end));
            }
            start = end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::InvoiceStatus;

    /// The SQL list the store's queries use is exactly the statuses `blocks_deletion` names.
    #[test]
    fn the_sql_list_of_blocking_statuses_matches_blocks_deletion() {
        let listed: Vec<String> = crate::store::deletion::blocking_invoice_statuses!()
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|status| status.trim().trim_matches('\'').to_owned())
            .collect();
        let blocking: Vec<String> = InvoiceStatus::ALL
            .into_iter()
            .filter(|status| status.blocks_deletion())
            .map(|status| status.as_str().to_owned())
            .collect();
        assert_eq!(listed, blocking);
    }
}
