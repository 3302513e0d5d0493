//! Putting it together: connect the store, start the worker, serve HTTP until told to
//! stop, then shut down in order (stop accepting, finish in-flight requests within the shutdown
//! timeout, let the worker finish or roll back its batch, close the store).

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::{self, ApiConfig, AppState};
use crate::store::{describe_url, ConnectOptions, Store, StoreError};
use crate::worker::{self, Waker};

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not open the store ({store}): {source}")]
    Store { store: String, source: StoreError },
    #[error("could not load fixtures: {0}")]
    Fixtures(#[from] crate::http::control::fixtures::FileError),
    #[error("{0}")]
    Spec(#[from] crate::spec::SpecError),
    #[error("HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A connected, running orb-mock minus the HTTP listener: its state and its worker.
pub struct App {
    pub state: AppState,
    /// The worker and the sweeper, when they run.
    worker: Vec<JoinHandle<()>>,
    stop_worker: CancellationToken,
}

/// Whether an app runs its own worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// The normal case: cascades run by themselves when due.
    Run,
    /// Cascades run only when something drains the queue (tests that drive it step by step,
    /// so that no background worker races them).
    Off,
}

impl App {
    /// Connects to the configured store (migrating it) and starts the worker.
    pub async fn start(config: &Config, clock: Clock) -> Result<App, ServeError> {
        App::start_with(config, clock, Worker::Run).await
    }

    /// Like [`App::start`], choosing whether the worker runs.
    pub async fn start_with(
        config: &Config,
        clock: Clock,
        worker: Worker,
    ) -> Result<App, ServeError> {
        // Before the store, so that a bad document fails fast and leaves nothing to close.
        let spec = match &config.spec {
            Some(path) => {
                let spec = crate::spec::Spec::load(path, config.spec_seed)?;
                tracing::info!(
                    file = %path.display(),
                    operations = spec.operations().len(),
                    "OpenAPI document loaded"
                );
                Some(Arc::new(spec))
            }
            None => None,
        };
        let mut options = ConnectOptions::new(&config.database_url);
        options.max_connections = config.max_connections;
        let store = Store::connect(&options)
            .await
            .map_err(|source| ServeError::Store {
                store: describe_url(&config.database_url),
                source,
            })?;
        if let Some(path) = &config.fixtures {
            let loaded = crate::http::control::fixtures::load_file(&store, path, clock.now()).await;
            match loaded {
                Ok(count) => {
                    tracing::info!(file = %path.display(), resources = count, "fixtures loaded")
                }
                Err(err) => {
                    store.close().await;
                    return Err(err.into());
                }
            }
        }
        let mut app = App::with_store(store, config, clock, worker);
        app.state.spec = spec;
        Ok(app)
    }

    /// An app on an already connected store.
    pub fn with_store(store: Store, config: &Config, clock: Clock, worker: Worker) -> App {
        store.set_courier(Arc::new(crate::webhooks::Outbound::new(
            crate::webhooks::DeliverySettings {
                timeout: config.webhook_timeout,
                retry: crate::store::RetryPolicy {
                    base: config.webhook_retry_base,
                    max_attempts: i32::from(config.webhook_max_attempts),
                    ..Default::default()
                },
            },
        )));
        store.set_configured_endpoint(match (&config.webhook_url, &config.webhook_secret) {
            (Some(url), Some(secret)) => Some(crate::store::ConfiguredEndpoint {
                url: url.clone(),
                secret: secret.clone(),
            }),
            _ => None,
        });
        let waker = Waker::default();
        let stop_worker = CancellationToken::new();
        let worker = match worker {
            Worker::Run => vec![
                tokio::spawn(worker::run(
                    store.clone(),
                    clock.clone(),
                    waker.clone(),
                    stop_worker.clone(),
                )),
                tokio::spawn(worker::sweep(
                    store.clone(),
                    clock.clone(),
                    stop_worker.clone(),
                )),
            ],
            Worker::Off => Vec::new(),
        };
        // Not work, so with or without the worker: other processes' clock moves.
        let mut worker = worker;
        worker.push(tokio::spawn({
            let (store, stop) = (store.clone(), stop_worker.clone());
            async move { store.follow_clocks(stop).await }
        }));
        let state = AppState {
            store,
            clock,
            waker,
            config: Arc::new(ApiConfig {
                deletion_delay: config.deletion_delay,
                api_keys: config
                    .api_keys
                    .iter()
                    .filter(|k| !k.is_empty())
                    .cloned()
                    .collect(),
                max_body_bytes: config.max_body_bytes,
                request_timeout: config.request_timeout,
            }),
            control: Arc::new(crate::http::control::Control::new(
                config.journal_size,
                config.rate_limit,
            )),
            tasks: tokio_util::task::TaskTracker::new(),
            spec: None,
        };
        App {
            state,
            worker,
            stop_worker,
        }
    }

    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then shuts down in order.
    ///
    /// Connections are served by hyper's HTTP/1.1 server directly (axum::serve offers no
    /// header-read timeout): a client that has not sent its headers within
    /// `--header-read-timeout` is disconnected, and headers over [`MAX_HEADER_BYTES`] get 431.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        config: &Config,
    ) -> Result<(), ServeError> {
        let router = self.router();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(
                (!config.header_read_timeout.is_zero()).then_some(config.header_read_timeout),
            )
            .max_header_size(MAX_HEADER_BYTES);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        accept_failed(err).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let service = TowerToHyperService::new(router.clone());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: no new connections; finishing in-flight requests");
        if tokio::time::timeout(config.shutdown_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "in-flight requests did not finish within {:?}; closing them",
                config.shutdown_timeout
            );
        }
        // Requests whose clients left are still finishing (or rolling back) on their tasks.
        self.state.tasks.close();
        if tokio::time::timeout(config.shutdown_timeout, self.state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "abandoned requests did not finish within {:?}",
                config.shutdown_timeout
            );
        }
        self.stop().await;
        Ok(())
    }

    /// Stops the worker (after its current job) and closes the store.
    pub async fn stop(self) {
        self.stop_worker.cancel();
        for worker in self.worker {
            if let Err(err) = worker.await {
                tracing::error!(error = %err, "worker ended abnormally");
            }
        }
        self.state.store.close().await;
        tracing::info!("stopped");
    }
}

/// The one line orb-mock writes to stdout once it listens and its store is ready, so that a
/// program that started it (the test kits, a CI script) learns the address without parsing log
/// text (README, "Starting orb-mock from a program"):
/// `{"event":"listening","address":"127.0.0.1:43567","url":"http://127.0.0.1:43567","version":"0.1.0"}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ReadyLine {
    /// Always `listening`.
    pub event: String,
    /// The address bound (the real port when `--listen` asked for port 0).
    pub address: SocketAddr,
    /// Where to connect: `address`, with a loopback address in place of an unspecified one
    /// (`0.0.0.0`, `::`).
    pub url: String,
    /// orb-mock's version.
    pub version: String,
}

impl ReadyLine {
    pub fn new(address: SocketAddr) -> ReadyLine {
        let mut reachable = address;
        if address.ip().is_unspecified() {
            reachable.set_ip(match address {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        ReadyLine {
            event: "listening".to_owned(),
            address,
            url: format!("http://{reachable}"),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Writes the line to stdout and flushes it.
    pub fn announce(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, self)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// Largest request head (request line and headers) accepted; a larger one is answered 431 and
/// the connection closed.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// A failed `accept`: a connection that vanished before it was accepted is nothing; anything
/// else (such as running out of file descriptors) is logged and waited out, so that the loop
/// does not spin.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
