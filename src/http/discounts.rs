//! Orb's `Discount` as `POST /invoices` takes it, validated field by field ([`discount`]). The
//! invoice shows it as [`crate::objects::discount_object`].

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::validate::Problems;
use crate::store::model::{DiscountKind, InvoiceDiscount, PercentageTier, PriceFilter};

const TYPES: [&str; 5] = [
    "percentage",
    "amount",
    "trial",
    "tiered_percentage",
    "usage",
];
const COMMON: [&str; 4] = ["discount_type", "applies_to_price_ids", "filters", "reason"];
const FILTER_FIELDS: [&str; 5] = [
    "price_id",
    "item_id",
    "price_type",
    "currency",
    "pricing_unit_id",
];

/// The discount a body gives: `Some(None)` when absent or `null`, `None` when it has problems
/// (each pushed, named `discount.<key>`).
pub fn discount(
    p: &mut Problems,
    field: &str,
    value: Option<Value>,
) -> Option<Option<InvoiceDiscount>> {
    let object = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Object(object)) => object,
        Some(other) => {
            p.push(field, format!("expected a discount object, got {other}"));
            return None;
        }
    };
    let at = |key: &str| format!("{field}.{key}");
    let kind = match object.get("discount_type") {
        Some(Value::String(kind)) if TYPES.contains(&kind.as_str()) => kind.as_str(),
        other => {
            p.push(
                &at("discount_type"),
                format!("must be one of {TYPES:?}, got {}", shown(other)),
            );
            return None;
        }
    };
    let own: &[&str] = match kind {
        "percentage" => &["percentage_discount"],
        "amount" => &["amount_discount"],
        "trial" => &["trial_amount_discount", "trial_percentage_discount"],
        "tiered_percentage" => &["tiers"],
        _ => &["usage_discount"],
    };
    let before = p.len();
    for key in object.keys() {
        if !COMMON.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            p.push(&at(key), format!("is not a property of a {kind} discount"));
        }
    }
    let kind = match kind {
        "percentage" => fraction(
            p,
            &at("percentage_discount"),
            object.get("percentage_discount"),
            true,
        )
        .map(DiscountKind::Percentage),
        "amount" => amount(
            p,
            &at("amount_discount"),
            object.get("amount_discount"),
            true,
        )
        .map(DiscountKind::Amount),
        "trial" => {
            let amount = amount(
                p,
                &at("trial_amount_discount"),
                object.get("trial_amount_discount"),
                false,
            );
            let percentage = fraction(
                p,
                &at("trial_percentage_discount"),
                object.get("trial_percentage_discount"),
                false,
            );
            Some(DiscountKind::Trial { amount, percentage })
        }
        "tiered_percentage" => {
            tiers(p, &at("tiers"), object.get("tiers")).map(DiscountKind::TieredPercentage)
        }
        _ => {
            p.push(
                &at("discount_type"),
                "orb-mock does not emulate a usage discount: a one-off invoice has no usage",
            );
            None
        }
    };
    let applies_to_price_ids = strings(
        p,
        &at("applies_to_price_ids"),
        object.get("applies_to_price_ids"),
    );
    let filters = filters(p, &at("filters"), object.get("filters"));
    let reason = match object.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(reason)) => Some(reason.clone()),
        Some(other) => {
            p.push(&at("reason"), format!("expected a string, got {other}"));
            None
        }
    };
    if p.len() > before {
        return None;
    }
    Some(Some(InvoiceDiscount {
        kind: kind?,
        applies_to_price_ids,
        filters,
        reason,
    }))
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

/// A number from 0 to 1.
fn fraction(
    p: &mut Problems,
    field: &str,
    value: Option<&Value>,
    required: bool,
) -> Option<Decimal> {
    match value {
        None | Some(Value::Null) if !required => None,
        Some(Value::Number(number)) => match Decimal::from_str(&number.to_string())
            .or_else(|_| Decimal::from_scientific(&number.to_string()))
        {
            Ok(fraction) if (Decimal::ZERO..=Decimal::ONE).contains(&fraction) => Some(fraction),
            _ => {
                p.push(field, format!("must be a number from 0 to 1, got {number}"));
                None
            }
        },
        other => {
            p.push(
                field,
                format!("expected a number from 0 to 1, got {}", shown(other)),
            );
            None
        }
    }
}

