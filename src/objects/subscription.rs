//! Orb's `Subscription` and `MutatedSubscription` objects, with the minimal `Plan` they embed.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ts, CustomerObject, Never};
use crate::store::model::{Customer, Metadata, Subscription};

/// The name of the one plan orb-mock pretends to have; subscriptions are named after it.
pub const PLAN_NAME: &str = "orb-mock plan";

/// The plan currency when the customer has none set.
const DEFAULT_CURRENCY: &str = "USD";

/// Orb's `Subscription` schema: a plan subscription with no price, adjustment, discount,
/// minimum or maximum intervals, no trial, coupon or pending change.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SubscriptionObject {
    pub id: String,
    pub name: String,
    pub customer: CustomerObject,
    /// Nullable in Orb's schema; orb-mock always has one.
    pub plan: Option<PlanObject>,
    /// `active`, `ended` or `upcoming`.
    pub status: &'static str,
    #[schema(inline)]
    pub metadata: Metadata,
    #[serde(serialize_with = "ts::serialize")]
    pub start_date: DateTime<Utc>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub end_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub current_billing_period_start_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts::option::serialize")]
    pub current_billing_period_end_date: Option<DateTime<Utc>>,
    pub billing_cycle_day: u32,
    pub billing_cycle_anchor_configuration: BillingCycleAnchorConfigurationObject,
    pub net_terms: i64,
    pub auto_collection: Option<bool>,
    pub auto_issuance: Option<bool>,
    pub default_invoice_memo: Option<String>,
    pub invoicing_threshold: Option<String>,
    pub trial_info: SubscriptionTrialInfoObject,
    pub active_plan_phase_order: Option<i64>,
    pub redeemed_coupon: Option<Never>,
    pub pending_subscription_change: Option<Never>,
    pub fixed_fee_quantity_schedule: Vec<Never>,
    pub price_intervals: Vec<Never>,
    pub adjustment_intervals: Vec<Never>,
    /// Deprecated in Orb but still required, like the two below.
    pub discount_intervals: Vec<Never>,
    pub minimum_intervals: Vec<Never>,
    pub maximum_intervals: Vec<Never>,
}

impl SubscriptionObject {
    /// Builds the wire object for a subscription; `customer` is its owner, embedded in full.
    pub fn new(subscription: &Subscription, customer: &Customer, now: DateTime<Utc>) -> Self {
        let start = subscription.start_date;
        let period = subscription.current_period(now);
        Self {
            id: subscription.id.clone(),
            name: subscription
                .name
                .clone()
                .unwrap_or_else(|| PLAN_NAME.to_owned()),
            customer: CustomerObject::from(customer),
            plan: Some(PlanObject::new(subscription, customer)),
            status: subscription.status.as_str(),
            metadata: subscription.metadata.clone(),
            start_date: start,
            end_date: subscription.end_date,
            created_at: subscription.created_at,
            current_billing_period_start_date: period.map(|(start, _)| start),
            current_billing_period_end_date: period.map(|(_, end)| end),
            billing_cycle_day: start.day(),
            billing_cycle_anchor_configuration: BillingCycleAnchorConfigurationObject::from_date(
                start,
            ),
            net_terms: subscription.net_terms,
            auto_collection: subscription.auto_collection,
            auto_issuance: None,
            default_invoice_memo: subscription.default_invoice_memo.clone(),
            invoicing_threshold: None,
            trial_info: SubscriptionTrialInfoObject {
                end_date: subscription.trial_end_date,
            },
            active_plan_phase_order: None,
            redeemed_coupon: None,
            pending_subscription_change: None,
            fixed_fee_quantity_schedule: Vec::new(),
            price_intervals: Vec::new(),
            adjustment_intervals: Vec::new(),
            discount_intervals: Vec::new(),
            minimum_intervals: Vec::new(),
            maximum_intervals: Vec::new(),
        }
    }
}

/// Orb's `MutatedSubscription`, what subscription create and cancel return: a subscription plus
/// `changed_resources`, which orb-mock never computes (Orb fills it only on request).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MutatedSubscriptionObject {
    #[serde(flatten)]
    pub subscription: SubscriptionObject,
    pub changed_resources: Option<Never>,
}

