//! Orb's customer routes: create, fetch (by id and by external id), edit, list, and delete.
//!
//! Reference: <https://docs.withorb.com/api-reference/customer/create-customer> and siblings;
//! deletion: <https://docs.withorb.com/api-reference/customer/delete-customer>.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::{page_body, Account, Body, PathId, QueryParams, Resource};
use super::tax_ids::{TAX_ID_COUNTRIES, TAX_ID_TYPES};
use super::validate::Problems;
use super::AppState;
use crate::objects::{CustomerObject, DeletedCustomerObject, Page};
use crate::store::model::{
    AccountingProvider, AccountingSync, Address, Customer, CustomerProfile, CustomerState,
    HierarchyChange, PaymentSettings, TaxId, TaxSettings,
};
use crate::store::{CustomerFilter, CustomerPatch, CustomerRef, DeleteOutcome, NewCustomer};

/// Customers, invoices or subscriptions addressed by id in a path.
pub struct Customers;

impl Resource for Customers {
    const KIND: &'static str = "Customer";
}

/// The name this module's list carries in its cursors.
const LIST: &str = "customers";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route(
            "/customers/{customer_id}",
            get(fetch).put(update).delete(delete),
        )
        .route(
            "/customers/external_customer_id/{external_customer_id}",
            get(fetch_external).put(update_external),
        )
}

/// A customer as fetch and list show it: the full object, or `{"id", "deleted": true}` while
/// its deletion is in progress (README, "Deleting a customer").
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustomerView {
    Live(Box<CustomerObject>),
    Deleting(DeletedCustomerObject),
}

impl From<&Customer> for CustomerView {
    fn from(customer: &Customer) -> Self {
        match customer.state {
            CustomerState::Deleting => {
                CustomerView::Deleting(DeletedCustomerObject::from(customer))
            }
            _ => CustomerView::Live(Box::new(CustomerObject::from(customer))),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateCustomer {
    #[schema(required = true, value_type = String, max_length = 4096, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: Option<String>,
    #[schema(required = true, value_type = String, format = Email, pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    email: Option<String>,
    external_customer_id: Option<String>,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    currency: Option<String>,
    timezone: Option<String>,
    metadata: Option<BTreeMap<String, Option<String>>>,
    billing_address: Option<AddressInput>,
    shipping_address: Option<AddressInput>,
    #[schema(max_items = 49)]
    additional_emails: Option<Vec<String>>,
    auto_collection: Option<bool>,
    email_delivery: Option<bool>,
    #[schema(value_type = Option<PaymentProvider>)]
    payment_provider: Option<String>,
    payment_provider_id: Option<String>,
    tax_id: Option<TaxIdInput>,
    auto_issuance: Option<bool>,
    reporting_configuration: Option<ReportingConfigurationInput>,
    accounting_sync_configuration: Option<AccountingSyncInput>,
    tax_configuration: Option<TaxConfigurationInput>,
    payment_configuration: Option<PaymentConfigurationInput>,
    hierarchy: Option<HierarchyInput>,
}

/// Orb's `CustomerHierarchyConfig`: a parent, or children to add (one level deep).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HierarchyInput {
    /// `null` removes the parent (on an edit).
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<String>)]
    parent_customer_id: Option<Option<String>>,
    child_customer_ids: Option<Vec<String>>,
}

impl Problems {
    /// A hierarchy input as the store takes it; each id must be a non-empty string.
    fn hierarchy(&mut self, field: &str, value: Option<HierarchyInput>) -> Option<HierarchyChange> {
        let value = value?;
        let parent = match value.parent_customer_id {
            Some(Some(id)) if id.trim().is_empty() => {
                self.push(&format!("{field}.parent_customer_id"), "must not be empty");
                None
            }
            other => other,
        };
        let children = value.child_customer_ids.unwrap_or_default();
        if children.iter().any(|id| id.trim().is_empty()) {
            self.push(
                &format!("{field}.child_customer_ids"),
                "must not contain an empty id",
            );
        }
        Some(HierarchyChange { parent, children })
    }
}

/// Orb's `PaymentConfiguration` as a request gives it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentConfigurationInput {
    payment_providers: Option<Vec<PaymentConfigurationItemInput>>,
}

/// Orb's `PaymentConfigurationItem`: `stripe` is Orb's only provider.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentConfigurationItemInput {
    #[schema(required = true, value_type = PaymentConfigurationProvider)]
    provider_type: Option<String>,
    excluded_payment_method_types: Option<Vec<String>>,
    default_shared_payment_token: Option<String>,
}

/// The providers a payment configuration may name.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum PaymentConfigurationProvider {
    Stripe,
}

