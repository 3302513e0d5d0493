//! Orb's webhook signature: `X-Orb-Signature: v1=<hex>`, an HMAC-SHA256 keyed with the
//! endpoint's secret (as UTF-8) of `v1:{X-Orb-Timestamp}:{raw body}`, where `X-Orb-Timestamp` is
//! a naive UTC timestamp with milliseconds (`2024-03-27T15:42:29.551`: no `Z`, no offset; the Go
//! and Java SDKs refuse a zone suffix).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signing time.
pub const TIMESTAMP_HEADER: &str = "X-Orb-Timestamp";
/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Orb-Signature";

/// `X-Orb-Timestamp` for an instant: UTC, milliseconds, no zone.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// The hex HMAC-SHA256 of `v1:{timestamp}:{body}` under `secret`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(b"v1:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The value of `X-Orb-Signature`: exactly one `v1=` entry.
pub fn signature_header(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!("v1={}", signature(secret, timestamp, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Python SDK's own webhook tests (`orb-billing` 4.90.0).
    #[test]
    fn the_signer_reproduces_the_python_sdk_test_vector() {
        let body = r#"{"id": "o4mmewpfNNTnjfZc", "created_at": "2024-03-27T15:42:29+00:00", "type": "resource_event.test", "properties": {"message": "A test webhook from Orb. Happy testing!"}}"#;
        assert_eq!(
            signature(
                "c-UGKYdnhHh436B_sMouYAPUvXyWpzOdunZBV5dFSD8",
                "2024-03-27T15:42:29.551",
                body.as_bytes()
            ),
            "9d25de966891ab0bc18754faf8d83d0980b44ae330fcc130b41a6cf3daf1f391"
        );
    }

    #[test]
    fn the_timestamp_is_naive_utc_with_milliseconds() {
        let at = DateTime::parse_from_rfc3339("2024-03-27T15:42:29.551789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(at), "2024-03-27T15:42:29.551");
        let whole = DateTime::parse_from_rfc3339("2024-03-27T15:42:29Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(whole), "2024-03-27T15:42:29.000");
    }

    /// The Go SDK parses the header with the layout `2006-01-02T15:04:05.999999999` (no zone):
    /// in chrono's terms, a naive date-time with optional fractional seconds and nothing after.
    #[test]
    fn the_timestamp_parses_with_the_go_sdks_zone_less_layout() {
        let stamp = timestamp(Utc::now());
        let parsed = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%dT%H:%M:%S%.f");
        assert!(parsed.is_ok(), "{stamp} does not parse without a zone");
        assert!(!stamp.ends_with('Z') && !stamp.contains('+'));
    }
}
