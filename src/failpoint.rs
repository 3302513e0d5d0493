//! Crash points for the reliability drills (`tests/drills`): `ORB_MOCK_FAILPOINT=<name>` makes
//! the process abort, as `kill -9` would, when it reaches the point of that name. Compiled only
//! into debug builds (`cfg(debug_assertions)`), so a release binary has no failpoints at all.
//!
//! Points: `cascade-before-claim` (a cascade is due, nothing claimed yet), `cascade-mid` (the
//! customer's subscriptions soft-deleted, its invoices not yet), `cascade-before-commit` (the
//! whole cascade written, not committed), `cascade-after-commit`.

use std::sync::OnceLock;

/// Whether `ORB_MOCK_FAILPOINT` names this point (read once per process).
pub fn armed(name: &str) -> bool {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var("ORB_MOCK_FAILPOINT").ok())
        .as_deref()
        == Some(name)
}

/// Aborts the process here if this point is armed.
pub fn hit(name: &str) {
    if armed(name) {
        eprintln!("orb-mock: failpoint {name} hit; aborting");
        std::process::abort();
    }
}