impl MutatedSubscriptionObject {
    /// Builds the wire object for a subscription that was just created or changed.
    pub fn new(subscription: &Subscription, customer: &Customer, now: DateTime<Utc>) -> Self {
        SubscriptionObject::new(subscription, customer, now).into()
    }
}

impl From<SubscriptionObject> for MutatedSubscriptionObject {
    fn from(subscription: SubscriptionObject) -> Self {
        Self {
            subscription,
            changed_resources: None,
        }
    }
}

/// Orb's `SubscriptionTrialInfo`: when the trial ends (`trial_duration_days` after the start),
/// or null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SubscriptionTrialInfoObject {
    #[serde(serialize_with = "ts::option::serialize")]
    pub end_date: Option<DateTime<Utc>>,
}

/// Orb's `BillingCycleAnchorConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BillingCycleAnchorConfigurationObject {
    /// 1–31.
    pub day: u32,
    /// 1–12.
    pub month: Option<u32>,
    pub year: Option<i32>,
}

impl BillingCycleAnchorConfigurationObject {
    /// Anchors billing on the given date (orb-mock anchors on the subscription's start).
    pub fn from_date(date: DateTime<Utc>) -> Self {
        Self {
            day: date.day(),
            month: Some(date.month()),
            year: Some(date.year()),
        }
    }
}

/// Orb's `Plan`, reduced to what a catalogue-less emulator can say: the subscription's plan id
/// and external plan id, no prices, adjustments or phases.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlanObject {
    pub id: String,
    pub external_plan_id: Option<String>,
    pub name: String,
    pub description: String,
    /// `active`, `archived` or `draft`.
    pub status: &'static str,
    pub version: i64,
    /// Deprecated in Orb but still required.
    pub currency: String,
    pub invoicing_currency: String,
    pub net_terms: Option<i64>,
    pub default_invoice_memo: Option<String>,
    #[schema(inline)]
    pub metadata: Metadata,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
    pub product: ProductObject,
    pub trial_config: TrialConfigObject,
    pub plan_phases: Option<Vec<Never>>,
    pub prices: Vec<Never>,
    pub adjustments: Vec<Never>,
    /// Deprecated in Orb but still required, like the six below.
    pub base_plan: Option<Never>,
    pub base_plan_id: Option<String>,
    pub discount: Option<Never>,
    pub minimum: Option<Never>,
    pub minimum_amount: Option<String>,
    pub maximum: Option<Never>,
    pub maximum_amount: Option<String>,
}

impl PlanObject {
    /// The plan a subscription is on. With no catalogue, its creation time is the
    /// subscription's and its currency the subscription's own, else the customer's (USD when
    /// neither has one).
    pub fn new(subscription: &Subscription, customer: &Customer) -> Self {
        let currency = subscription
            .currency
            .clone()
            .or_else(|| customer.currency.clone())
            .unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
        Self {
            id: subscription.plan_id.clone(),
            external_plan_id: subscription.external_plan_id.clone(),
            name: PLAN_NAME.to_owned(),
            description: String::new(),
            status: "active",
            version: 1,
            invoicing_currency: currency.clone(),
            currency,
            net_terms: None,
            default_invoice_memo: None,
            metadata: Metadata::new(),
            created_at: subscription.created_at,
            product: ProductObject {
                id: "orb_mock_product".to_owned(),
                name: "orb-mock product".to_owned(),
                created_at: subscription.created_at,
            },
            trial_config: TrialConfigObject::default(),
            plan_phases: None,
            prices: Vec::new(),
            adjustments: Vec::new(),
            base_plan: None,
            base_plan_id: None,
            discount: None,
            minimum: None,
            minimum_amount: None,
            maximum: None,
            maximum_amount: None,
        }
    }
}

/// Orb's `Product`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProductObject {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
}

/// Orb's `TrialConfig`: no trial period (`trial_period: null`, unit `days`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TrialConfigObject {
    pub trial_period: Option<i64>,
    /// Orb's only unit is `days`.
    pub trial_period_unit: &'static str,
}

impl Default for TrialConfigObject {
    fn default() -> Self {
        Self {
            trial_period: None,
            trial_period_unit: "days",
        }
    }
}