/// Orb's `NewReportingConfiguration`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportingConfigurationInput {
    #[schema(required = true, value_type = bool)]
    exempt: Option<bool>,
}

/// Orb's `NewAccountingSyncConfiguration`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountingSyncInput {
    excluded: Option<bool>,
    accounting_providers: Option<Vec<AccountingProviderInput>>,
}

/// Orb's `AccountingProviderConfig`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountingProviderInput {
    #[schema(required = true, value_type = AccountingProviderType)]
    provider_type: Option<String>,
    #[schema(required = true, value_type = String)]
    external_provider_id: Option<String>,
}

/// The accounting providers Orb's document lists.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum AccountingProviderType {
    Quickbooks,
    Netsuite,
}

const ACCOUNTING_PROVIDERS: [&str; 2] = ["quickbooks", "netsuite"];

/// Orb's `NewTaxConfiguration`, one shape per `tax_provider` (only Avalara's takes
/// `tax_exemption_code`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaxConfigurationInput {
    #[schema(required = true, value_type = TaxProvider)]
    tax_provider: Option<String>,
    #[schema(required = true, value_type = bool)]
    tax_exempt: Option<bool>,
    automatic_tax_enabled: Option<bool>,
    tax_exemption_code: Option<String>,
}

/// The tax providers Orb's document lists.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum TaxProvider {
    Avalara,
    Taxjar,
    Sphere,
    Numeral,
    Anrok,
    Stripe,
}

const TAX_PROVIDERS: [&str; 6] = ["avalara", "taxjar", "sphere", "numeral", "anrok", "stripe"];

/// Orb's `CustomerTaxId` as a request gives it: all three parts required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaxIdInput {
    #[schema(required = true, value_type = String)]
    country: Option<String>,
    #[serde(rename = "type")]
    #[schema(required = true, value_type = String)]
    kind: Option<String>,
    #[schema(required = true, value_type = String)]
    value: Option<String>,
}

/// Orb's `AddressInput`: every part optional.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddressInput {
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

/// The payment providers Orb's document lists.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) enum PaymentProvider {
    #[serde(rename = "quickbooks")]
    Quickbooks,
    #[serde(rename = "bill.com")]
    BillCom,
    #[serde(rename = "stripe_charge")]
    StripeCharge,
    #[serde(rename = "stripe_invoice")]
    StripeInvoice,
    #[serde(rename = "netsuite")]
    Netsuite,
    #[serde(rename = "adyen")]
    Adyen,
}

const PAYMENT_PROVIDERS: [&str; 6] = [
    "quickbooks",
    "bill.com",
    "stripe_charge",
    "stripe_invoice",
    "netsuite",
    "adyen",
];

/// Most email addresses a customer has, its own included (Orb's limit).
const MAX_EMAILS: usize = 50;

impl Problems {
    fn address(&mut self, field: &str, value: Option<AddressInput>) -> Option<Address> {
        let value = value?;
        let mut part =
            |name: &str, text: Option<String>| self.text(&format!("{field}.{name}"), text, false);
        Some(Address {
            line1: part("line1", value.line1),
            line2: part("line2", value.line2),
            city: part("city", value.city),
            state: part("state", value.state),
            postal_code: part("postal_code", value.postal_code),
            country: part("country", value.country),
        })
    }

    fn additional_emails(
        &mut self,
        field: &str,
        value: Option<Vec<String>>,
    ) -> Option<Vec<String>> {
        let emails = value?;
        if emails.len() >= MAX_EMAILS {
            self.push(
                field,
                format!(
                    "at most {} addresses (with the customer's own, {MAX_EMAILS})",
                    MAX_EMAILS - 1
                ),
            );
        }
        let mut valid = Vec::with_capacity(emails.len());
        for (index, email) in emails.into_iter().enumerate() {
            valid.extend(self.email(&format!("{field}[{index}]"), Some(email)));
        }
        Some(valid)
    }

    fn tax_id(&mut self, field: &str, value: Option<TaxIdInput>) -> Option<TaxId> {
        let value = value?;
        let mut one_of = |name: &str, text: Option<String>, allowed: &[&str], what: &str| {
            let field = format!("{field}.{name}");
            let text = self.require(&field, text)?;
            if allowed.contains(&text.as_str()) {
                Some(text)
            } else {
                self.push(&field, format!("{text:?} is not {what} Orb accepts"));
                None
            }
        };
        let country = one_of("country", value.country, &TAX_ID_COUNTRIES, "a country");
        let kind = one_of("type", value.kind, &TAX_ID_TYPES, "a tax id type");
        let id_value = self.require(&format!("{field}.value"), value.value);
        let id_value = self.text(&format!("{field}.value"), id_value, true);
        Some(TaxId {
            country: country?,
            kind: kind?,
            value: id_value?,
        })
    }

