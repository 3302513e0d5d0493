//! Command-line flags and environment variables (README, "Flags"). Every flag has an `env` twin, so the
//! same settings work on a laptop, in a test harness and in `docker compose`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
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
        /// The health route to ask. Default: `/_mock/health` on the listen address.
        #[arg(long, env = "ORB_MOCK_HEALTHCHECK_URL")]
        url: Option<String>,
        /// The address the server listens on (its `--listen`), which the default URL asks;
        /// `0.0.0.0` and `::` are asked on loopback.
        #[arg(long, env = "ORB_MOCK_LISTEN", default_value = DEFAULT_LISTEN, value_parser = ListenAddress::parse)]
        listen: ListenAddress,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on: `host:port`, the host an IP address or a name (`localhost:4010`);
    /// port 0 picks a free port.
    #[arg(long, env = "ORB_MOCK_LISTEN", default_value = DEFAULT_LISTEN, value_parser = ListenAddress::parse)]
    pub listen: ListenAddress,

    /// Store: `sqlite::memory:` (fresh each start), `sqlite://path.db` (created if missing), or
    /// `postgres://…` (migrations applied on start).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite::memory:")]
    pub database_url: String,

    /// Time from an accepted DELETE to its cascade, e.g. `0s`, `500ms`, `2s`, `5m`.
    #[arg(long, env = "ORB_MOCK_DELETION_DELAY", default_value = "2s", value_parser = parse_deletion_delay)]
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

    /// A webhook endpoint every account has from the start (for docker compose, where the
    /// receiver's URL is known before any test runs): `http://` or `https://`.
    #[arg(long, env = "ORB_MOCK_WEBHOOK_URL", requires = "webhook_secret", value_parser = parse_webhook_url)]
    pub webhook_url: Option<String>,

    /// The secret that signs deliveries to `--webhook-url` (the receiver verifies with it).
    #[arg(long, env = "ORB_MOCK_WEBHOOK_SECRET", requires = "webhook_url")]
    pub webhook_secret: Option<String>,

    /// Longest a webhook receiver may take to answer; a slower answer is a failed attempt.
    #[arg(long, env = "ORB_MOCK_WEBHOOK_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// Wait after a delivery's first failed attempt; it doubles after each further one, up to
    /// an hour (`10ms` makes retries quick in tests).
    #[arg(long, env = "ORB_MOCK_WEBHOOK_RETRY_BASE", default_value = "5s", value_parser = parse_duration)]
    pub webhook_retry_base: Duration,

    /// Attempts after which a delivery is given up (`failed`).
    #[arg(long, env = "ORB_MOCK_WEBHOOK_MAX_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_max_attempts: u16,
}

/// The default listen address. Port 4010 is also the default of Prism and Steady, two other
/// mock servers for OpenAPI documents, which is why a taken port says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4010";

/// Where to listen: a host (an IP address or a name such as `localhost`) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress {
    /// An IP address (IPv6 without brackets) or a host name.
    pub host: String,
    pub port: u16,
}

impl ListenAddress {
    /// `127.0.0.1:4010`, `[::1]:4010`, `0.0.0.0:4010` or `localhost:4010`.
    pub fn parse(text: &str) -> Result<ListenAddress, String> {
        let text = text.trim();
        if let Ok(address) = text.parse::<SocketAddr>() {
            return Ok(ListenAddress::from(address));
        }
        let invalid = || {
            format!(
                "{text:?} is not an address like 127.0.0.1:4010, localhost:4010 or [::1]:4010 \
                 (port 0 picks a free port)"
            )
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(invalid)?;
        let port = port.parse().map_err(|_| invalid())?;
        let is_name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !is_name {
            return Err(invalid());
        }
        Ok(ListenAddress {
            host: host.to_owned(),
            port,
        })
    }

    /// Where a client on this machine reaches a server listening here: a wildcard address
    /// (`0.0.0.0`, `::`) is reached on loopback.
    pub fn local_authority(&self) -> String {
        match self.host.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() && ip.is_ipv4() => format!("127.0.0.1:{}", self.port),
            Ok(ip) if ip.is_unspecified() => format!("[::1]:{}", self.port),
            _ => self.to_string(),
        }
    }

