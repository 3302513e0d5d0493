//! Over a real socket: the server as users run it, including the `orb-mock` binary itself,
//! its healthcheck subcommand and its graceful shutdown.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use orb_mock::clock::Clock;
use orb_mock::server::App;
use serde_json::{json, Value};

use crate::common::{free_port, poll_until, test_config, Client, Outcome, Persistent, Server};
use crate::on_both_persistent_stores;

/// One HTTP/1.1 request on a fresh connection.
async fn http(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let response = Client::socket(addr, "socket-test")
        .call(method, path, body)
        .await;
    (response.status, response.bytes)
}

on_both_persistent_stores!(
    the_delete_flow_works_over_a_real_socket_with_the_worker_running_the_cascade
);
/// The whole flow on a real socket, with the in-process worker (woken by the DELETE, delay
/// 0) running the cascade by itself; then a graceful shutdown.
async fn the_delete_flow_works_over_a_real_socket_with_the_worker_running_the_cascade(
    store: &Persistent,
) {
    let mut config = test_config(&store.url);
    config.deletion_delay = Duration::ZERO;
    let served = Served::start(config).await;
    let addr = served.addr;

    // Asserts the 201.
    let id = Client::socket(addr, "socket-test").customer().await;
    let (status, body) = http(
        addr,
        Method::POST,
        "/v1/subscriptions",
        Some(json!({"customer_id": id, "plan_id": "p"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body:?}");
    let (status, body) = http(addr, Method::DELETE, &format!("/v1/customers/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    let gone = poll_until(Duration::from_secs(10), || async {
        http(addr, Method::GET, &format!("/v1/customers/{id}"), None)
            .await
            .0
            == StatusCode::NOT_FOUND
    })
    .await;
    assert!(
        gone,
        "the worker completes the cascade without being driven"
    );
    let (_, subscriptions) = http(addr, Method::GET, "/v1/subscriptions", None).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&subscriptions).unwrap()["data"],
        json!([])
    );

    orb_mock::healthcheck::check(
        &format!("http://{addr}/_mock/health"),
        Duration::from_secs(3),
    )
    .await
    .expect("healthy while serving");
    served.stop().await;
    assert!(
        orb_mock::healthcheck::check(
            &format!("http://{addr}/_mock/health"),
            Duration::from_secs(3)
        )
        .await
        .is_err(),
        "nothing answers after shutdown"
    );
}

/// An app (with its worker) served on a free local port until [`Served::stop`].
struct Served {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), orb_mock::server::ServeError>>,
}

impl Served {
    async fn start(config: orb_mock::config::Config) -> Served {
        let app = App::start(&config, Clock::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve(
                listener,
                async {
                    let _ = stopped.await;
                },
                &config,
            )
            .await
        });
        Served { addr, stop, server }
    }

    /// Shuts down gracefully, asserting that the shutdown succeeds.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.server
            .await
            .unwrap()
            .expect("a graceful shutdown returns Ok");
    }
}

fn healthcheck(port: u16) -> bool {
    Command::new(env!("CARGO_BIN_EXE_orb-mock"))
        .args([
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{port}/_mock/health"),
        ])
        .stderr(Stdio::null())
        .status()
        .expect("healthcheck runs")
        .success()
}

/// Sends `signal` to the binary and waits (at most 20 s) until it exits.
async fn signal_and_wait(mut server: Server, signal: &str) -> std::process::ExitStatus {
    server.signal(signal);
    server.exited(Duration::from_secs(20)).await
}

/// The binary on `port` against `database_url`.
fn spawn_binary(database_url: &str, port: u16) -> Server {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Server::start_on(addr, database_url, &["--deletion-delay", "1h"], &[])
}

