//! What orb-mock refuses rather than drops (README, "What is emulated, and what is not").
//!
//! On every route orb-mock models, each request property and query parameter of Orb's document
//! is either honoured (validated, stored, returned and used) or listed here. A request that
//! sets a listed one to anything but `null` is answered 400 `feature-not-available` naming it:
//! a test that relies on it fails at once instead of passing against orb-mock and failing
//! against Orb. A test (`every_documented_input_is_honoured_or_refused`) holds this table and
//! orb-mock's own OpenAPI document together to Orb's: nothing documented is left out of both.

use axum::http::Method;

use super::error::ApiError;

/// One modelled route's documented inputs that orb-mock does not honour.
pub struct Unhonoured {
    pub method: Method,
    /// The route as in Orb's document (no `/v1`).
    pub route: &'static str,
    /// Top-level request body properties.
    pub body: &'static [&'static str],
    /// Query parameters, without a trailing `[]`.
    pub query: &'static [&'static str],
}

/// Customer properties orb-mock does not model: none on create, and on both edits
/// `default_payment_method_id` (orb-mock keeps no payment methods).
const CUSTOMER_CREATE_BODY: &[&str] = &[];
const CUSTOMER_EDIT_BODY: &[&str] = &["default_payment_method_id"];

pub const UNHONOURED: &[Unhonoured] = &[
    Unhonoured {
        method: Method::POST,
        route: "/customers",
        body: CUSTOMER_CREATE_BODY,
        query: &[],
    },
    Unhonoured {
        method: Method::PUT,
        route: "/customers/{customer_id}",
        body: CUSTOMER_EDIT_BODY,
        query: &[],
    },
    Unhonoured {
        method: Method::PUT,
        route: "/customers/external_customer_id/{external_customer_id}",
        body: CUSTOMER_EDIT_BODY,
        query: &[],
    },
    Unhonoured {
        method: Method::POST,
        route: "/subscriptions",
        body: &[
            "add_adjustments",
            "add_prices",
            "align_billing_with_subscription_start_date",
            "auto_issuance",
            "aws_region",
            "billing_cycle_anchor_configuration",
            "coupon_redemption_code",
            "credits_overage_rate",
            "external_marketplace",
            "external_marketplace_reporting_id",
            "filter",
            "initial_phase_order",
            "invoicing_threshold",
            "per_credit_overage_amount",
            "plan_version_number",
            "price_overrides",
            "remove_adjustments",
            "remove_prices",
            "replace_adjustments",
            "replace_prices",
            "usage_customer_ids",
        ],
        query: &[],
    },
    Unhonoured {
        method: Method::POST,
        route: "/subscriptions/{subscription_id}/cancel",
        body: &["allow_invoice_credit_or_void"],
        query: &[],
    },
];

/// The entry for `method` on `route` (a matched route template, with or without `/v1`).
fn entry(method: &Method, route: &str) -> Option<&'static Unhonoured> {
    let route = super::orb_path(route);
    UNHONOURED
        .iter()
        .find(|entry| entry.method == *method && entry.route == route)
}

fn refusal(what: &str, name: &str, method: &Method, route: &str) -> ApiError {
    ApiError::FeatureNotAvailable(format!(
        "orb-mock does not emulate the {what} `{name}` on `{method} {}`; leave it out (or null), \
         or see the README, \"What is emulated, and what is not\".",
        super::orb_path(route)
    ))
}

/// Refuses a body that sets an unhonoured property of this route to anything but `null`.
pub fn check_body(
    method: &Method,
    route: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    let Some(entry) = entry(method, route) else {
        return Ok(());
    };
    match entry
        .body
        .iter()
        .find(|name| body.get(**name).is_some_and(|value| !value.is_null()))
    {
        Some(name) => Err(refusal("request property", name, method, route)),
        None => Ok(()),
    }
}

/// Refuses a query string that gives an unhonoured parameter of this route.
pub fn check_query<'a>(
    method: &Method,
    route: &str,
    mut keys: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    let Some(entry) = entry(method, route) else {
        return Ok(());
    };
    match keys.find(|key| entry.query.contains(key)) {
        Some(name) => Err(refusal("query parameter", name, method, route)),
        None => Ok(()),
    }
}
