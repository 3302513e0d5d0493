//! Orb's webhook endpoint routes: create (the only answer that carries the secret), fetch,
//! edit, list, delete, disable and enable (README, "Testing webhook handlers").
//!
//! Reference: the official SDKs' `webhook_endpoints` resource (`orb-billing` 4.90.0, npm
//! 6.11.0), which is newer than Orb's published OpenAPI document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::extract::{page_body, Account, Body, PathId, QueryParams, Resource};
use super::validate::Problems;
use super::AppState;
use crate::objects::{ts, Page};
use crate::store::{Endpoint, EndpointPatch, NewEndpoint, PayloadStyle};

/// Webhook endpoints addressed by id in a path.
pub struct WebhookEndpoints;

impl Resource for WebhookEndpoints {
    const KIND: &'static str = "WebhookEndpoint";
}

const LIST: &str = "webhook_endpoints";

/// Every webhook event type Orb lists (the SDKs' `*WebhookEvent` types); an endpoint may ask
/// for any of them, though orb-mock emits only those its model causes.
pub const ORB_EVENT_TYPES: &[&str] = &[
    "backfill.reflected",
    "backfill.reverted",
    "billable_metric.edited",
    "credit_block.accounting_sync_failed",
    "credit_block.accounting_sync_succeeded",
    "credit_note.accounting_sync_failed",
    "credit_note.accounting_sync_succeeded",
    "credit_note.issued",
    "credit_note.marked_as_void",
    "customer.accounting_sync_failed",
    "customer.accounting_sync_succeeded",
    "customer.balance_transaction_created",
    "customer.created",
    "customer.credit_balance_depleted",
    "customer.credit_balance_dropped",
    "customer.credit_balance_recovered",
    "customer.credit_ledger_incremented",
    "customer.edited",
    "data_exports.transfer_error",
    "data_exports.transfer_success",
    "event.unmatched_event",
    "ingestion.unmatched_customer_ids",
    "invoice.accounting_sync_failed",
    "invoice.accounting_sync_succeeded",
    "invoice.automation_schedule_step_executed",
    "invoice.cost_data_exported",
    "invoice.dunning_schedule_created",
    "invoice.dunning_schedule_ended",
    "invoice.dunning_schedule_reset",
    "invoice.dunning_schedule_step_executed",
    "invoice.edited",
    "invoice.invoice_date_elapsed",
    "invoice.issue_failed",
    "invoice.issued",
    "invoice.issued_summary",
    "invoice.manually_marked_as_paid",
    "invoice.manually_marked_as_void",
    "invoice.payment_failed",
    "invoice.payment_processing",
    "invoice.payment_succeeded",
    "invoice.sync_failed",
    "invoice.sync_succeeded",
    "invoice.undo_mark_as_paid",
    "invoice_due_date_recalculation.canceled",
    "invoice_due_date_recalculation.completed",
    "invoice_due_date_recalculation.started",
    "metric.events_dropped_by_watermark",
    "payment_method.created",
    "payment_method.deleted",
    "plan.created",
    "plan.default_version_set",
    "plan.edited",
    "plan.version_created",
    "price.edited",
    "resource_event.test",
    "sales_order.accounting_sync_failed",
    "sales_order.accounting_sync_succeeded",
    "subscription.accounting_sync_failed",
    "subscription.accounting_sync_succeeded",
    "subscription.alert_disabled",
    "subscription.cancellation_scheduled",
    "subscription.cancellation_unscheduled",
    "subscription.cost_exceeded",
    "subscription.created",
    "subscription.edited",
    "subscription.ended",
    "subscription.fixed_fee_quantity_updated",
    "subscription.grouped_cost_exceeded",
    "subscription.invoicing_threshold_exceeded",
    "subscription.license_allocation_reset",
    "subscription.license_balance_threshold_reached",
    "subscription.plan_change_scheduled",
    "subscription.plan_changed",
    "subscription.plan_version_change_scheduled",
    "subscription.plan_version_changed",
    "subscription.spend_exceeded",
    "subscription.started",
    "subscription.trial_ended",
    "subscription.usage_exceeded",
    "transaction.accounting_sync_failed",
    "transaction.accounting_sync_succeeded",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook_endpoints", get(list).post(create))
        .route(
            "/webhook_endpoints/{webhook_endpoint_id}",
            get(fetch).put(update).delete(delete),
        )
        .route(
            "/webhook_endpoints/{webhook_endpoint_id}/disable",
            post(disable),
        )
        .route(
            "/webhook_endpoints/{webhook_endpoint_id}/enable",
            post(enable),
        )
}

/// Orb's `WebhookEndpoint`.
#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointObject {
    pub id: String,
    #[serde(serialize_with = "ts::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub enabled: bool,
    pub enabled_event_types: Option<Vec<String>>,
    /// `expanded` or `standard`.
    #[schema(value_type = String)]
    pub payload_style: &'static str,
    pub url: String,
}

impl From<&Endpoint> for WebhookEndpointObject {
    fn from(endpoint: &Endpoint) -> Self {
        WebhookEndpointObject {
            id: endpoint.id.clone(),
            created_at: endpoint.created_at,
            enabled: endpoint.enabled,
            enabled_event_types: endpoint.enabled_event_types.clone(),
            payload_style: endpoint.style().as_str(),
            url: endpoint.url.clone(),
        }
    }
}