on_both_persistent_stores!(the_binary_exits_0_on_sigint_and_sigterm_and_keeps_what_it_committed);
/// The binary: `healthcheck` says 0 while it runs and 1 once it is gone; SIGINT and SIGTERM
/// exit 0; what it committed is there after a restart.
async fn the_binary_exits_0_on_sigint_and_sigterm_and_keeps_what_it_committed(store: &Persistent) {
    let port = free_port();
    let server = spawn_binary(&store.url, port);
    let up = poll_until(Duration::from_secs(20), || async { healthcheck(port) }).await;
    assert!(up, "orb-mock answers its healthcheck");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (status, body) = http(
        addr,
        Method::POST,
        "/customers",
        Some(json!({"name": "K", "email": "k@example.com", "external_customer_id": "kept"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        http(addr, Method::DELETE, &format!("/customers/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let status = signal_and_wait(server, "-INT").await;
    assert!(status.success(), "exit code 0 after SIGINT, got {status}");
    assert!(!healthcheck(port), "healthcheck fails when nothing answers");

    let server = spawn_binary(&store.url, port);
    assert!(poll_until(Duration::from_secs(20), || async { healthcheck(port) }).await);
    let (status, body) = http(
        addr,
        Method::GET,
        "/customers/external_customer_id/kept",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"id": id, "deleted": true})
    );
    assert!(signal_and_wait(server, "-TERM").await.success());
}

on_both_persistent_stores!(a_close_fault_drops_the_connection_without_an_answer);
/// A `close` fault drops the connection without an answer (a client sees the server
/// disconnect), the journal records it with a null status, and the next request is served.
async fn a_close_fault_drops_the_connection_without_an_answer(store: &Persistent) {
    let config = test_config(&store.url);
    let served = Served::start(config).await;
    let addr = served.addr;
    let (status, _) = http(
        addr,
        Method::POST,
        "/_mock/faults",
        Some(json!({"path": "/customers", "close": true, "times": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let outcome = Client::socket(addr, "socket-test")
        .send(Method::GET, "/v1/customers", None)
        .await;
    assert!(
        !matches!(outcome, Outcome::Answered(_)),
        "no complete answer arrives"
    );

    let (status, _) = http(addr, Method::GET, "/v1/customers", None).await;
    assert_eq!(status, StatusCode::OK, "the rule is spent; service goes on");
    let (_, journal) = http(addr, Method::GET, "/_mock/requests", None).await;
    let entries = serde_json::from_slice::<Value>(&journal).unwrap()["data"].clone();
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(
        entries[1]["status"],
        Value::Null,
        "the dropped request has no status"
    );
    served.stop().await;
}

/// Clients that go away mid-request (SDK timeouts, a load generator stopping) must not break
/// the store: 300 requests sent and dropped at once leave every connection usable, and on
/// in-memory SQLite (one connection, which a broken state would replace with an empty
/// database) nothing committed is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_disconnect_mid_request_leave_the_store_intact() {
    use tokio::io::AsyncWriteExt;
    let served = Served::start(test_config("sqlite::memory:")).await;
    let addr = served.addr;
    // Asserts the 201.
    let kept = Client::socket(addr, "socket-test").customer().await;

    let body = json!({"name": "Gone", "email": "g@example.com"}).to_string();
    let mut tasks = Vec::new();
    for i in 0..300u32 {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let request = format!(
                "POST /v1/customers HTTP/1.1\r\nhost: x\r\nauthorization: Bearer socket-test\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            // Leave at different moments: before, during and after the handler's transaction.
            tokio::time::sleep(Duration::from_micros(u64::from(i % 7) * 150)).await;
            drop(stream);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for _ in 0..20 {
        let (status, _) = http(
            addr,
            Method::POST,
            "/v1/customers",
            Some(json!({"name": "After", "email": "a@example.com"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "writes still work");
    }
    let (status, _) = http(addr, Method::GET, &format!("/v1/customers/{kept}"), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "what was committed before is still there"
    );
    served.stop().await;
}

/// A client that writes its whole body before it reads (Python's `urllib` does) still reads
/// the early 413 for a declared length over the limit: orb-mock reads and discards the rest
/// of the body before it closes (a lingering close), instead of resetting the connection under
/// the client's feet. Ten times over, since a reset used to win most races.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_writes_a_2_mib_body_before_reading_gets_the_413() {
    let served = Served::start(test_config("sqlite::memory:")).await;
    let addr = served.addr;
    for round in 0..10 {
        let answer = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let body = vec![b'x'; 2 * 1024 * 1024];
            let head = format!(
                "POST /v1/customers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer linger\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).expect("the head is sent");
            stream
                .write_all(&body)
                .expect("the whole body is sent, not reset");
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).expect("the answer is read");
            String::from_utf8_lossy(&answer).into_owned()
        })
        .await
        .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "round {round}: {answer:?}"
        );
        assert!(
            answer.contains("413-request-too-large"),
            "round {round}: {answer}"
        );
    }
    served.stop().await;
}

on_both_persistent_stores!(the_worker_runs_due_work_of_a_moved_account_on_that_accounts_clock);
/// The background worker, not only a move, runs an account's due work on its moved clock: a
/// deletion and a subscription end fall due a second after a year-ahead "now", and happen
/// without another move.
async fn the_worker_runs_due_work_of_a_moved_account_on_that_accounts_clock(store: &Persistent) {
    let served = Served::start(test_config(&store.url)).await;
    let api = Client::socket(served.addr, "socket-moved-clock");
    let moved = api
        .call(
            Method::POST,
            "/_mock/clock",
            Some(json!({"advance": "365d"})),
        )
        .await
        .json();
    let moved_now = chrono::DateTime::parse_from_rfc3339(moved["now"].as_str().unwrap()).unwrap();
    let settings = api
        .call(
            Method::PATCH,
            "/_mock/settings",
            Some(json!({"deletion_delay": "1s"})),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.text());
    let deleted = api.customer().await;
    let kept = api.customer().await;
    // A few seconds ahead of the account's time as it is now, however slow the machine.
    let clock = api.call(Method::GET, "/_mock/clock", None).await.json();
    let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap()).unwrap();
    assert!(now >= moved_now, "the clock runs on from the move");
    let end = (now + chrono::Duration::seconds(3)).to_rfc3339();
    let subscription = api
        .call(
            Method::POST,
            "/subscriptions",
            Some(json!({"customer_id": kept, "plan_id": "p", "end_date": end})),
        )
        .await
        .created();
    api.delete_customer(&deleted).await;
    let sub_path = format!("/subscriptions/{}", subscription["id"].as_str().unwrap());
    let done = poll_until(Duration::from_secs(20), || async {
        let customer = api
            .call(Method::GET, &format!("/customers/{deleted}"), None)
            .await;
        let sub = api.call(Method::GET, &sub_path, None).await.json();
        customer.status == 404 && sub["status"] == "ended"
    })
    .await;
    assert!(
        done,
        "the worker ran the moved account's deletion and subscription end"
    );
    served.stop().await;
}
