//! The `orb-mock` binary: flags, logging, and the server or the healthcheck.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use orb_mock::clock::Clock;
use orb_mock::config::{Cli, Command, Config, ListenAddress, LogFormat};
use orb_mock::server::{shutdown_signal, App, ReadyLine};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("orb-mock: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck {
        url,
        listen,
        timeout,
    }) = cli.command
    {
        let url = url.unwrap_or_else(|| listen.health_url());
        return match orb_mock::healthcheck::check(&url, timeout).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(reason) => {
                eprintln!("orb-mock healthcheck: {reason}");
                ExitCode::FAILURE
            }
        };
    }
    init_logging(&cli.config);
    match serve(cli.config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("orb-mock: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let app = App::start(&config, Clock::default()).await?;
    let listener = bind(&config.listen).await?;
    tracing::info!(
        "orb-mock {} listening on http://{}; store: {}; deletion delay {}",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?,
        orb_mock::store::describe_url(&config.database_url),
        humantime::format_duration(config.deletion_delay),
    );
    if let Err(err) = ReadyLine::new(listener.local_addr()?).announce() {
        tracing::warn!(error = %err, "cannot write the ready line to stdout");
    }
    app.serve(listener, shutdown_signal(), &config).await?;
    Ok(())
}

/// Binds the listen address (a host name is resolved, and its first address that binds wins). A
/// port already in use says so and how to pick another.
async fn bind(listen: &ListenAddress) -> Result<TcpListener, String> {
    TcpListener::bind((listen.host.as_str(), listen.port))
        .await
        .map_err(|err| {
            if err.kind() != std::io::ErrorKind::AddrInUse {
                return format!("cannot listen on {listen}: {err}");
            }
            let others = if listen.port == 4010 {
                " Port 4010 is also the default of Prism and Steady, two other API mock \
                 servers: is one of them running?"
            } else {
                ""
            };
            format!(
                "cannot listen on {listen}: the port is already in use.{others} Choose another \
                 address with --listen (or ORB_MOCK_LISTEN), e.g. --listen 127.0.0.1:4011, or \
                 --listen 127.0.0.1:0 for a free port."
            )
        })
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("orb_mock=info,tower_http=info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// glibc's malloc gives each thread that allocates (tokio's workers, each SQLite connection's
/// thread) an arena of its own, up to eight per core, and returns little of them: under load
/// that tripled orb-mock's resident memory in the benchmark (BENCHMARKS.md, "Memory") for no
/// measurable speed. Two arenas are plenty for a process this size. `MALLOC_ARENA_MAX` in the
/// environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc tunable, and main calls this before it starts
        // any thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