    /// `value` must be one of `allowed`.
    fn one_of(&mut self, field: &str, value: String, allowed: &[&str]) -> Option<String> {
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.push(field, format!("{value:?} is not one of {allowed:?}"));
            None
        }
    }

    fn payment(
        &mut self,
        field: &str,
        value: Option<PaymentConfigurationInput>,
    ) -> Option<Vec<PaymentSettings>> {
        let mut providers = Vec::new();
        for (at, item) in value?.payment_providers.into_iter().flatten().enumerate() {
            let at = format!("{field}.payment_providers[{at}]");
            let kind = self
                .require(&format!("{at}.provider_type"), item.provider_type)
                .and_then(|kind| self.one_of(&format!("{at}.provider_type"), kind, &["stripe"]));
            let mut excluded = Vec::new();
            for (index, method) in item
                .excluded_payment_method_types
                .into_iter()
                .flatten()
                .enumerate()
            {
                let field = format!("{at}.excluded_payment_method_types[{index}]");
                excluded.extend(self.text(&field, Some(method), true));
            }
            let token = self.text(
                &format!("{at}.default_shared_payment_token"),
                item.default_shared_payment_token,
                true,
            );
            if let Some(provider_type) = kind {
                providers.push(PaymentSettings {
                    provider_type,
                    excluded_payment_method_types: excluded,
                    default_shared_payment_token: token,
                });
            }
        }
        Some(providers)
    }

    fn reporting(
        &mut self,
        field: &str,
        value: Option<ReportingConfigurationInput>,
    ) -> Option<bool> {
        self.require(&format!("{field}.exempt"), value?.exempt)
    }

    fn accounting_sync(
        &mut self,
        field: &str,
        value: Option<AccountingSyncInput>,
    ) -> Option<AccountingSync> {
        let value = value?;
        let mut providers = Vec::new();
        for (at, provider) in value.accounting_providers.into_iter().flatten().enumerate() {
            let at = format!("{field}.accounting_providers[{at}]");
            let kind = self
                .require(&format!("{at}.provider_type"), provider.provider_type)
                .and_then(|kind| {
                    self.one_of(&format!("{at}.provider_type"), kind, &ACCOUNTING_PROVIDERS)
                });
            let external = self.require(
                &format!("{at}.external_provider_id"),
                provider.external_provider_id,
            );
            let external = self.text(&format!("{at}.external_provider_id"), external, true);
            if let (Some(provider_type), Some(external_provider_id)) = (kind, external) {
                providers.push(AccountingProvider {
                    provider_type,
                    external_provider_id,
                });
            }
        }
        Some(AccountingSync {
            excluded: value.excluded.unwrap_or(false),
            accounting_providers: providers,
        })
    }

    fn tax(&mut self, field: &str, value: Option<TaxConfigurationInput>) -> Option<TaxSettings> {
        let value = value?;
        let provider = self
            .require(&format!("{field}.tax_provider"), value.tax_provider)
            .and_then(|provider| {
                self.one_of(&format!("{field}.tax_provider"), provider, &TAX_PROVIDERS)
            });
        let exempt = self.require(&format!("{field}.tax_exempt"), value.tax_exempt);
        let code = self.text(
            &format!("{field}.tax_exemption_code"),
            value.tax_exemption_code,
            false,
        );
        if code.is_some() && provider.as_deref().is_some_and(|p| p != "avalara") {
            self.push(
                &format!("{field}.tax_exemption_code"),
                "only the avalara configuration takes a tax exemption code",
            );
        }
        Some(TaxSettings {
            tax_provider: provider?,
            tax_exempt: exempt?,
            automatic_tax_enabled: value.automatic_tax_enabled,
            tax_exemption_code: code,
        })
    }

    fn payment_provider(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = value?;
        if PAYMENT_PROVIDERS.contains(&value.as_str()) {
            Some(value)
        } else {
            self.push(field, format!("must be one of {PAYMENT_PROVIDERS:?}"));
            None
        }
    }
}

