//! Fault rules (`/_mock/faults`) and the `Prefer: code=NNN` header: answers a test asks for
//! that the real Orb gives only when something goes wrong.
//!
//! Rules live in memory, per account, in the order they were added. Matching and counting
//! happen under one lock, so `times` and `after` are exact however many requests race.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use crate::http::error::{ApiError, ErrorKind};
use crate::http::validate::Problems;

/// Longest delay a rule may ask for.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// A rule as `POST /_mock/faults` takes it. An unknown key is refused: a typo such as `methd`
/// must not silently widen the rule to every method.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    method: Option<String>,
    path: Option<String>,
    status: Option<u16>,
    #[serde(rename = "type")]
    type_suffix: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    delay: Option<String>,
    close: Option<bool>,
    times: Option<u64>,
    after: Option<u64>,
}

/// What a firing rule does to the request.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Answer this error (after `delay`), running nothing.
    Respond {
        kind: ErrorKind,
        detail: String,
        headers: Vec<(HeaderName, HeaderValue)>,
        delay: Duration,
    },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Wait, then drop the connection without an answer.
    Close(Duration),
}

/// A stored rule, as `GET /_mock/faults` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    #[serde(rename = "type")]
    pub type_suffix: Option<String>,
    pub headers: BTreeMap<String, String>,
    #[serde(serialize_with = "humantime_ser")]
    pub delay: Duration,
    pub close: bool,
    pub times: Option<u64>,
    pub after: u64,
    /// Requests that matched so far (including skipped ones).
    pub matched: u64,
    /// Times it fired.
    pub fired: u64,
    #[serde(skip)]
    kind: Option<ErrorKind>,
    #[serde(skip)]
    header_values: Vec<(HeaderName, HeaderValue)>,
    #[serde(skip)]
    method_filter: Option<Method>,
}

fn humantime_ser<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

impl NewRule {
    /// A stored rule, or the problems with this one.
    pub fn validate(self, id: String) -> Result<Rule, ApiError> {
        let mut p = Problems::default();
        let method = self
            .method
            .unwrap_or_else(|| "*".to_owned())
            .to_ascii_uppercase();
        let method_filter = if method == "*" {
            None
        } else {
            match Method::from_bytes(method.as_bytes()) {
                Ok(m) => Some(m),
                Err(_) => {
                    p.push(
                        "method",
                        format!("{method:?} is not an HTTP method or \"*\""),
                    );
                    None
                }
            }
        };
        let path = p.require("path", self.path);
        let path = path.and_then(|path| {
            let path = crate::http::orb_path(&path).to_owned();
            if path.starts_with('/') {
                Some(path)
            } else {
                p.push("path", "must start with / (e.g. /customers/*)");
                None
            }
        });
        let kind = match (self.status, &self.type_suffix) {
            (_, Some(suffix)) => match ErrorKind::from_suffix(suffix) {
                Some(kind) if self.status.is_none_or(|s| kind.status().as_u16() == s) => Some(kind),
                Some(_) => {
                    p.push(
                        "type",
                        format!("{suffix:?} does not have status {:?}", self.status),
                    );
                    None
                }
                None => {
                    p.push(
                        "type",
                        format!("{suffix:?} is not a documented Orb error type"),
                    );
                    None
                }
            },
            (Some(status), None) => match ErrorKind::for_status(status) {
                Some(kind) => Some(kind),
                None => {
                    p.push(
                        "status",
                        format!(
                            "{status} is not a documented Orb status (one of {:?})",
                            ErrorKind::documented_statuses()
                        ),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let headers = self.headers.unwrap_or_default();
        let mut header_values = Vec::new();
        for (name, value) in &headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(name), Ok(value)) => header_values.push((name, value)),
                _ => p.push(&format!("headers.{name}"), "is not a valid header"),
            }
        }
        let delay = match self.delay {
            None => Duration::ZERO,
            Some(text) => match crate::config::parse_duration(&text) {
                Ok(delay) if delay <= MAX_DELAY => delay,
                Ok(_) => {
                    p.push(
                        "delay",
                        format!("must be at most {}", humantime::format_duration(MAX_DELAY)),
                    );
                    Duration::ZERO
                }
                Err(err) => {
                    p.push("delay", err);
                    Duration::ZERO
                }
            },
        };
        let close = self.close.unwrap_or(false);
        if close && (self.status.is_some() || self.type_suffix.is_some()) {
            p.push(
                "close",
                "a rule either answers a status or closes the connection, not both",
            );
        }
        if !close && kind.is_none() && delay.is_zero() && p.is_empty() {
            p.push("status", "give a status, a delay or close: true");
        }
        if self.times == Some(0) {
            p.push("times", "must be at least 1 (leave it out for no limit)");
        }
        p.finish(|| {
            Some(Rule {
                id,
                method,
                path: path?,
                status: kind.map(|k| k.status().as_u16()),
                type_suffix: kind.map(|k| k.describe().1.to_owned()),
                headers,
                delay,
                close,
                times: self.times,
                after: self.after.unwrap_or(0),
                matched: 0,
                fired: 0,
                kind,
                header_values,
                method_filter,
            })
        })
    }
}

impl Rule {
    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method_filter.as_ref().is_none_or(|m| m == method) && path_matches(&self.path, path)
    }

