//! PostgreSQL going away under orb-mock: its connections killed under load, and the whole server
//! stopped for ten seconds (on a private cluster, so that other tests' server is never touched).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use orb_mock::test_env::{missing, SKIP_POSTGRES};
use serde_json::json;

use crate::common::{
    eventually, postgres_admin_url, sql, Client, Outcome, Persistent, Server, TestResponse,
    HANG_GUARD,
};

/// orb-mock's request timeout in these drills; no request may take much longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A request is "hung" when it has no answer this long after the request timeout.
const HANG_MARGIN: Duration = Duration::from_secs(8);

/// What the load saw during a blip: every answer is either a success or a transient 500.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    transient: AtomicUsize,
    problems: Mutex<Vec<String>>,
}

impl Tally {
    /// Records one outcome; `Transient-Error: true` 500s with an Orb body are the only allowed
    /// failures.
    fn record(&self, what: &str, outcome: Result<Outcome, tokio::time::error::Elapsed>) {
        let problem = match outcome {
            Err(_) => Some(format!(
                "{what}: no answer within {:?}",
                REQUEST_TIMEOUT + HANG_MARGIN
            )),
            Ok(Outcome::Answered(reply)) if reply.status.is_success() => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                None
            }
            Ok(Outcome::Answered(reply)) if is_transient_500(&reply) => {
                self.transient.fetch_add(1, Ordering::Relaxed);
                None
            }
            Ok(Outcome::Answered(reply)) => Some(format!(
                "{what}: {} {:?} {}",
                reply.status,
                reply.headers.get("transient-error"),
                reply.text()
            )),
            Ok(other) => Some(format!("{what}: {other:?}")),
        };
        if let Some(problem) = problem {
            self.problems.lock().expect("tally").push(problem);
        }
    }
}

fn is_transient_500(reply: &TestResponse) -> bool {
    if reply.status != StatusCode::INTERNAL_SERVER_ERROR {
        return false;
    }
    reply.assert_orb_error(500);
    reply
        .headers
        .get("transient-error")
        .is_some_and(|v| v == "true")
}