impl CreateCustomer {
    /// The customer this body asks for, or the problems with it (also used by fixtures).
    pub(crate) fn validate(self, problems: &mut Problems) -> Option<NewCustomer> {
        let name = problems.require("name", self.name);
        let name = problems.text("name", name, true);
        let email = problems.require("email", self.email);
        let email = problems.email("email", email);
        let external_customer_id =
            problems.text("external_customer_id", self.external_customer_id, true);
        let currency = problems.currency("currency", self.currency);
        let timezone = problems.timezone("timezone", self.timezone);
        let metadata = problems.new_metadata("metadata", self.metadata);
        let defaults = CustomerProfile::default();
        let profile = CustomerProfile {
            billing_address: problems.address("billing_address", self.billing_address),
            shipping_address: problems.address("shipping_address", self.shipping_address),
            additional_emails: problems
                .additional_emails("additional_emails", self.additional_emails)
                .unwrap_or_default(),
            auto_collection: self.auto_collection.unwrap_or(defaults.auto_collection),
            email_delivery: self.email_delivery.unwrap_or(defaults.email_delivery),
            payment_provider: problems.payment_provider("payment_provider", self.payment_provider),
            payment_provider_id: problems.text(
                "payment_provider_id",
                self.payment_provider_id,
                true,
            ),
            tax_id: problems.tax_id("tax_id", self.tax_id),
            auto_issuance: self.auto_issuance,
            reporting_exempt: problems
                .reporting("reporting_configuration", self.reporting_configuration),
            accounting_sync: problems.accounting_sync(
                "accounting_sync_configuration",
                self.accounting_sync_configuration,
            ),
            tax: problems.tax("tax_configuration", self.tax_configuration),
            payment: problems.payment("payment_configuration", self.payment_configuration),
            hierarchy: Default::default(),
        };
        Some(NewCustomer {
            hierarchy: problems.hierarchy("hierarchy", self.hierarchy),
            profile,
            id: None,
            name: name?,
            email: email?,
            external_customer_id,
            currency,
            timezone,
            metadata,
        })
    }
}

async fn create(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<CreateCustomer>,
) -> ApiResult<Response> {
    let mut problems = Problems::default();
    let new = body.validate(&mut problems);
    let new = problems.finish(|| new)?;
    let customer = state
        .store
        .create_customer(account.as_str(), new, state.now(&account).await?)
        .await?;
    Ok((StatusCode::CREATED, Json(CustomerObject::from(&customer))).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    account: Account,
    customer_id: PathId<Customers>,
) -> ApiResult<Json<CustomerView>> {
    let id = customer_id.as_str();
    show(&state, &account, CustomerRef::Id(id.to_owned())).await
}

async fn fetch_external(
    State(state): State<AppState>,
    account: Account,
    external_id: PathId<Customers>,
) -> ApiResult<Json<CustomerView>> {
    let external_id = external_id.as_str();
    show(
        &state,
        &account,
        CustomerRef::External(external_id.to_owned()),
    )
    .await
}

async fn show(
    state: &AppState,
    account: &Account,
    by: CustomerRef,
) -> ApiResult<Json<CustomerView>> {
    match state.store.customer(account.as_str(), &by).await? {
        Some(customer) => Ok(Json(CustomerView::from(&customer))),
        None => Err(not_found(&by)),
    }
}

fn not_found(by: &CustomerRef) -> ApiError {
    match by {
        CustomerRef::Id(id) | CustomerRef::External(id) => ApiError::not_found(Customers::KIND, id),
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateCustomer {
    #[schema(
        max_length = 4096,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: Option<String>,
    #[schema(format = Email, pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    email: Option<String>,
    /// Can be set only while the customer has none.
    currency: Option<String>,
    /// Can be set only while the customer has none.
    external_customer_id: Option<String>,
    /// `Some(None)` is an explicit `"metadata": null`, which clears every key.
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    metadata: Option<Option<BTreeMap<String, Option<String>>>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<AddressInput>)]
    billing_address: Option<Option<AddressInput>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<AddressInput>)]
    shipping_address: Option<Option<AddressInput>>,
    #[schema(max_items = 49)]
    additional_emails: Option<Vec<String>>,
    auto_collection: Option<bool>,
    email_delivery: Option<bool>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<PaymentProvider>)]
    payment_provider: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<String>)]
    payment_provider_id: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<TaxIdInput>)]
    tax_id: Option<Option<TaxIdInput>>,
    /// `null`: the account's setting.
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<bool>)]
    auto_issuance: Option<Option<bool>>,
    /// `null` removes it, as for the two below.
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<ReportingConfigurationInput>)]
    reporting_configuration: Option<Option<ReportingConfigurationInput>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<AccountingSyncInput>)]
    accounting_sync_configuration: Option<Option<AccountingSyncInput>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<TaxConfigurationInput>)]
    tax_configuration: Option<Option<TaxConfigurationInput>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<PaymentConfigurationInput>)]
    payment_configuration: Option<Option<PaymentConfigurationInput>>,
    /// Sets the parent (`null`: removes it) and adds children; `"hierarchy": null` changes
    /// nothing.
    hierarchy: Option<HierarchyInput>,
}

