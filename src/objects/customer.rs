//! Orb's `Customer` object, and the `{id, deleted}` stub shown while a deletion is in flight.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{money, ts, AddressObject, CustomerMinifiedObject};
use crate::store::model::{Customer, Hierarchy, Linked, Metadata};

/// Orb's `Customer` schema. Fields orb-mock does not model take the values a freshly created
/// Orb customer has (no payment provider, no addresses, no tax id, auto-collection on).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CustomerObject {
    pub id: String,
    pub external_customer_id: Option<String>,
    pub name: String,
    pub email: String,
    pub additional_emails: Vec<String>,
    pub timezone: String,
    pub currency: Option<String>,
    /// Decimal string with two places, e.g. `"0.00"`.
    pub balance: String,
    #[schema(inline)]
    pub metadata: Metadata,
    #[serde(serialize_with = "ts::serialize")]
    pub created_at: DateTime<Utc>,
    pub billing_address: Option<AddressObject>,
    pub shipping_address: Option<AddressObject>,
    /// One of Orb's provider names when set; orb-mock integrates with none.
    pub payment_provider: Option<String>,
    pub payment_provider_id: Option<String>,
    pub portal_url: Option<String>,
    pub tax_id: Option<TaxIdObject>,
    pub auto_collection: bool,
    pub auto_issuance: Option<bool>,
    pub exempt_from_automated_tax: Option<bool>,
    pub automatic_tax_enabled: Option<bool>,
    pub email_delivery: bool,
    pub hierarchy: CustomerHierarchyObject,
    pub reporting_configuration: Option<ReportingConfigurationObject>,
    pub accounting_sync_configuration: Option<AccountingSyncObject>,
    pub payment_configuration: Option<PaymentConfigurationObject>,
}

impl From<&Customer> for CustomerObject {
    fn from(customer: &Customer) -> Self {
        let tax = customer.profile.tax.as_ref();
        Self {
            id: customer.id.clone(),
            external_customer_id: customer.external_customer_id.clone(),
            name: customer.name.clone(),
            email: customer.email.clone(),
            additional_emails: customer.profile.additional_emails.clone(),
            timezone: customer.timezone.clone(),
            currency: customer.currency.clone(),
            balance: money(customer.balance),
            metadata: customer.metadata.clone(),
            created_at: customer.created_at,
            billing_address: customer
                .profile
                .billing_address
                .as_ref()
                .map(AddressObject::from),
            shipping_address: customer
                .profile
                .shipping_address
                .as_ref()
                .map(AddressObject::from),
            payment_provider: customer.profile.payment_provider.clone(),
            payment_provider_id: customer.profile.payment_provider_id.clone(),
            portal_url: None,
            tax_id: customer.profile.tax_id.as_ref().map(|tax_id| TaxIdObject {
                country: tax_id.country.clone(),
                kind: tax_id.kind.clone(),
                value: tax_id.value.clone(),
            }),
            // Orb's defaults for a customer created without these options.
            auto_collection: customer.profile.auto_collection,
            auto_issuance: customer.profile.auto_issuance,
            exempt_from_automated_tax: Some(tax.is_some_and(|tax| tax.tax_exempt)),
            automatic_tax_enabled: Some(
                tax.and_then(|tax| tax.automatic_tax_enabled)
                    .unwrap_or(false),
            ),
            payment_configuration: customer.profile.payment.as_ref().map(|providers| {
                PaymentConfigurationObject {
                    payment_providers: providers
                        .iter()
                        .map(|item| PaymentConfigurationItemObject {
                            provider_type: item.provider_type.clone(),
                            excluded_payment_method_types: item
                                .excluded_payment_method_types
                                .clone(),
                            default_shared_payment_token: item.default_shared_payment_token.clone(),
                        })
                        .collect(),
                }
            }),
            reporting_configuration: customer
                .profile
                .reporting_exempt
                .map(|exempt| ReportingConfigurationObject { exempt }),
            accounting_sync_configuration: customer.profile.accounting_sync.as_ref().map(|sync| {
                AccountingSyncObject {
                    excluded: sync.excluded,
                    accounting_providers: sync
                        .accounting_providers
                        .iter()
                        .map(|provider| AccountingProviderObject {
                            provider_type: provider.provider_type.clone(),
                            external_provider_id: Some(provider.external_provider_id.clone()),
                        })
                        .collect(),
                }
            }),
            email_delivery: customer.profile.email_delivery,
            hierarchy: CustomerHierarchyObject::from(&customer.profile.hierarchy),
        }
    }
}

/// Orb's `CustomerHierarchy`: the customer's parent, or its children; both keys are required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CustomerHierarchyObject {
    pub parent: Option<CustomerMinifiedObject>,
    pub children: Vec<CustomerMinifiedObject>,
}

impl From<&Hierarchy> for CustomerHierarchyObject {
    fn from(hierarchy: &Hierarchy) -> Self {
        let minified = |linked: &Linked| CustomerMinifiedObject {
            id: linked.id.clone(),
            external_customer_id: linked.external_customer_id.clone(),
        };
        CustomerHierarchyObject {
            parent: hierarchy.parent.as_ref().map(minified),
            children: hierarchy.children.iter().map(minified).collect(),
        }
    }
}

/// What GET and list show for a customer whose deletion has been accepted but whose cascade
/// has not yet run: `{"id": "...", "deleted": true}`. Not an Orb schema; it mirrors Orb's
/// asynchronous-deletion behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeletedCustomerObject {
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

impl DeletedCustomerObject {
    /// The stub for the customer with this Orb id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            deleted: true,
        }
    }
}

impl From<&Customer> for DeletedCustomerObject {
    fn from(customer: &Customer) -> Self {
        Self::new(customer.id.clone())
    }
}

/// Orb's `CustomerTaxId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TaxIdObject {
    pub country: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// Orb's `ReportingConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReportingConfigurationObject {
    pub exempt: bool,
}

/// Orb's `AccountingSyncConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccountingSyncObject {
    pub excluded: bool,
    pub accounting_providers: Vec<AccountingProviderObject>,
}

/// Orb's `AccountingProvider`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccountingProviderObject {
    pub provider_type: String,
    pub external_provider_id: Option<String>,
}

/// Orb's `PaymentConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentConfigurationObject {
    pub payment_providers: Vec<PaymentConfigurationItemObject>,
}

/// Orb's `PaymentConfigurationItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentConfigurationItemObject {
    pub provider_type: String,
    pub excluded_payment_method_types: Vec<String>,
    pub default_shared_payment_token: Option<String>,
}
