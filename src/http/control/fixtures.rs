//! Fixtures (README, "Control surface"): customers, invoices and subscriptions with caller-chosen ids, loaded
//! through `POST /_mock/fixtures` or `--fixtures file.json` at start-up.
//!
//! Entries are the bodies Orb's create routes take, plus an `id` (and an invoice `status`), and
//! are checked by the same validation those routes use. A document is validated and loaded
//! whole: on any problem nothing is loaded, and the error names the entry.

use std::collections::BTreeMap;
use std::path::Path;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::http::customers::CreateCustomer;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Account, Body};
use crate::http::invoices::CreateInvoice;
use crate::http::subscriptions::CreateSubscription;
use crate::http::validate::Problems;
use crate::http::AppState;
use crate::store::model::InvoiceStatus;
use crate::store::{Fixtures, Loaded, Store, StoreError};

/// Longest caller-chosen id.
pub const MAX_ID: usize = 64;

/// The fixtures for one account.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    customers: Vec<CustomerEntry>,
    #[serde(default)]
    invoices: Vec<InvoiceEntry>,
    #[serde(default)]
    subscriptions: Vec<SubscriptionEntry>,
}

#[derive(Deserialize)]
struct CustomerEntry {
    id: Option<String>,
    #[serde(flatten)]
    body: CreateCustomer,
    /// Whatever key is left: each one is refused, naming it.
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct InvoiceEntry {
    id: Option<String>,
    status: Option<String>,
    #[serde(flatten)]
    body: CreateInvoice,
    /// Whatever key is left: each one is refused, naming it.
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct SubscriptionEntry {
    id: Option<String>,
    status: Option<String>,
    #[serde(flatten)]
    body: CreateSubscription,
    /// Whatever key is left: each one is refused, naming it.
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_json::Value>,
}

/// A start-up fixtures file: documents by API key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    accounts: BTreeMap<String, Box<serde_json::value::RawValue>>,
}

/// A chosen id: 1 to 64 letters, digits, `_` or `-`, so that it is usable in a URL as is.
fn check_id(p: &mut Problems, id: Option<String>) -> Option<String> {
    let id = id?;
    if id.is_empty()
        || id.len() > MAX_ID
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        p.push(
            "id",
            format!("{id:?} must be 1 to {MAX_ID} letters, digits, '_' or '-'"),
        );
        return None;
    }
    Some(id)
}

/// A fixture entry's keys that neither the create route nor the fixture knows: a typo must not
/// pass silently.
fn refuse_unknown(p: &mut Problems, unknown: BTreeMap<String, serde_json::Value>) {
    for key in unknown.into_keys() {
        p.push(&key, "unknown field");
    }
}

impl Document {
    /// The validated fixtures, or every problem, each naming its entry (`invoices[2].status`).
    pub fn validate(self) -> ApiResult<Fixtures> {
        let mut p = Problems::default();
        let mut fixtures = Fixtures::default();
        for (i, entry) in self.customers.into_iter().enumerate() {
            p.within(&format!("customers[{i}]."), |p| {
                refuse_unknown(p, entry.unknown);
                let id = check_id(p, entry.id);
                if let Some(mut new) = entry.body.validate(p) {
                    new.id = id;
                    fixtures.customers.push(new);
                }
            });
        }
        for (i, entry) in self.invoices.into_iter().enumerate() {
            p.within(&format!("invoices[{i}]."), |p| {
                refuse_unknown(p, entry.unknown);
                let id = check_id(p, entry.id);
                let status = entry.status.and_then(|status| {
                    let parsed = InvoiceStatus::parse(&status);
                    if parsed.is_none() {
                        p.push(
                            "status",
                            format!("{status:?} is not one of draft, issued, paid, synced, void"),
                        );
                    }
                    parsed
                });
                if let Some(mut new) = entry.body.validate(p) {
                    new.id = id;
                    new.status = status;
                    fixtures.invoices.push(new);
                }
            });
        }
        for (i, entry) in self.subscriptions.into_iter().enumerate() {
            p.within(&format!("subscriptions[{i}]."), |p| {
                refuse_unknown(p, entry.unknown);
                let id = check_id(p, entry.id);
                let ended = match entry.status.as_deref() {
                    None | Some("active") => false,
                    Some("ended") => true,
                    Some(other) => {
                        p.push("status", format!("{other:?} is not one of active, ended"));
                        false
                    }
                };
                if let Some(mut new) = entry.body.validate(p) {
                    new.id = id;
                    new.ended = ended;
                    fixtures.subscriptions.push(new);
                }
            });
        }
        p.finish(|| Some(fixtures))
    }
}

/// Loads validated fixtures, turning a refusal by the store into a validation error naming the
/// entry (a taken id, an unknown customer); a database failure stays a 500.
async fn load_into(
    store: &Store,
    account: &str,
    fixtures: Fixtures,
    now: chrono::DateTime<chrono::Utc>,
    once: Option<&str>,
) -> ApiResult<Option<Loaded>> {
    store
        .load_fixtures(account, fixtures, now, once)
        .await
        .map_err(|err| match err.source {
            StoreError::NotFound { .. } | StoreError::Constraint(_) | StoreError::Duplicate(_) => {
                ApiError::invalid(&err.entry, err.source)
            }
            other => ApiError::from(other),
        })
}

/// `POST /_mock/fixtures`: 201 with the ids loaded, or 400 naming the bad entry.
pub async fn load(
    State(state): State<AppState>,
    account: Account,
    Body(document): Body<Document>,
) -> ApiResult<(StatusCode, Json<Loaded>)> {
    let fixtures = document.validate()?;
    let loaded = load_into(
        &state.store,
        account.as_str(),
        fixtures,
        state.now(&account).await?,
        None,
    )
    .await?
    .unwrap_or_default();
    Ok((StatusCode::CREATED, Json(loaded)))
}

/// Why a fixtures file could not be loaded at start-up.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a fixtures file: {source}")]
    Parse {
        path: String,
        source: serde_path_to_error::Error<serde_json::Error>,
    },
    #[error("{path}: account {key_hint}: {problem}")]
    Invalid {
        path: String,
        key_hint: String,
        problem: ApiError,
    },
}

/// Loads a `--fixtures` file: every account's document, each whole or not at all; the first
/// bad one stops the start. A document this store already holds from an earlier start (same
/// account, same content) is skipped, so a restart on a persistent store works. Returns how
/// many resources were loaded.
pub async fn load_file(
    store: &Store,
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, FileError> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| FileError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    let file: File =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|source| FileError::Parse {
            path: shown.clone(),
            source,
        })?;
    let mut loaded = 0;
    for (key, raw) in file.accounts {
        let digest = crate::http::idempotency::fingerprint(
            &axum::http::Method::POST,
            "/_mock/fixtures",
            None,
            raw.get().as_bytes(),
        );
        let mut deserializer = serde_json::Deserializer::from_str(raw.get());
        let document: Document =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|source| {
                FileError::Parse {
                    path: shown.clone(),
                    source,
                }
            })?;
        // Never log a whole API key.
        let key_hint = format!("{}…", key.chars().take(6).collect::<String>());
        let invalid = |problem| FileError::Invalid {
            path: shown.clone(),
            key_hint: key_hint.clone(),
            problem,
        };
        let fixtures = document.validate().map_err(invalid)?;
        let account = Account::from_token(&key);
        let done = load_into(store, account.as_str(), fixtures, now, Some(&digest))
            .await
            .map_err(invalid)?;
        if let Some(done) = done {
            loaded += done.customers.len() + done.invoices.len() + done.subscriptions.len();
        }
    }
    Ok(loaded)
}
