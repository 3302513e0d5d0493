//! Request validation that reports every problem at once, one entry per field, as Orb's
//! `validation_errors` does. Request types deserialise with optional fields and are then checked
//! here, so a missing required field and a malformed one are reported together.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::error::{ApiError, ApiResult};
use super::extract::parse_datetime;
use crate::store::model::Metadata;
use crate::store::CustomerRef;

/// Longest free-text value accepted (names, memos, metadata values).
pub const MAX_TEXT: usize = 4096;

/// Dates outside these years are refused: every date orb-mock derives from one (due dates,
/// billing periods) then stays representable in both stores.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9000;

/// Largest magnitude of a quantity or amount: the product of two, summed over every line of an
/// invoice, stays far inside the decimal type's range.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The problems found so far.
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<String>,
    /// Put before every field name: where in a larger document the checked value sits
    /// (`customers[3].` in a fixtures document).
    prefix: String,
}

impl Problems {
    pub fn push(&mut self, field: &str, problem: impl std::fmt::Display) {
        self.found
            .push(format!("{}{field}: {problem}", self.prefix));
    }

    /// Runs `check` with every field it names placed under `prefix`.
    pub fn within<T>(&mut self, prefix: &str, check: impl FnOnce(&mut Problems) -> T) -> T {
        let nested = format!("{}{prefix}", self.prefix);
        let outer = std::mem::replace(&mut self.prefix, nested);
        let value = check(self);
        self.prefix = outer;
        value
    }

    /// How many problems were found so far (to tell whether a check added one).
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Whether nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// A present value, or a "field required" problem.
    pub fn require<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(field, "field required");
        }
        value
    }

    /// Text that a store can hold: no NUL or other control characters, at most `MAX_TEXT`
    /// characters, and not blank when `non_empty`.
    pub fn text(&mut self, field: &str, value: Option<String>, non_empty: bool) -> Option<String> {
        let value = value?;
        if non_empty && value.trim().is_empty() {
            self.push(field, "must not be empty");
        } else if value.chars().count() > MAX_TEXT {
            self.push(field, format!("must be at most {MAX_TEXT} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.push(field, "must not contain control characters");
        } else {
            return Some(value);
        }
        None
    }

    /// An email address: one `@` with text on both sides, no spaces.
    pub fn email(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = self.text(field, value, true)?;
        match value.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !value.contains(char::is_whitespace) =>
            {
                Some(value)
            }
            _ => {
                self.push(field, format!("{value:?} is not a valid email address"));
                None
            }
        }
    }

    /// A currency code: three to eight ASCII letters, upper-cased (`usd` → `USD`).
    /// An ISO 4217 currency code (`USD`; lower case is read as upper).
    pub fn currency(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = value?;
        let code = value.to_ascii_uppercase();
        if iso_currency::Currency::from_code(&code).is_some() {
            Some(code)
        } else {
            self.push(
                field,
                format!("{value:?} is not an ISO 4217 currency code such as USD"),
            );
            None
        }
    }

    /// An IANA time zone (`America/New_York`, `Etc/UTC`).
    pub fn timezone(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = value?;
        if value.parse::<chrono_tz::Tz>().is_ok() {
            Some(value)
        } else {
            self.push(
                field,
                format!("{value:?} is not an IANA time zone such as America/New_York"),
            );
            None
        }
    }

    /// An RFC 3339 date-time or a date.
    pub fn datetime(&mut self, field: &str, value: Option<String>) -> Option<DateTime<Utc>> {
        let value = value?;
        match parse_datetime(&value) {
            Some(parsed) if YEARS.contains(&chrono::Datelike::year(&parsed)) => Some(parsed),
            Some(_) => {
                self.push(
                    field,
                    format!(
                        "{value:?} is outside the years {} to {}",
                        YEARS.start(),
                        YEARS.end()
                    ),
                );
                None
            }
            None => {
                self.push(
                    field,
                    format!("{value:?} is not an ISO 8601 date or date-time"),
                );
                None
            }
        }
    }

    /// A decimal amount given as a JSON string or number (never through a float).
    pub fn decimal(&mut self, field: &str, value: Option<serde_json::Value>) -> Option<Decimal> {
        let text = match value? {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            other => {
                self.push(field, format!("expected a decimal number, got {other}"));
                return None;
            }
        };
        match Decimal::from_str(text.trim()).or_else(|_| Decimal::from_scientific(text.trim())) {
            Ok(amount) if amount.abs() <= Decimal::from(MAX_AMOUNT) => Some(amount),
            Ok(_) => {
                self.push(field, format!("must be at most {MAX_AMOUNT} in magnitude"));
                None
            }
            Err(_) => {
                self.push(field, format!("{text:?} is not a decimal number"));
                None
            }
        }
    }

    /// Metadata: string keys and values; `null` values are kept as `None` (they remove a key in
    /// an update and are ignored on create).
    pub fn metadata(
        &mut self,
        field: &str,
        value: Option<BTreeMap<String, Option<String>>>,
    ) -> Option<Vec<(String, Option<String>)>> {
        let value = value?;
        let mut entries = Vec::with_capacity(value.len());
        for (key, val) in value {
            let Some(key) = self.text(&format!("{field}.{key}"), Some(key.clone()), true) else {
                continue;
            };
            let val = match val {
                Some(val) => match self.text(&format!("{field}.{key}"), Some(val), false) {
                    Some(val) => Some(val),
                    None => continue,
                },
                None => None,
            };
            entries.push((key, val));
        }
        Some(entries)
    }

    /// Metadata for a new resource: `null` values are dropped.
    pub fn new_metadata(
        &mut self,
        field: &str,
        value: Option<BTreeMap<String, Option<String>>>,
    ) -> Metadata {
        self.metadata(field, value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, val)| Some((key, val?)))
            .collect()
    }

    /// The customer a request names: exactly one of `customer_id` and `external_customer_id`.
    pub fn customer_ref(
        &mut self,
        customer_id: Option<String>,
        external_customer_id: Option<String>,
    ) -> Option<CustomerRef> {
        let id = self.text("customer_id", customer_id, true);
        let external = self.text("external_customer_id", external_customer_id, true);
        match (id, external) {
            (Some(id), None) => Some(CustomerRef::Id(id)),
            (None, Some(external)) => Some(CustomerRef::External(external)),
            // Both: the customer is found by its id, and the store checks that it has this
            // external id (`CustomerRef::checked_external`).
            (Some(id), Some(_)) => Some(CustomerRef::Id(id)),
            (None, None) => {
                self.push(
                    "customer_id",
                    "one of customer_id or external_customer_id is required",
                );
                None
            }
        }
    }

    /// The validated value, or every problem found.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> ApiResult<T> {
        if !self.found.is_empty() {
            return Err(ApiError::Validation(self.found));
        }
        value().ok_or_else(|| ApiError::Validation(vec!["body: invalid request".to_owned()]))
    }
}
