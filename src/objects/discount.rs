//! Orb's `InvoiceLevelDiscount`, as an invoice shows the discount it was created with.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::money;
use crate::store::model::{DiscountKind, InvoiceDiscount};

fn number(value: Decimal) -> Value {
    value.to_f64().map_or(Value::Null, |n| json!(n))
}

/// Orb's `InvoiceLevelDiscount` for a stored discount.
pub fn discount_object(discount: &InvoiceDiscount) -> Value {
    let mut object = Map::new();
    object.insert("discount_type".into(), json!(discount.discount_type()));
    object.insert(
        "applies_to_price_ids".into(),
        json!(discount.applies_to_price_ids),
    );
    object.insert(
        "filters".into(),
        match &discount.filters {
            None => Value::Null,
            Some(filters) => filters
                .iter()
                .map(|f| json!({"field": f.field, "operator": f.operator, "values": f.values}))
                .collect(),
        },
    );
    object.insert("reason".into(), json!(discount.reason));
    match &discount.kind {
        DiscountKind::Percentage(fraction) => {
            object.insert("percentage_discount".into(), number(*fraction));
        }
        DiscountKind::Amount(amount) => {
            object.insert("amount_discount".into(), json!(money(*amount)));
        }
        DiscountKind::Trial { amount, percentage } => {
            object.insert(
                "trial_amount_discount".into(),
                amount.map_or(Value::Null, |a| json!(money(a))),
            );
            object.insert(
                "trial_percentage_discount".into(),
                percentage.map_or(Value::Null, number),
            );
        }
        DiscountKind::TieredPercentage(tiers) => {
            object.insert(
                "tiers".into(),
                tiers
                    .iter()
                    .map(|t| {
                        json!({"lower_bound": number(t.lower_bound),
                               "upper_bound": t.upper_bound.map_or(Value::Null, number),
                               "percentage": number(t.percentage)})
                    })
                    .collect(),
            );
        }
    }
    Value::Object(object)
}

/// Orb's `InvoiceLevelDiscount` as orb-mock's document describes it: `discount_type` and the
/// keys of each shape ([`discount_object`] builds the value).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct InvoiceLevelDiscountObject {
    /// `percentage`, `amount`, `trial` or `tiered_percentage`.
    discount_type: String,
    applies_to_price_ids: Option<Vec<String>>,
    filters: Option<Vec<PriceFilterObject>>,
    reason: Option<String>,
    /// `percentage`: 0–1.
    percentage_discount: Option<f64>,
    /// `amount`.
    amount_discount: Option<String>,
    /// `trial`.
    trial_amount_discount: Option<String>,
    trial_percentage_discount: Option<f64>,
    /// `tiered_percentage`.
    tiers: Option<Vec<PercentageTierObject>>,
}

/// Orb's `PriceFilter`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PriceFilterObject {
    field: String,
    operator: String,
    values: Vec<String>,
}

/// Orb's `PercentageTier`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PercentageTierObject {
    lower_bound: f64,
    upper_bound: Option<f64>,
    percentage: f64,
}
