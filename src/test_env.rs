//! What orb-mock's own tests need from the machine they run on, and what they do when it is
//! missing. Not part of orb-mock's API: the unit tests in `src/` and the suites in `tests/` share
//! it so that every check finds Orb's OpenAPI document in one way and every missing requirement
//! is answered in one way (README, "The two commands").
//!
//! A missing requirement fails the test with a message naming its opt-out variable. Only with
//! the opt-out set to `1` does the test skip instead, saying so on stderr; `CI=true` ignores the
//! opt-outs, so CI never skips.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// The opt-out that lets PostgreSQL tests skip when PostgreSQL is unreachable.
pub const SKIP_POSTGRES: &str = "ORB_MOCK_SKIP_POSTGRES";

/// The opt-out that lets the checks against Orb's OpenAPI document skip when it is missing.
pub const SKIP_OPENAPI: &str = "ORB_MOCK_SKIP_OPENAPI";

/// The variable naming Orb's OpenAPI document.
pub const OPENAPI: &str = "ORB_OPENAPI";

/// Where Orb's document is looked for when `ORB_OPENAPI` is unset, from the project root.
pub const DEFAULT_OPENAPI: &str = "../shared/orb-openapi/orb-openapi-4.69.0.json";

/// Where Orb's OpenAPI document is: `ORB_OPENAPI` (a relative path is read from the project
/// root), else [`DEFAULT_OPENAPI`].
pub fn orb_openapi_path() -> PathBuf {
    let named = std::env::var_os(OPENAPI).filter(|path| !path.is_empty());
    let path = named.map_or_else(|| PathBuf::from(DEFAULT_OPENAPI), PathBuf::from);
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Orb's OpenAPI document, read once per process. When it cannot be read, the check `what`
/// fails naming [`SKIP_OPENAPI`], or (opted out) is skipped: then this returns `None`.
pub fn orb_openapi(what: &str) -> Option<&'static Value> {
    static DOCUMENT: OnceLock<Result<Value, String>> = OnceLock::new();
    let path = orb_openapi_path();
    let document = DOCUMENT.get_or_init(|| {
        let text = std::fs::read_to_string(&path).map_err(|err| err.to_string())?;
        serde_json::from_str(&text).map_err(|err| format!("not valid JSON: {err}"))
    });
    match document {
        Ok(document) => Some(document),
        Err(err) => {
            let requirement = format!(
                "Orb's OpenAPI document at {} ({err}; {OPENAPI} names it)",
                path.display()
            );
            missing(what, &requirement, SKIP_OPENAPI);
            None
        }
    }
}

/// Answers a missing requirement of the check `what`: panics with a message naming `opt_out`,
/// unless `opt_out=1` is set outside CI, in which case it says SKIPPED on stderr and returns.
pub fn missing(what: &str, requirement: &str, opt_out: &str) {
    let opted_out = std::env::var(opt_out).is_ok_and(|value| value == "1");
    let ci = std::env::var("CI").is_ok_and(|value| value == "true");
    if !opted_out {
        panic!(
            "{what} needs {requirement}, which is missing. Provide it, or set {opt_out}=1 to \
             skip the checks that need it (CI=true never skips)."
        );
    }
    if ci {
        panic!(
            "{what} needs {requirement}, which is missing; {opt_out}=1 is set, but CI=true \
             never skips."
        );
    }
    eprintln!("\n*** SKIPPED ({opt_out}=1): {what} did not run: {requirement} is missing. ***\n");
}

/// Runs one test of the current test binary in a child process, exactly, with `env` set and
/// `unset` and `CI` removed: how the tests of the opt-outs watch a requirement fail (or skip)
/// without failing themselves. Returns how it ended and everything it printed.
pub fn run_probe(
    test: &str,
    env: &[(&str, &str)],
    unset: &[&str],
) -> (std::process::Output, String) {
    let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args([test, "--exact", "--nocapture"])
        .env_remove("CI");
    for name in unset {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("running 1 test"), "the probe ran: {text}");
    (output, text)
}

#[cfg(test)]
mod tests {
    use std::process::Output;

    use super::*;

    /// The probe the tests below run in a child process: the document `ORB_OPENAPI` names is an
    /// OpenAPI 3 document with paths (a wrong file is caught here, not by stranger failures).
    #[test]
    fn orbs_openapi_document_is_an_openapi_3_document_with_paths() {
        let Some(document) = orb_openapi("the OpenAPI version check") else {
            return;
        };
        let version = document["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3."), "openapi: {version:?}");
        assert!(document["paths"]["/customers/{customer_id}"].is_object());
    }

    /// Runs the probe in this test binary with Orb's document named at a path that does not
    /// exist, with `env` set (it may name another path) and the opt-out and `CI` otherwise
    /// unset.
    fn probe_without_the_document(env: &[(&str, &str)]) -> (Output, String) {
        let mut env = env.to_vec();
        if !env.iter().any(|(name, _)| *name == OPENAPI) {
            env.insert(0, (OPENAPI, "/nonexistent/orb-openapi.json"));
        }
        run_probe(
            "test_env::tests::orbs_openapi_document_is_an_openapi_3_document_with_paths",
            &env,
            &[SKIP_OPENAPI],
        )
    }

    #[test]
    fn a_check_that_needs_orbs_document_fails_naming_the_opt_out_when_the_document_is_missing() {
        let (output, text) = probe_without_the_document(&[]);
        assert!(!output.status.success(), "the check failed: {text}");
        assert!(text.contains("ORB_MOCK_SKIP_OPENAPI=1"), "{text}");
        assert!(text.contains("/nonexistent/orb-openapi.json"), "{text}");
    }

    #[test]
    fn the_openapi_opt_out_skips_loudly_outside_ci_and_never_under_ci() {
        let (output, text) = probe_without_the_document(&[(SKIP_OPENAPI, "1")]);
        assert!(
            output.status.success(),
            "opted out, the check skips: {text}"
        );
        assert!(text.contains("SKIPPED (ORB_MOCK_SKIP_OPENAPI=1)"), "{text}");

        let (output, text) = probe_without_the_document(&[(SKIP_OPENAPI, "1"), ("CI", "true")]);
        assert!(!output.status.success(), "CI=true never skips: {text}");
        assert!(text.contains("CI=true never skips"), "{text}");
    }

    #[test]
    fn a_relative_orb_openapi_is_read_from_the_project_root() {
        let (output, text) = probe_without_the_document(&[(OPENAPI, "no-such-dir/orb.json")]);
        assert!(!output.status.success(), "the check failed: {text}");
        let expected = concat!(env!("CARGO_MANIFEST_DIR"), "/no-such-dir/orb.json");
        assert!(text.contains(expected), "{text}");
    }
}
