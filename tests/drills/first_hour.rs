//! The first hour: what a new user meets when they start the binary. The start-up line names the
//! store, the address and the version; a store or a port that cannot be had says why, plainly;
//! each request's log line says why it failed, never with the API key; the healthcheck finds
//! the server where `--listen` put it; a host name is a listen address.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{free_port, sql, Client, Kind, Persistent, Server, HANG_GUARD};
use crate::on_both_persistent_stores;

/// A token that must never appear in a log.
const SECRET_TOKEN: &str = "sk_first_hour_secret_token_4f1c";

/// A password that must never appear in a log or an error.
const SECRET_PASSWORD: &str = "pw-never-shown-9d2e";

/// Runs `orb-mock` with these arguments and environment to its exit (it is expected to exit by
/// itself), within the hang guard.
async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_orb-mock"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("ORB_MOCK_LISTEN")
        .env_remove("ORB_MOCK_HEALTHCHECK_URL")
        .env("RUST_LOG", "orb_mock=info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::time::timeout(HANG_GUARD, command.output())
        .await
        .expect("orb-mock exits by itself")
        .expect("orb-mock runs")
}

/// The healthcheck subcommand's exit status, with this environment.
async fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> bool {
    let mut all = vec!["healthcheck", "--timeout", "2s"];
    all.extend_from_slice(args);
    run_to_exit(&all, env).await.status.success()
}

/// A server started with a listen address of the test's choosing (the harness picks its own),
/// its stderr kept in a file.
struct Listening {
    child: Child,
    stderr: PathBuf,
}