async fn update(
    State(state): State<AppState>,
    account: Account,
    customer_id: PathId<Customers>,
    Body(body): Body<UpdateCustomer>,
) -> ApiResult<Json<CustomerObject>> {
    let id = customer_id.as_str();
    apply_update(&state, &account, CustomerRef::Id(id.to_owned()), body).await
}

async fn update_external(
    State(state): State<AppState>,
    account: Account,
    external_id: PathId<Customers>,
    Body(body): Body<UpdateCustomer>,
) -> ApiResult<Json<CustomerObject>> {
    let external_id = external_id.as_str();
    apply_update(
        &state,
        &account,
        CustomerRef::External(external_id.to_owned()),
        body,
    )
    .await
}

async fn apply_update(
    state: &AppState,
    account: &Account,
    by: CustomerRef,
    body: UpdateCustomer,
) -> ApiResult<Json<CustomerObject>> {
    let mut problems = Problems::default();
    let name = problems.text("name", body.name, true);
    let email = problems.email("email", body.email);
    let currency = problems.currency("currency", body.currency);
    let external_customer_id =
        problems.text("external_customer_id", body.external_customer_id, true);
    let (metadata, clear_metadata) = match body.metadata {
        Some(None) => (None, true),
        Some(Some(map)) => (problems.metadata("metadata", Some(map)), false),
        None => (None, false),
    };
    let billing_address = body
        .billing_address
        .map(|address| problems.address("billing_address", address));
    let shipping_address = body
        .shipping_address
        .map(|address| problems.address("shipping_address", address));
    let additional_emails = problems.additional_emails("additional_emails", body.additional_emails);
    let payment_provider = body
        .payment_provider
        .map(|provider| problems.payment_provider("payment_provider", provider));
    let payment_provider_id = body
        .payment_provider_id
        .map(|id| problems.text("payment_provider_id", id, true));
    let tax_id = body.tax_id.map(|tax_id| problems.tax_id("tax_id", tax_id));
    let reporting_exempt = body
        .reporting_configuration
        .map(|value| problems.reporting("reporting_configuration", value));
    let accounting_sync = body
        .accounting_sync_configuration
        .map(|value| problems.accounting_sync("accounting_sync_configuration", value));
    let tax = body
        .tax_configuration
        .map(|value| problems.tax("tax_configuration", value));
    let payment = body
        .payment_configuration
        .map(|value| problems.payment("payment_configuration", value));
    let hierarchy = problems.hierarchy("hierarchy", body.hierarchy);
    let patch = problems.finish(|| {
        Some(CustomerPatch {
            hierarchy,
            name,
            email,
            metadata,
            clear_metadata,
            currency,
            external_customer_id,
            billing_address,
            shipping_address,
            additional_emails,
            auto_collection: body.auto_collection,
            email_delivery: body.email_delivery,
            payment_provider,
            payment_provider_id,
            tax_id,
            auto_issuance: body.auto_issuance,
            reporting_exempt,
            accounting_sync,
            tax,
            payment,
        })
    })?;
    let customer = state
        .store
        .update_customer(account.as_str(), &by, patch, state.now(account).await?)
        .await?;
    Ok(Json(CustomerObject::from(&customer)))
}

async fn list(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<CustomerView>>> {
    let filter = CustomerFilter {
        page: query.page(LIST)?,
        created_gte: query.datetime("created_at[gte]")?,
        created_gt: query.datetime("created_at[gt]")?,
        created_lt: query.datetime("created_at[lt]")?,
        created_lte: query.datetime("created_at[lte]")?,
    };
    let page = state
        .store
        .list_customers(account.as_str(), &filter)
        .await?;
    Ok(Json(page_body(LIST, &page, |customer| {
        CustomerView::from(customer)
    })))
}

/// `DELETE /customers/{customer_id}`: 204 with an empty body once the deletion is queued (or
/// was already); the cascade runs later, in the worker.
async fn delete(
    State(state): State<AppState>,
    account: Account,
    customer_id: PathId<Customers>,
) -> ApiResult<StatusCode> {
    let id = customer_id.as_str();
    let now = state.now(&account).await?;
    let outcome = state
        .store
        .delete_customer(account.as_str(), id, now, state.config.deletion_delay)
        .await?;
    if let DeleteOutcome::Queued { due_at } = outcome {
        state.waker.queued(due_at, now);
    }
    Ok(StatusCode::NO_CONTENT)
}
