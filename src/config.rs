//! Command-line flags and environment variables (SPEC §1). Every flag has an `env` twin, so the
//! same settings work on a laptop, in a test harness and in `docker compose`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "orb-mock",
    version,
    about = "A local, stateful emulator of the Orb billing API",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exit 0 when a running orb-mock answers its health route (for Docker HEALTHCHECK, where
    /// images have no curl), 1 otherwise.
    Healthcheck {
        /// The health route to ask.
        #[arg(
            long,
            env = "ORB_MOCK_HEALTHCHECK_URL",
            default_value = "http://127.0.0.1:4010/_mock/health"
        )]
        url: String,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "ORB_MOCK_LISTEN", default_value = "127.0.0.1:4010")]
    pub listen: SocketAddr,

    /// Store: `sqlite::memory:` (fresh each start), `sqlite://path.db` (created if missing), or
    /// `postgres://…` (migrations applied on start).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite::memory:")]
    pub database_url: String,

    /// Time from an accepted DELETE to its cascade, e.g. `0s`, `500ms`, `2s`, `5m`.
    #[arg(long, env = "ORB_MOCK_DELETION_DELAY", default_value = "2s", value_parser = parse_duration)]
    pub deletion_delay: Duration,

    /// Comma-separated API keys to accept; empty accepts any non-empty bearer token.
    #[arg(long, env = "ORB_MOCK_API_KEYS", value_delimiter = ',')]
    pub api_keys: Vec<String>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ORB_MOCK_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Log format.
    #[arg(long, env = "ORB_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most database connections (PostgreSQL; SQLite uses one writer and four readers).
    #[arg(long, env = "ORB_MOCK_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,

    /// Longest a request may take before it is answered with a transient 500.
    #[arg(long, env = "ORB_MOCK_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Longest a shutdown waits for in-flight requests.
    #[arg(long, env = "ORB_MOCK_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Longest a client may take to send a request's headers (also how long an idle keep-alive
    /// connection stays open); a slower connection is closed. `0s` turns it off.
    #[arg(long, env = "ORB_MOCK_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Per-account request budget on Orb's routes, `N/s` or `N/m` (e.g. `100/s`); over it, a
    /// request is answered 429 with `Retry-After`. Unset: no limit.
    #[arg(long, env = "ORB_MOCK_RATE_LIMIT", value_parser = parse_rate_limit)]
    pub rate_limit: Option<RateLimit>,

    /// How many requests the journal (`GET /_mock/requests`) keeps per account; the oldest are
    /// dropped. `0` turns the journal off.
    #[arg(long, env = "ORB_MOCK_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,

    /// A fixtures file loaded at start-up: `{"accounts": {"<API key>": <fixtures document>}}`
    /// (the document `POST /_mock/fixtures` takes). Any bad entry stops the start.
    #[arg(long, env = "ORB_MOCK_FIXTURES")]
    pub fixtures: Option<std::path::PathBuf>,

    /// An OpenAPI document (JSON or YAML, 3.0 or 3.1), such as Orb's own: the routes orb-mock
    /// does not model are validated and answered from it. A document that cannot be read or
    /// parsed stops the start.
    #[arg(long, env = "ORB_MOCK_SPEC")]
    pub spec: Option<std::path::PathBuf>,

    /// Varies every body generated from `--spec` (the same seed and request give the same body).
    #[arg(long, env = "ORB_MOCK_SPEC_SEED", default_value_t = 0)]
    pub spec_seed: u64,
}

/// A request budget: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: std::num::NonZeroU32,
    pub per: Duration,
}

/// `100/s` or `600/m`.
pub fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let invalid = || format!("{text:?} is not a rate like 100/s or 600/m (a positive count)");
    let (count, unit) = text.trim().split_once('/').ok_or_else(invalid)?;
    let count = count.trim().parse().map_err(|_| invalid())?;
    let per = match unit.trim() {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        _ => return Err(invalid()),
    };
    Ok(RateLimit { count, per })
}

impl Config {
    /// The defaults, as if no flag or variable were given (for tests and embedding).
    pub fn defaults() -> Config {
        Cli::parse_from(["orb-mock"]).config
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `0s`, `500ms`, `2s`, `5m`, `1h`, or combinations such as `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|err| format!("{text:?} is not a duration like 0s, 500ms, 2s or 5m: {err}"))
}
