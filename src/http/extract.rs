//! Extractors whose every rejection is an Orb error body: the account behind the bearer token,
//! JSON bodies, path ids and query strings. Handlers never see a framework rejection.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::store::PageRequest;

/// The account a request acts for: the hex SHA-256 of its bearer token. Each distinct token is
/// its own account (README, "Accounts"); the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account(pub String);

impl Account {
    pub fn from_token(token: &str) -> Account {
        use std::fmt::Write as _;
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Account(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequestParts<AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Account> {
        // The front middleware has already resolved it on Orb's routes.
        if let Some(account) = parts.extensions.get::<Account>() {
            return Ok(account.clone());
        }
        Account::from_headers(&parts.headers, &state.config)
    }
}

impl Account {
    /// The account a request's `Authorization: Bearer <key>` names, or a 401 saying what is
    /// wrong with it.
    pub fn from_headers(
        headers: &axum::http::HeaderMap,
        config: &super::ApiConfig,
    ) -> ApiResult<Account> {
        let unauthenticated = |detail: &str| ApiError::Authentication(detail.to_owned());
        let header = headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthenticated("Missing Authorization header; send `Authorization: Bearer <API key>`.")
        })?;
        let header = header
            .to_str()
            .map_err(|_| unauthenticated("The Authorization header is not valid text."))?;
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(unauthenticated(
                    "The Authorization header must use the Bearer scheme.",
                ))
            }
        };
        if token.is_empty() {
            return Err(unauthenticated("The bearer token is empty."));
        }
        if !config.api_keys.is_empty() && !config.api_keys.iter().any(|k| k == token) {
            return Err(unauthenticated("The API key is not valid."));
        }
        Ok(Account::from_token(token))
    }
}

/// A JSON request body deserialised into `T`. An empty body counts as `{}` (Orb's SDKs send
/// none on some POST actions); anything but a JSON object is a validation error naming the
/// offending field; a body over the limit is a 413.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> ApiResult<Body<T>> {
        let limit = state.config.max_body_bytes;
        let method = req.method().clone();
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|matched| matched.as_str().to_owned());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::RequestTooLarge { limit }
                } else {
                    ApiError::invalid("body", "could not be read")
                }
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|err| ApiError::invalid("body", format!("is not valid JSON ({err})")))?;
        let Some(object) = value.as_object() else {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        };
        if let Some(route) = &route {
            super::unhonoured::check_body(&method, route, object)?;
        }
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|err| {
                let path = err.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid(&field, err.into_inner())
            })
    }
}

/// For `#[serde(default, deserialize_with = …)]` on an `Option<Option<T>>` body field: tells an
/// absent key (`None`) from an explicit `null` (`Some(None)`), for edits where `null` clears.
pub fn explicit_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A kind of resource addressed by id in a path, for [`PathId`] and its 404 message.
pub trait Resource {
    /// The name in "Could not find a resource of type {KIND} …".
    const KIND: &'static str;
}

/// The id in a path such as `/customers/{customer_id}`, checked: an id no store could hold, or
/// one that is not UTF-8, is unknown (404); a fixed path of Orb's that the route's pattern
/// happens to match (`/invoices/upcoming`) is `feature-not-available`, not an id.
pub struct PathId<R>(pub String, std::marker::PhantomData<R>);

impl<R> PathId<R> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync, R: Resource> FromRequestParts<S> for PathId<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<PathId<R>> {
        let orb_path = super::orb_path(parts.uri.path());
        if super::orb_routes::is_literal(&parts.method, orb_path) {
            return Err(ApiError::not_emulated(&parts.method, orb_path));
        }
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found(R::KIND, "(an id that is not valid UTF-8)"))?;
        known_id(R::KIND, &id)?;
        Ok(PathId(id, std::marker::PhantomData))
    }
}

/// Checks an id taken from a path: ids that no store could hold (empty, too long, control
/// characters such as NUL) are simply unknown, answered without asking the store.
fn known_id(kind: &'static str, id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        let shown: String = id.chars().filter(|c| !c.is_control()).collect();
        return Err(ApiError::not_found(kind, &shown));
    }
    Ok(())
}