/// Killing orb-mock's PostgreSQL connections three times while 8 clients keep sending: no
/// request outlives the request timeout, every failure is a transient 500 Orb body, and
/// service comes back without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_postgres_connections_under_load_gives_only_transient_500s_and_recovers_by_itself() {
    let Some(store) = Persistent::postgres().await else {
        return;
    };
    let database = store
        .url
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let server = Server::start(
        &store.url,
        &["--request-timeout", "2s", "--deletion-delay", "1h"],
        &[],
    )
    .healthy()
    .await;
    let api = Client::socket(server.addr, "drill-pg-blip");
    let known = api.customer().await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for client in 0..8 {
        let (api, tally, stop, known) = (
            Client::socket(server.addr, "drill-pg-blip"),
            tally.clone(),
            stop.clone(),
            known.clone(),
        );
        load.spawn(async move {
            let mut turn = 0usize;
            while !stop.load(Ordering::Relaxed) {
                turn += 1;
                let (method, path, body) = match (client + turn) % 3 {
                    0 => (
                        Method::POST,
                        "/v1/customers".to_owned(),
                        Some(json!({"name": "Blip", "email": "blip@example.com"})),
                    ),
                    1 => (Method::GET, format!("/v1/customers/{known}"), None),
                    _ => (Method::GET, "/v1/customers?limit=5".to_owned(), None),
                };
                let what = format!("{method} {path}");
                let outcome = tokio::time::timeout(
                    REQUEST_TIMEOUT + HANG_MARGIN,
                    api.send(method, &path, body),
                )
                .await;
                tally.record(&what, outcome);
            }
        });
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut terminated = 0;
    for _ in 0..3 {
        terminated += sql::terminate_orb_mock_connections(&postgres_admin_url(), &database).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(joined) = load.join_next().await {
        joined.expect("a load task");
    }

    let problems = tally.problems.lock().expect("tally").clone();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        terminated > 0,
        "the drill killed some of orb-mock's connections"
    );
    eprintln!(
        "connection loss: {terminated} connections killed; {} answers ok, {} transient 500s",
        tally.ok.load(Ordering::Relaxed),
        tally.transient.load(Ordering::Relaxed)
    );

    // Service resumed by itself: the next requests all succeed.
    for _ in 0..20 {
        let reply = api
            .call(Method::GET, &format!("/v1/customers/{known}"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let created = api.customer().await;
    assert!(!created.is_empty());
    server.assert_no_panic();
    drop(server);
    store.cleanup().await;
}

/// A PostgreSQL cluster of the drill's own, in a temporary directory, on a free port.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// initdb refuses to run as root: then everything runs as the `postgres` user.
    as_postgres: bool,
}

impl Cluster {
    /// Creates (initdb) a cluster. When the PostgreSQL server binaries are not installed this
    /// fails, unless `ORB_MOCK_SKIP_POSTGRES=1` is set: then it is `None` (and says SKIPPED).
    fn create() -> Option<Cluster> {
        let Some(bin) = postgres_bin_dir() else {
            missing(
                "the PostgreSQL outage drill",
                "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/{initdb,pg_ctl})",
                SKIP_POSTGRES,
            );
            return None;
        };
        let as_postgres = is_root();
        let dir =
            std::env::temp_dir().join(format!("orb-mock-drill-pg-{}", orb_mock::store::new_id()));
        std::fs::create_dir_all(&dir).expect("a cluster directory");
        let cluster = Cluster {
            dir,
            bin,
            port: crate::common::free_port(),
            as_postgres,
        };
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .expect("chown runs");
            assert!(chown.success(), "chown the cluster directory to postgres");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one of the cluster's binaries (as `postgres` when we are root), asserting success.
    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("{tool} runs: {err}"));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}\n{}\nlog:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb` and `pg_ctl`.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (has(&bin, "initdb") && has(&bin, "pg_ctl")).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn has(dir: &Path, tool: &str) -> bool {
    dir.join(tool).is_file()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Customers deleted just before the outage; their cascades fall due during it.
const QUEUED: usize = 3;

/// PostgreSQL stopped for 10 s: health answers 503 and API requests transient 500s meanwhile;
/// once it is back, health recovers, requests work and the cascades that fell due during the
/// outage run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_ten_seconds_gives_503_health_then_everything_recovers_and_queued_cascades_drain(
) {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    cluster.start();
    // The delay is long enough that nothing cascades before PostgreSQL is stopped, and short
    // enough that every cascade falls due during the outage.
    let server = Server::start(
        &cluster.url(),
        &["--deletion-delay", "8s", "--request-timeout", "2s"],
        &[],
    )
    .healthy()
    .await;
    let api = Client::socket(server.addr, "drill-pg-outage");
    let mut deleted = Vec::new();
    for _ in 0..QUEUED {
        let customer = api.customer().await;
        api.subscription(&customer).await;
        api.draft_invoice(&customer).await;
        api.delete_customer(&customer).await;
        deleted.push(customer);
    }
    let pending = sql::deletions_in_state(&cluster.url(), "pending").await;
    assert_eq!(pending as usize, QUEUED, "the cascades are queued");

    let stopped_at = chrono::Utc::now();
    let outage = Instant::now();
    cluster.stop();
    let health = Client::socket(server.addr, "drill-pg-outage");
    let mut samples = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        let reply = tokio::time::timeout(
            REQUEST_TIMEOUT + HANG_MARGIN,
            health.call(Method::GET, "/_mock/health", None),
        )
        .await
        .expect("health answers during the outage");
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.text()
        );
        assert_eq!(reply.json(), json!({"status": "unavailable"}));
        samples += 1;
        let request = tokio::time::timeout(
            REQUEST_TIMEOUT + HANG_MARGIN,
            api.send(Method::GET, &format!("/v1/customers/{}", deleted[0]), None),
        )
        .await
        .expect("a request during the outage is answered");
        let reply = request.reply();
        assert!(
            is_transient_500(&reply),
            "a transient 500 while the store is down: {} {}",
            reply.status,
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(samples > 0);
    cluster.start();

    eventually(HANG_GUARD, "health recovers", || async {
        health.call(Method::GET, "/_mock/health", None).await.status == StatusCode::OK
    })
    .await;
    let created = api.customer().await;
    let reply = api
        .call(Method::GET, &format!("/v1/customers/{created}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    for customer in &deleted {
        let path = format!("/v1/customers/{customer}");
        eventually(HANG_GUARD, "the queued cascade ran", || async {
            api.call(Method::GET, &path, None).await.status == StatusCode::NOT_FOUND
        })
        .await;
    }
    let after_outage = sql::deletions_completed_after(&cluster.url(), stopped_at).await;
    assert_eq!(
        after_outage as usize, QUEUED,
        "every cascade ran after the outage began"
    );
    let violations = crate::common::invariant_violations(&cluster.url()).await;
    assert!(violations.is_empty(), "{violations:#?}");
    server.assert_no_panic();
}