    fn effect(&self) -> Effect {
        match self.kind {
            Some(kind) => Effect::Respond {
                kind,
                detail: format!("Injected by orb-mock fault rule {}.", self.id),
                headers: self.header_values.clone(),
                delay: self.delay,
            },
            None if self.close => Effect::Close(self.delay),
            None => Effect::Delay(self.delay),
        }
    }
}

/// `*` matches exactly one path segment; anything else matches itself.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern = pattern.split('/');
    let mut path = path.split('/');
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some("*"), Some(segment)) if !segment.is_empty() => {}
            (Some(want), Some(got)) if want == got => {}
            _ => return false,
        }
    }
}

/// Every account's rules.
#[derive(Debug, Default)]
pub struct Faults {
    accounts: Mutex<HashMap<String, Vec<Rule>>>,
}

impl Faults {
    pub fn add(&self, account: &str, rule: Rule) -> Rule {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts
            .entry(account.to_owned())
            .or_default()
            .push(rule.clone());
        rule
    }

    pub fn list(&self, account: &str) -> Vec<Rule> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.get(account).cloned().unwrap_or_default()
    }

    pub fn clear(&self, account: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.remove(account);
    }

    /// Removes one rule; false if the account has no such rule.
    pub fn remove(&self, account: &str, id: &str) -> bool {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(rules) = accounts.get_mut(account) else {
            return false;
        };
        let before = rules.len();
        rules.retain(|rule| rule.id != id);
        rules.len() != before
    }

    /// The effect of the first rule that matches this request and has budget left, counting
    /// the match on every matching rule it passes.
    pub fn fire(&self, account: &str, method: &Method, path: &str) -> Option<Effect> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let rules = accounts.get_mut(account)?;
        for rule in rules.iter_mut() {
            if rule.times.is_some_and(|times| rule.fired >= times) || !rule.matches(method, path) {
                continue;
            }
            rule.matched += 1;
            if rule.matched > rule.after {
                rule.fired += 1;
                return Some(rule.effect());
            }
        }
        None
    }
}

/// The status a `Prefer: code=NNN` header asks for, if any (`Prefer: code=429, dynamic=true`).
/// What `Prefer: code=NNN` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preferred {
    /// A documented Orb error, answered with its body; nothing changes.
    Error(ErrorKind),
    /// A success status: only an answer generated from `--spec` can be forced to one (the
    /// status the operation documents).
    Success(u16),
}

/// Marks a request whose `Prefer` asks for a success status, for the `--spec` layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferredSuccess(pub u16);

pub fn preferred_code(headers: &HeaderMap) -> Option<Result<Preferred, ApiError>> {
    let value = headers.get("prefer")?.to_str().ok()?;
    let code = value
        .split([',', ';'])
        .map(str::trim)
        .find_map(|pref| pref.strip_prefix("code="))?;
    let status = code.trim().parse::<u16>().ok();
    if let Some(status) = status.filter(|status| (200..300).contains(status)) {
        return Some(Ok(Preferred::Success(status)));
    }
    let kind = status
        .filter(|status| (400..600).contains(status))
        .and_then(ErrorKind::for_status);
    Some(kind.map(Preferred::Error).ok_or_else(|| {
        ApiError::invalid(
            "Prefer",
            format!(
                "code={code} is not a documented Orb error status (one of {:?}), nor a success \
                 status of a route answered from --spec",
                ErrorKind::documented_statuses()
            ),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_matches_exactly_one_segment() {
        assert!(path_matches("/customers/*", "/customers/abc"));
        assert!(!path_matches("/customers/*", "/customers"));
        assert!(!path_matches("/customers/*", "/customers/abc/def"));
        assert!(!path_matches("/customers/*", "/customers/"));
        assert!(path_matches("/customers", "/customers"));
        assert!(path_matches("/invoices/*/issue", "/invoices/x/issue"));
    }

    #[test]
    fn prefer_names_a_documented_status_or_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("prefer", "code=429, dynamic=true".parse().unwrap());
        assert_eq!(
            preferred_code(&headers).unwrap().unwrap(),
            Preferred::Error(ErrorKind::TooManyRequests)
        );
        headers.insert("prefer", "code=201".parse().unwrap());
        assert_eq!(
            preferred_code(&headers).unwrap().unwrap(),
            Preferred::Success(201)
        );
        headers.insert("prefer", "code=418".parse().unwrap());
        assert!(preferred_code(&headers).unwrap().is_err());
        headers.insert("prefer", "return=minimal".parse().unwrap());
        assert!(preferred_code(&headers).is_none());
    }
}