/// Orb's `WebhookEndpointWithSecret`: only `POST /webhook_endpoints` answers with it.
#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointWithSecretObject {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointObject,
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateWebhookEndpoint {
    #[schema(required = true, value_type = String)]
    url: Option<String>,
    enabled_event_types: Option<Vec<String>>,
    #[schema(value_type = Option<String>)]
    payload_style: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateWebhookEndpoint {
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<String>)]
    url: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<Vec<String>>)]
    enabled_event_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "super::extract::explicit_null")]
    #[schema(value_type = Option<String>)]
    payload_style: Option<Option<String>>,
}

impl Problems {
    fn webhook_url(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = self.text(field, value, true)?;
        match crate::config::parse_webhook_url(&value) {
            Ok(url) => Some(url),
            Err(problem) => {
                self.push(field, problem);
                None
            }
        }
    }

    fn event_types(&mut self, field: &str, value: Option<Vec<String>>) -> Option<Vec<String>> {
        let types = value?;
        for (index, kind) in types.iter().enumerate() {
            if !ORB_EVENT_TYPES.contains(&kind.as_str()) {
                self.push(
                    &format!("{field}[{index}]"),
                    format!("{kind:?} is not an Orb webhook event type"),
                );
            }
        }
        Some(types)
    }

    fn payload_style(&mut self, field: &str, value: Option<String>) -> Option<PayloadStyle> {
        let value = value?;
        let style = PayloadStyle::parse(&value);
        if style.is_none() {
            self.push(field, "must be one of \"expanded\" or \"standard\"");
        }
        style
    }
}

async fn create(
    State(state): State<AppState>,
    account: Account,
    Body(body): Body<CreateWebhookEndpoint>,
) -> ApiResult<Response> {
    let mut p = Problems::default();
    let url = p.require("url", body.url);
    let url = p.webhook_url("url", url);
    let enabled_event_types = p.event_types("enabled_event_types", body.enabled_event_types);
    let payload_style = p.payload_style("payload_style", body.payload_style);
    let new = p.finish(|| {
        Some(NewEndpoint {
            url: url?,
            enabled_event_types,
            payload_style,
        })
    })?;
    let endpoint = state
        .store
        .create_endpoint(account.as_str(), new, state.now(&account).await?)
        .await?;
    let object = WebhookEndpointWithSecretObject {
        endpoint: WebhookEndpointObject::from(&endpoint),
        secret: endpoint.secret.clone(),
    };
    Ok((StatusCode::CREATED, Json(object)).into_response())
}

async fn fetch(
    State(state): State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
) -> ApiResult<Json<WebhookEndpointObject>> {
    let endpoint = state
        .store
        .endpoint(account.as_str(), id.as_str(), state.now(&account).await?)
        .await?;
    Ok(Json(WebhookEndpointObject::from(&endpoint)))
}

async fn update(
    State(state): State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
    Body(body): Body<UpdateWebhookEndpoint>,
) -> ApiResult<Json<WebhookEndpointObject>> {
    let mut p = Problems::default();
    let url = match body.url {
        None => None,
        Some(url) => {
            let url = p.require("url", url);
            p.webhook_url("url", url)
        }
    };
    let enabled_event_types = body
        .enabled_event_types
        .map(|types| p.event_types("enabled_event_types", types));
    let payload_style = body
        .payload_style
        .map(|style| p.payload_style("payload_style", style));
    let patch = p.finish(|| {
        Some(EndpointPatch {
            url,
            enabled_event_types,
            payload_style,
        })
    })?;
    let endpoint = state
        .store
        .update_endpoint(
            account.as_str(),
            id.as_str(),
            patch,
            state.now(&account).await?,
        )
        .await?;
    Ok(Json(WebhookEndpointObject::from(&endpoint)))
}

async fn list(
    State(state): State<AppState>,
    account: Account,
    query: QueryParams,
) -> ApiResult<Json<Page<WebhookEndpointObject>>> {
    let page = state
        .store
        .list_endpoints(
            account.as_str(),
            query.page(LIST)?,
            state.now(&account).await?,
        )
        .await?;
    Ok(Json(page_body(LIST, &page, |endpoint| {
        WebhookEndpointObject::from(endpoint)
    })))
}

/// `DELETE /webhook_endpoints/{id}`: 204; nothing more is sent to it.
async fn delete(
    State(state): State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_endpoint(account.as_str(), id.as_str(), state.now(&account).await?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    state: State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
) -> ApiResult<Json<WebhookEndpointObject>> {
    set_enabled(state, account, id, false).await
}

async fn enable(
    state: State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
) -> ApiResult<Json<WebhookEndpointObject>> {
    set_enabled(state, account, id, true).await
}

async fn set_enabled(
    State(state): State<AppState>,
    account: Account,
    id: PathId<WebhookEndpoints>,
    enabled: bool,
) -> ApiResult<Json<WebhookEndpointObject>> {
    let endpoint = state
        .store
        .set_endpoint_enabled(
            account.as_str(),
            id.as_str(),
            enabled,
            state.now(&account).await?,
        )
        .await?;
    Ok(Json(WebhookEndpointObject::from(&endpoint)))
}