impl Listening {
    fn start(listen: &str) -> Listening {
        let stderr = std::env::temp_dir().join(format!(
            "orb-mock-first-hour-{}.stderr",
            orb_mock::store::new_id()
        ));
        let child = Command::new(env!("CARGO_BIN_EXE_orb-mock"))
            .args(["--listen", listen])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "orb_mock=info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(&stderr).expect("a stderr file"),
            ))
            .spawn()
            .expect("the binary starts");
        Listening { child, stderr }
    }

    /// The URL its start-up line announces, once it has written it.
    async fn announced_url(&mut self) -> String {
        let started = std::time::Instant::now();
        loop {
            let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            if let Some(url) = announced_url(&log) {
                return url;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("orb-mock exited ({status}) before it listened:\n{log}");
            }
            assert!(started.elapsed() < HANG_GUARD, "no start-up line:\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// The URL in a start-up line: `… listening on http://127.0.0.1:43567; store: …`.
fn announced_url(log: &str) -> Option<String> {
    let line = log.lines().find(|line| line.contains(" listening on "))?;
    let rest = &line[line.find(" listening on ")? + " listening on ".len()..];
    Some(rest.split(';').next()?.trim().to_owned())
}

/// The start-up line of a log.
fn start_up_line(log: &str) -> String {
    log.lines()
        .find(|line| line.contains(" listening on "))
        .unwrap_or_else(|| panic!("a start-up line in:\n{log}"))
        .to_owned()
}

#[tokio::test]
async fn the_start_up_line_says_sqlite_in_memory_the_address_and_the_version() {
    let server = Server::start("sqlite::memory:", &[], &[]).healthy().await;
    let line = start_up_line(&server.stderr());
    assert!(
        line.contains(&format!("orb-mock {}", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.contains(&format!("http://{}", server.addr)), "{line}");
    assert!(line.contains("store: SQLite in memory"), "{line}");
    assert!(!line.contains("store=Sqlite"), "{line}");
}

on_both_persistent_stores!(the_start_up_line_names_the_store_without_its_password);
/// The start-up line names the SQLite file, or the PostgreSQL host, port, database and
/// user, and never the password.
async fn the_start_up_line_names_the_store_without_its_password(store: &Persistent) {
    let url = match store.kind {
        Kind::Sqlite => store.url.clone(),
        // Trust authentication ignores the password; the line must not show it anyway.
        Kind::Postgres => store.url.replacen(
            "postgres://postgres@",
            &format!("postgres://postgres:{SECRET_PASSWORD}@"),
            1,
        ),
    };
    let server = Server::start(&url, &[], &[]).healthy().await;
    let log = server.stderr();
    let line = start_up_line(&log);
    assert!(line.contains(&format!("http://{}", server.addr)), "{line}");
    assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");
    match store.kind {
        Kind::Sqlite => {
            let file = store.url.trim_start_matches("sqlite://");
            assert!(
                line.contains(&format!("store: SQLite file {file}")),
                "{line}"
            );
        }
        Kind::Postgres => {
            let database = store.url.rsplit('/').next().expect("a database name");
            assert!(
                line.contains(&format!("store: PostgreSQL database {database} on ")),
                "{line}"
            );
            assert!(line.contains(" as postgres"), "{line}");
        }
    }
    assert!(!log.contains(SECRET_PASSWORD), "{log}");
}

/// An unreachable PostgreSQL: the error says the connection was refused, with the host and the
/// port, and without the password; not "pool timed out".
#[tokio::test]
async fn an_unreachable_postgresql_says_connection_refused_with_host_and_port() {
    let port = free_port().to_string();
    let url = format!("postgres://postgres:{SECRET_PASSWORD}@127.0.0.1:{port}/orb");
    let output = run_to_exit(&["--database-url", &url], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("PostgreSQL database orb"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(!stderr.contains(SECRET_PASSWORD), "{stderr}");
}

on_both_persistent_stores!(a_request_log_line_says_why_it_failed_and_never_the_token);
/// A 4xx's log line says its type and detail at INFO; a 5xx's says its cause at WARN; no
/// line carries the API key.
async fn a_request_log_line_says_why_it_failed_and_never_the_token(store: &Persistent) {
    let server = Server::start(&store.url, &[], &[]).healthy().await;
    let api = Client::socket(server.addr, SECRET_TOKEN);
    api.call(Method::GET, "/v1/customers/nobody-here", None)
        .await
        .assert_orb_error(404);
    let reply = api
        .call(Method::POST, "/v1/customers", Some(json!({"name": "N"})))
        .await;
    reply.assert_orb_error(400);

    // The store fails under orb-mock: the customers table is gone.
    sql::rename_table(&store.url, "customers", "customers_elsewhere").await;
    let reply = api
        .call(
            Method::POST,
            "/v1/customers",
            Some(json!({"name": "N", "email": "n@example.com"})),
        )
        .await;
    let body = reply.assert_orb_error(500);
    assert!(
        !body.to_string().contains("customers_elsewhere"),
        "no internals in the body: {body}"
    );
    sql::rename_table(&store.url, "customers_elsewhere", "customers").await;

    let log = server.stderr();
    let line_with = |needle: &str| {
        log.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("a log line with {needle:?}:\n{log}"))
            .to_owned()
    };
    let not_found = line_with("404-resource-not-found");
    assert!(not_found.contains("INFO"), "{not_found}");
    assert!(
        not_found.contains("GET /v1/customers/nobody-here 404"),
        "{not_found}"
    );
    assert!(
        not_found
            .contains("Could not find a resource of type Customer with identifier: nobody-here"),
        "{not_found}"
    );
    let invalid = line_with("400-request-validation-errors");
    assert!(invalid.contains("INFO"), "{invalid}");
    assert!(invalid.contains("email: field required"), "{invalid}");
    let failed = line_with("500-internal-server-error");
    assert!(failed.contains("WARN"), "{failed}");
    assert!(failed.contains("POST /v1/customers 500"), "{failed}");
    assert!(failed.contains("cause: store failure"), "{failed}");
    assert!(
        failed.contains("customers"),
        "the cause names what failed: {failed}"
    );
    assert!(
        !log.contains(SECRET_TOKEN),
        "the token is never logged:\n{log}"
    );
    server.assert_no_panic();
}

/// `orb-mock healthcheck` asks the address `--listen` / `ORB_MOCK_LISTEN` names, on loopback
/// for a wildcard address, so a container on another port becomes healthy.
#[tokio::test]
async fn the_healthcheck_asks_the_listen_address_and_wildcards_on_loopback() {
    let server = Server::start("sqlite::memory:", &[], &[]).healthy().await;
    let port = server.addr.port();
    let wildcard = format!("0.0.0.0:{port}");
    assert!(
        healthcheck(&[], &[("ORB_MOCK_LISTEN", &wildcard)]).await,
        "ORB_MOCK_LISTEN=0.0.0.0:{port}"
    );
    assert!(
        healthcheck(&["--listen", &server.addr.to_string()], &[]).await,
        "--listen"
    );
    assert!(
        healthcheck(&["--listen", &format!("localhost:{port}")], &[]).await,
        "a host name"
    );
    // The URL, when given, wins over the listen address.
    let url = format!("http://{}/_mock/health", server.addr);
    assert!(healthcheck(&["--url", &url], &[("ORB_MOCK_LISTEN", "127.0.0.1:1")]).await);
    let elsewhere = format!("127.0.0.1:{}", free_port());
    assert!(
        !healthcheck(&[], &[("ORB_MOCK_LISTEN", &elsewhere)]).await,
        "nothing listens there"
    );
}

/// `--listen localhost:0` is accepted: a host name, and port 0 for a free port, which the
/// start-up line announces.
#[tokio::test]
async fn a_host_name_and_port_0_listen_on_a_free_port_that_the_start_up_line_names() {
    let mut server = Listening::start("localhost:0");
    let url = server.announced_url().await;
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a port in {url}"));
    assert_ne!(port, 0, "{url}");
    let address = url
        .trim_start_matches("http://")
        .parse()
        .expect("an IP address and port");
    let reply = Client::socket(address, "first-hour")
        .call(Method::GET, "/_mock/health", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// A taken port says so and suggests `--listen`; on 4010 it also names Prism and Steady,
/// whose default port it is too.
#[tokio::test]
async fn a_taken_port_says_so_and_suggests_another_listen_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("its address").to_string();
    let output = run_to_exit(&["--listen", &address], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--listen 127.0.0.1:0"), "{stderr}");
    assert!(!stderr.contains("Prism"), "only 4010 is Prism's: {stderr}");

    // 4010, the default: held here if nothing else holds it already; taken either way.
    let _held = std::net::TcpListener::bind("127.0.0.1:4010");
    let output = run_to_exit(&[], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("Prism and Steady"), "{stderr}");
}

/// The test scripts ask cargo where the binary is, so they work with `CARGO_TARGET_DIR` set;
/// none hard-codes `target/debug/orb-mock`.
#[test]
fn the_test_scripts_find_the_binary_where_cargo_puts_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let elsewhere =
        std::env::temp_dir().join(format!("orb-mock-target-{}", orb_mock::store::new_id()));
    let output = Command::new("bash")
        .args([
            "-c",
            "set -euo pipefail; ROOT=\"$PWD\"; source tests/lib.sh; cargo_target_dir",
        ])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &elsewhere)
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        elsewhere.display().to_string(),
        "{stderr}"
    );

    for script in [
        "tests/sdk/run.sh",
        "tests/schemathesis/run.sh",
        "tests/readme/run.sh",
    ] {
        let text =
            std::fs::read_to_string(std::path::Path::new(root).join(script)).expect("the script");
        assert!(
            text.contains("orb_mock_bin"),
            "{script} asks tests/lib.sh for the binary"
        );
        assert!(
            !text.contains("target/debug/orb-mock"),
            "{script} hard-codes the binary's path"
        );
    }
}
