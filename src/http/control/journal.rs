//! The request journal (`GET /_mock/requests`): what the code under test sent to Orb's routes,
//! per account, newest first, bounded.
//!
//! Recording is on the request path, so it only moves owned values into a ring buffer behind a
//! short lock; the body is kept as received and is parsed only when someone reads the journal.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One recorded request and how it was answered.
#[derive(Debug, Clone)]
pub struct Entry {
    pub method: Method,
    /// Orb's resource path, without `/v1`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// `None` when orb-mock closed the connection without an answer (a `close` fault).
    pub status: Option<u16>,
    /// Who answered: orb-mock's model, or the OpenAPI document (`--spec`).
    pub source: Source,
    pub timestamp: DateTime<Utc>,
}

/// Who answered a request, as the `X-Orb-Mock-Source` header and the journal say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// orb-mock's own, stateful handlers (and its refusals: auth, limits, faults).
    #[default]
    Model,
    /// Generated or validated from the OpenAPI document given with `--spec`.
    Spec,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Spec => "spec",
        }
    }
}

/// An entry as `GET /_mock/requests` shows it.
#[derive(Debug, Serialize)]
pub struct EntryView {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: serde_json::Map<String, Value>,
    /// The body as JSON when it parses, else as text; `null` when empty.
    pub body: Value,
    pub status: Option<u16>,
    pub source: Source,
    pub timestamp: DateTime<Utc>,
}

impl From<&Entry> for EntryView {
    fn from(entry: &Entry) -> Self {
        let body = if entry.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&entry.body).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&entry.body).into_owned())
            })
        };
        EntryView {
            method: entry.method.to_string(),
            path: entry.path.clone(),
            query: entry.query.clone(),
            headers: entry
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect(),
            body,
            status: entry.status,
            source: entry.source,
            timestamp: entry.timestamp,
        }
    }
}

/// Whether a request header is worth recording. `Authorization` never is: the journal must not
/// hold API keys.
pub fn recorded_header(name: &str) -> bool {
    matches!(
        name,
        "content-type" | "accept" | "user-agent" | "idempotency-key" | "prefer"
    ) || name.starts_with("x-stainless-")
}

/// The recorded headers of a request, lower-case names.
pub fn recorded_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| recorded_header(name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Every account's journal.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    accounts: Mutex<HashMap<String, VecDeque<Entry>>>,
}

impl Journal {
    /// A journal keeping `capacity` entries per account; 0 keeps none.
    pub fn new(capacity: usize) -> Journal {
        Journal {
            capacity,
            accounts: Mutex::default(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    pub fn record(&self, account: &str, entry: Entry) {
        if !self.is_enabled() {
            return;
        }
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let entries = match accounts.get_mut(account) {
            Some(entries) => entries,
            None => accounts.entry(account.to_owned()).or_default(),
        };
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The account's entries, newest first, optionally only one method and a path prefix.
    pub fn entries(
        &self,
        account: &str,
        method: Option<&Method>,
        path_prefix: Option<&str>,
    ) -> Vec<EntryView> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entries) = accounts.get(account) else {
            return Vec::new();
        };
        entries
            .iter()
            .rev()
            .filter(|entry| method.is_none_or(|method| entry.method == method))
            .filter(|entry| path_prefix.is_none_or(|prefix| entry.path.starts_with(prefix)))
            .map(EntryView::from)
            .collect()
    }

    pub fn clear(&self, account: &str) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            method: Method::GET,
            path: path.to_owned(),
            query: None,
            headers: Vec::new(),
            body: Bytes::new(),
            status: Some(200),
            source: Source::Model,
            timestamp: Utc::now(),
        }
    }

    #[test]
    fn a_full_journal_drops_its_oldest_entry() {
        let journal = Journal::new(2);
        for path in ["/a", "/b", "/c"] {
            journal.record("acct", entry(path));
        }
        let paths: Vec<String> = journal
            .entries("acct", None, None)
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["/c", "/b"]);
    }

    #[test]
    fn a_zero_sized_journal_records_nothing() {
        let journal = Journal::new(0);
        journal.record("acct", entry("/a"));
        assert!(journal.entries("acct", None, None).is_empty());
    }

    #[test]
    fn the_authorization_header_is_never_recorded() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer secret".parse().unwrap());
        headers.insert("idempotency-key", "k1".parse().unwrap());
        headers.insert("x-stainless-retry-count", "2".parse().unwrap());
        let recorded = recorded_headers(&headers);
        assert!(recorded.iter().all(|(name, _)| name != "authorization"));
        assert_eq!(recorded.len(), 2);
    }
}