/// A non-negative decimal amount, as a string (Orb's money) or a number.
fn amount(p: &mut Problems, field: &str, value: Option<&Value>, required: bool) -> Option<Decimal> {
    match value {
        None | Some(Value::Null) if !required => None,
        None | Some(Value::Null) => {
            p.push(field, "is required");
            None
        }
        Some(value) => match p.decimal(field, Some(value.clone())) {
            Some(amount) if amount >= Decimal::ZERO => Some(amount),
            Some(amount) => {
                p.push(field, format!("must not be negative, got {amount}"));
                None
            }
            None => None,
        },
    }
}

fn strings(p: &mut Problems, field: &str, value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(other) => {
            p.push(field, format!("expected an array of strings, got {other}"));
            None
        }
    }
}

fn filters(p: &mut Problems, field: &str, value: Option<&Value>) -> Option<Vec<PriceFilter>> {
    let items = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(other) => {
            p.push(
                field,
                format!("expected an array of price filters, got {other}"),
            );
            return None;
        }
    };
    let mut filters = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |key: &str| format!("{field}[{i}].{key}");
        let Some(object) = item.as_object() else {
            p.push(
                &format!("{field}[{i}]"),
                format!("expected a price filter, got {item}"),
            );
            continue;
        };
        let word = |p: &mut Problems, key: &str, allowed: &[&str]| match object.get(key) {
            Some(Value::String(text)) if allowed.contains(&text.as_str()) => Some(text.clone()),
            other => {
                p.push(
                    &at(key),
                    format!("must be one of {allowed:?}, got {}", shown(other)),
                );
                None
            }
        };
        let field_name = word(p, "field", &FILTER_FIELDS);
        let operator = word(p, "operator", &["includes", "excludes"]);
        let values = match object.get("values") {
            Some(Value::Array(values))
                if !values.is_empty() && values.iter().all(Value::is_string) =>
            {
                Some(
                    values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                )
            }
            other => {
                p.push(
                    &at("values"),
                    format!(
                        "expected a non-empty array of strings, got {}",
                        shown(other)
                    ),
                );
                None
            }
        };
        for key in object.keys() {
            if !["field", "operator", "values"].contains(&key.as_str()) {
                p.push(&at(key), "is not a property of a price filter");
            }
        }
        if let (Some(field), Some(operator), Some(values)) = (field_name, operator, values) {
            filters.push(PriceFilter {
                field,
                operator,
                values,
            });
        }
    }
    Some(filters)
}

/// Contiguous, ascending bands: each starts where the one before ends, and only the last is
/// open-ended.
fn tiers(p: &mut Problems, field: &str, value: Option<&Value>) -> Option<Vec<PercentageTier>> {
    let Some(Value::Array(items)) = value.filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
    else {
        p.push(
            field,
            format!("expected a non-empty array of tiers, got {}", shown(value)),
        );
        return None;
    };
    let mut tiers = Vec::new();
    let before = p.len();
    for (i, item) in items.iter().enumerate() {
        let at = |key: &str| format!("{field}[{i}].{key}");
        let Some(object) = item.as_object() else {
            p.push(
                &format!("{field}[{i}]"),
                format!("expected a tier, got {item}"),
            );
            continue;
        };
        let lower = amount(p, &at("lower_bound"), object.get("lower_bound"), true);
        let upper = amount(p, &at("upper_bound"), object.get("upper_bound"), false);
        let percentage = fraction(p, &at("percentage"), object.get("percentage"), true);
        if let (Some(lower), Some(percentage)) = (lower, percentage) {
            let last = i + 1 == items.len();
            match (upper, tiers.last()) {
                (None, _) if !last => {
                    p.push(&at("upper_bound"), "only the last tier is open-ended")
                }
                (Some(upper), _) if upper <= lower => {
                    p.push(&at("upper_bound"), "must be above lower_bound")
                }
                (
                    _,
                    Some(PercentageTier {
                        upper_bound: Some(end),
                        ..
                    }),
                ) if *end != lower => p.push(
                    &at("lower_bound"),
                    format!("must be {end}, where the tier before ends (tiers are contiguous)"),
                ),
                _ => {}
            }
            tiers.push(PercentageTier {
                lower_bound: lower,
                upper_bound: upper,
                percentage,
            });
        }
    }
    (p.len() == before).then_some(tiers)
}