/// Query-string parameters, decoded once, with Orb's conventions: `key[]=a&key[]=b` (or repeated
/// `key=…`) for arrays, `created_at[gte]=…` for ranges. Unknown keys are ignored, as by Orb; a
/// documented one orb-mock does not honour is refused ([`super::unhonoured`]).
#[derive(Debug, Default)]
pub struct QueryParams(BTreeMap<String, Vec<String>>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<QueryParams> {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
            params.entry(key).or_default().push(value.into_owned());
        }
        if let Some(route) = parts.extensions.get::<MatchedPath>() {
            super::unhonoured::check_query(
                &parts.method,
                route.as_str(),
                params.keys().map(String::as_str),
            )?;
        }
        Ok(QueryParams(params))
    }
}

/// A query value with a NUL byte is a validation error: no store holds one, and PostgreSQL
/// refuses it in any text parameter (found by schemathesis as a 500 on list filters).
fn no_nul<'a>(key: &str, value: &'a str) -> ApiResult<&'a str> {
    if value.contains('\0') {
        return Err(ApiError::invalid(key, "must not contain NUL characters"));
    }
    Ok(value)
}

/// Default and bounds of `limit` on every list (README, "Emulated routes").
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

impl QueryParams {
    /// The single value of a parameter; a repeated scalar is a validation error.
    pub fn one(&self, key: &str) -> ApiResult<Option<&str>> {
        match self.0.get(key).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(no_nul(key, value)?)),
            Some(_) => Err(ApiError::invalid(key, "must be given at most once")),
        }
    }

    /// Every value of an array parameter (`key[]=…` or `key=…`).
    pub fn many(&self, key: &str) -> ApiResult<&[String]> {
        let values = self.0.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if values.len() > MAX_LIMIT as usize {
            return Err(ApiError::invalid(
                key,
                format!("takes at most {MAX_LIMIT} values"),
            ));
        }
        for value in values {
            no_nul(key, value)?;
        }
        Ok(values)
    }

    /// `limit`: an integer from 1 to 100, default 20.
    pub fn limit(&self) -> ApiResult<i64> {
        match self.one("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
                _ => Err(ApiError::invalid(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}, got {text:?}"),
                )),
            },
        }
    }

    /// `limit` and `cursor` together, for the list named `list` (`"customers"`, …).
    pub fn page(&self, list: &str) -> ApiResult<PageRequest> {
        Ok(PageRequest {
            limit: self.limit()?,
            before: self.cursor(list)?,
        })
    }

    /// `cursor`: the keyset position a previous page of the same list handed out. A cursor from
    /// another list, or one this server never issued, is a validation error.
    pub fn cursor(&self, list: &str) -> ApiResult<Option<i64>> {
        self.one("cursor")?
            .filter(|text| !text.is_empty())
            .map(|text| {
                decode_cursor(list, text).ok_or_else(|| {
                    ApiError::invalid("cursor", format!("is not a cursor of the {list} list"))
                })
            })
            .transpose()
    }

    /// A date-time parameter, RFC 3339 or a bare date (midnight UTC).
    pub fn datetime(&self, key: &str) -> ApiResult<Option<DateTime<Utc>>> {
        self.one(key)?
            .map(|text| {
                parse_datetime(text).ok_or_else(|| {
                    ApiError::invalid(key, format!("{text:?} is not an ISO 8601 date-time"))
                })
            })
            .transpose()
    }
}

/// A store page of the list named `list` as Orb's page envelope, each item shown with `show`.
pub fn page_body<T, U: serde::Serialize>(
    list: &str,
    page: &crate::store::Page<T>,
    show: impl Fn(&T) -> U,
) -> crate::objects::Page<U> {
    crate::objects::Page::new(
        page.items.iter().map(show).collect(),
        page.next.map(|position| encode_cursor(list, position)),
    )
}

/// Cursors are opaque to clients: base64 of the list's name and the keyset position.
pub fn encode_cursor(list: &str, position: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list}:{position}"))
}

fn decode_cursor(list: &str, text: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let position = std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix(list)?
        .strip_prefix(':')?
        .parse()
        .ok()?;
    (position > 0).then_some(position)
}

/// RFC 3339 date-time, or a date (`2026-01-05`) read as midnight UTC, as Orb accepts both.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(datetime) = DateTime::parse_from_rfc3339(text) {
        return Some(datetime.with_timezone(&Utc));
    }
    parse_date(text)
}

/// A date (`2026-01-05`), as midnight UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|date| date.and_time(NaiveTime::MIN).and_utc())
}
