//! Orb's subscription routes: create, fetch, list, cancel. orb-mock keeps no plan catalogue: a
//! subscription answers with a minimal, schema-complete plan carrying the id it was given.
//!
//! Reference: <https://docs.withorb.com/api-reference/subscription/create-subscription> and
//! siblings.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::{page_body, Account, Body, PathId, QueryParams, Resource};
use super::validate::Problems;
use super::AppState;
use crate::objects::{MutatedSubscriptionObject, Page, SubscriptionObject};
use crate::store::model::SubscriptionStatus;
use crate::store::{new_id, CancelOption, NewSubscription, SubscriptionFilter};

/// Customers, invoices or subscriptions addressed by id in a path.
pub struct Subscriptions;

impl Resource for Subscriptions {
    const KIND: &'static str = "Subscription";
}

/// The name this module's list carries in its cursors.
const LIST: &str = "subscriptions";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list).post(create))
        .route("/subscriptions/{subscription_id}", get(fetch))
        .route("/subscriptions/{subscription_id}/cancel", post(cancel))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateSubscription {
    customer_id: Option<String>,
    external_customer_id: Option<String>,
    plan_id: Option<String>,
    external_plan_id: Option<String>,
    #[schema(format = DateTime)]
    start_date: Option<String>,
    net_terms: Option<i64>,
    auto_collection: Option<bool>,
    default_invoice_memo: Option<String>,
    metadata: Option<BTreeMap<String, Option<String>>>,
    name: Option<String>,
    currency: Option<String>,
    #[schema(format = DateTime)]
    end_date: Option<String>,
    #[schema(minimum = 0, maximum = 999_999)]
    trial_duration_days: Option<i64>,
}

impl CreateSubscription {
    /// The subscription this body asks for, or the problems with it (also used by fixtures).
    pub(crate) fn validate(self, p: &mut Problems) -> Option<NewSubscription> {
        let also_external_customer_id = self
            .customer_id
            .is_some()
            .then(|| self.external_customer_id.clone())
            .flatten();
        let customer = p.customer_ref(self.customer_id, self.external_customer_id);
        let plan_id = p.text("plan_id", self.plan_id, true);
        let external_plan_id = p.text("external_plan_id", self.external_plan_id, true);
        if plan_id.is_none() && external_plan_id.is_none() {
            p.push("plan_id", "one of plan_id or external_plan_id is required");
        }
        let start_date = p.datetime("start_date", self.start_date);
        if self
            .net_terms
            .is_some_and(|days| !(0..=3650).contains(&days))
        {
            p.push("net_terms", "must be a number of days from 0 to 3650");
        }
        let memo = p.text("default_invoice_memo", self.default_invoice_memo, false);
        let metadata = p.new_metadata("metadata", self.metadata);
        let name = p.text("name", self.name, true);
        let currency = p.currency("currency", self.currency);
        let end_date = p.datetime("end_date", self.end_date);
        let trial_duration_days = match self.trial_duration_days {
            Some(days) => match u32::try_from(days) {
                Ok(days) if days < 1_000_000 => Some(days),
                _ => {
                    p.push(
                        "trial_duration_days",
                        "must be a number of days from 0 to 999999",
                    );
                    None
                }
            },
            None => None,
        };
        (|| {
            Some(NewSubscription {
                id: None,
                ended: false,
                customer: customer?,
                also_external_customer_id,
                plan_id: plan_id.unwrap_or_else(new_id),
                external_plan_id,
                start_date,
                net_terms: self.net_terms,
                auto_collection: self.auto_collection,
                default_invoice_memo: memo,
                metadata,
                name,
                currency,
                end_date,
                trial_duration_days,
            })
        })()
    }
}

async fn create(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<CreateSubscription>,
) -> ApiResult<Response> {
    let mut problems = Problems::default();
    let new = body.validate(&mut problems);
    let new = problems.finish(|| new)?;
    let now = state.now(&account).await?;
    let (subscription, customer) = state
        .store
        .create_subscription(account.as_str(), new, now)
        .await?;
    let object = MutatedSubscriptionObject::new(&subscription, &customer, now);
    Ok((StatusCode::CREATED, Json(object)).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    account: Account,
    subscription_id: PathId<Subscriptions>,
) -> ApiResult<Json<SubscriptionObject>> {
    let id = subscription_id.as_str();
    let (subscription, customer) = state.store.subscription(account.as_str(), id).await?;
    let now = state.now(&account).await?;
    Ok(Json(SubscriptionObject::new(&subscription, &customer, now)))
}

async fn list(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<SubscriptionObject>>> {
    let mut p = Problems::default();
    let mut statuses = Vec::new();
    for text in query.many("status")? {
        match SubscriptionStatus::parse(text) {
            Some(status) => statuses.push(status),
            None => p.push(
                "status",
                format!("{text:?} is not one of active, ended, upcoming"),
            ),
        }
    }
    let filter = SubscriptionFilter {
        page: query.page(LIST)?,
        customer_ids: query.many("customer_id")?.to_vec(),
        external_customer_ids: query.many("external_customer_id")?.to_vec(),
        statuses,
        plan_id: query.one("plan_id")?.map(str::to_owned),
        external_plan_id: query.one("external_plan_id")?.map(str::to_owned),
        created_gte: query.datetime("created_at[gte]")?,
        created_gt: query.datetime("created_at[gt]")?,
        created_lt: query.datetime("created_at[lt]")?,
        created_lte: query.datetime("created_at[lte]")?,
    };
    let filter = p.finish(|| Some(filter))?;
    let page = state
        .store
        .list_subscriptions(account.as_str(), &filter)
        .await?;
    let now = state.now(&account).await?;
    Ok(Json(page_body(LIST, &page, |(subscription, customer)| {
        SubscriptionObject::new(subscription, customer, now)
    })))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct Cancel {
    #[schema(required = true, value_type = String, pattern = "^(immediate|end_of_subscription_term|requested_date)$")]
    cancel_option: Option<String>,
    #[schema(format = DateTime)]
    cancellation_date: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    account: Account,
    subscription_id: PathId<Subscriptions>,
    Body(body): Body<Cancel>,
) -> ApiResult<Json<MutatedSubscriptionObject>> {
    let id = subscription_id.as_str();
    let mut p = Problems::default();
    let date = p.datetime("cancellation_date", body.cancellation_date);
    let option = match p.require("cancel_option", body.cancel_option).as_deref() {
        Some("immediate") => Some(CancelOption::Immediate),
        Some("end_of_subscription_term") => Some(CancelOption::EndOfSubscriptionTerm),
        Some("requested_date") => match date {
            Some(date) => Some(CancelOption::RequestedDate(date)),
            None => {
                p.push(
                    "cancellation_date",
                    "required when cancel_option is requested_date",
                );
                None
            }
        },
        Some(other) => {
            p.push(
                "cancel_option",
                format!(
                    "{other:?} is not one of immediate, end_of_subscription_term, requested_date"
                ),
            );
            None
        }
        None => None,
    };
    let option = p.finish(|| option)?;
    let now = state.now(&account).await?;
    let (subscription, customer) = state
        .store
        .cancel_subscription(account.as_str(), id, option, now)
        .await?;
    Ok(Json(MutatedSubscriptionObject::new(
        &subscription,
        &customer,
        now,
    )))
}