    /// The health route of a server listening here, as seen from this machine.
    pub fn health_url(&self) -> String {
        format!("http://{}/_mock/health", self.local_authority())
    }
}

impl From<SocketAddr> for ListenAddress {
    fn from(address: SocketAddr) -> Self {
        ListenAddress {
            host: address.ip().to_string(),
            port: address.port(),
        }
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
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

/// The longest deletion delay, for the flag and for an account's own setting: a year. A longer
/// one is surely a typo, and an absurd one (`270000y`) would overflow the due-time arithmetic.
pub const MAX_DELETION_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A deletion delay: a duration of at most [`MAX_DELETION_DELAY`].
pub fn parse_deletion_delay(text: &str) -> Result<Duration, String> {
    let delay = parse_duration(text)?;
    if delay > MAX_DELETION_DELAY {
        return Err(format!(
            "{text:?} is longer than the longest deletion delay, 365d"
        ));
    }
    Ok(delay)
}

/// A webhook endpoint's URL: absolute, `http` or `https` (Orb requires `https`; orb-mock also
/// takes `http`, since receivers in tests are local), with a host. Also checks the API's
/// `url` fields.
pub fn parse_webhook_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let uri: axum::http::Uri = text
        .parse()
        .map_err(|_| format!("{text:?} is not a URL like https://example.com/orb-webhooks"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(text.to_owned()),
        (Some("http" | "https"), _) => Err(format!("{text:?} has no host")),
        _ => Err(format!(
            "{text:?} is not an http:// or https:// URL (Orb requires https; orb-mock also takes http)"
        )),
    }
}

/// `0s`, `500ms`, `2s`, `5m`, `1h`, or combinations such as `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|err| format!("{text:?} is not a duration like 0s, 500ms, 2s or 5m: {err}"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn a_listen_address_is_an_ip_address_or_a_host_name_with_a_port() {
        let parse = |text| ListenAddress::parse(text).map(|address| address.to_string());
        assert_eq!(parse("127.0.0.1:4010").as_deref(), Ok("127.0.0.1:4010"));
        assert_eq!(parse("[::1]:0").as_deref(), Ok("[::1]:0"));
        assert_eq!(parse("localhost:4010").as_deref(), Ok("localhost:4010"));
        assert_eq!(
            parse("orb-mock.internal:80").as_deref(),
            Ok("orb-mock.internal:80")
        );
        for bad in [
            "localhost",
            ":4010",
            "localhost:99999",
            "local host:1",
            "a..b:1",
            "::1:4010",
        ] {
            let err = ListenAddress::parse(bad).expect_err(bad);
            assert!(err.contains("localhost:4010"), "{err}");
        }
    }

    #[test]
    fn the_health_url_of_a_wildcard_address_is_on_loopback() {
        let url = |text| ListenAddress::parse(text).unwrap().health_url();
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/_mock/health");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/_mock/health");
        assert_eq!(url("127.0.0.1:4010"), "http://127.0.0.1:4010/_mock/health");
        assert_eq!(url("localhost:4011"), "http://localhost:4011/_mock/health");
    }

    #[test]
    fn the_listen_address_defaults_to_4010_on_loopback() {
        assert_eq!(Config::defaults().listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn an_absurd_deletion_delay_stops_the_start_with_a_message_naming_the_limit() {
        let refused = Cli::try_parse_from(["orb-mock", "--deletion-delay", "270000y"])
            .expect_err("270000y is refused");
        let message = refused.to_string();
        assert!(message.contains("--deletion-delay"), "{message}");
        assert!(message.contains("365d"), "{message}");
        let year = Cli::try_parse_from(["orb-mock", "--deletion-delay", "365d"]).unwrap();
        assert_eq!(year.config.deletion_delay, MAX_DELETION_DELAY);
        let zero = Cli::try_parse_from(["orb-mock", "--deletion-delay", "0s"]).unwrap();
        assert_eq!(zero.config.deletion_delay, Duration::ZERO);
    }
}
