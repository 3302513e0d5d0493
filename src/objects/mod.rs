//! The JSON objects orb-mock sends: Orb's response shapes and webhook event bodies, built from the
//! store's domain types.
//!
//! This module owns the wire format of every resource body (customers, invoices, subscriptions,
//! list pages) and the formatting rules they share: timestamps, money strings and the fields
//! orb-mock never fills. Orb's official SDKs validate responses strictly, so each object carries
//! every key its Orb schema marks `required`, with the schema's type and nullability, all the way
//! down. Handlers serialise these types and nothing else.

mod customer;
mod discount;
mod event;
mod invoice;
mod page;
mod subscription;

#[cfg(test)]
mod tests;

pub use customer::{CustomerHierarchyObject, CustomerObject, DeletedCustomerObject};
pub use discount::discount_object;
pub use event::event_body;
pub use invoice::{
    BillingCycleConfigurationObject, InvoiceAutoCollectionObject, InvoiceLineItemObject,
    InvoiceObject, InvoiceSource, ItemSlimObject, SubscriptionMinifiedObject, UnitConfigObject,
    UnitPriceObject,
};
pub use page::{Page, PaginationMetadata};
pub use subscription::{
    BillingCycleAnchorConfigurationObject, MutatedSubscriptionObject, PlanObject, ProductObject,
    SubscriptionObject, SubscriptionTrialInfoObject, TrialConfigObject,
};

use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// An uninhabited type for Orb fields orb-mock never fills: `Option<Never>` always serialises as
/// `null` and `Vec<Never>` as `[]`. Using it instead of a loose JSON value makes "always empty"
/// a property of the type, so no code path can put a half-shaped object there by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Never {}

/// Orb's `Address`. orb-mock keeps no addresses, so this only ever appears as `null`, but the
/// type documents that a non-null address must carry all six keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AddressObject {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl From<&crate::store::model::Address> for AddressObject {
    fn from(address: &crate::store::model::Address) -> Self {
        AddressObject {
            line1: address.line1.clone(),
            line2: address.line2.clone(),
            city: address.city.clone(),
            state: address.state.clone(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
        }
    }
}

/// Orb's `CustomerMinified`: how invoices (and customer hierarchies) point at a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CustomerMinifiedObject {
    pub id: String,
    pub external_customer_id: Option<String>,
}

/// Formats an amount of money the way Orb does: a decimal string with exactly two places
/// (`8` → `"8.00"`, `-1.5` → `"-1.50"`).
pub fn money(amount: Decimal) -> String {
    let mut rounded = amount.round_dp(2);
    // `round_dp` never adds places, so pad explicitly: Orb always shows cents.
    rounded.rescale(2);
    rounded.to_string()
}

/// Formats a per-unit price: at least two places, more when the domain value has them
/// (`4` → `"4.00"`, `0.0025` stays `"0.0025"`), because unit prices may be sub-cent.
pub fn unit_amount(amount: Decimal) -> String {
    let mut normalized = amount.normalize();
    if normalized.scale() < 2 {
        normalized.rescale(2);
    }
    normalized.to_string()
}

/// Timestamps as Orb writes them: RFC 3339, seconds precision, `+00:00` rather than `Z`
/// (e.g. `2026-01-05T10:00:00+00:00`). Use with `#[serde(serialize_with = "ts::serialize")]`,
/// or `ts::option::serialize` for nullable fields.
pub mod ts {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    /// The one place the timestamp format is decided.
    pub fn format(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// Serialises a timestamp in Orb's format.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    /// Nullable timestamps: `None` is `null`.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        /// Serialises an optional timestamp in Orb's format, `None` as `null`.
        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}
