//! PostgreSQL: connecting and migrating, its row-lock clauses and its transient error codes (the
//! seam is listed in [`super::backend`]). Row locks (`FOR UPDATE`, `FOR SHARE`, `SKIP LOCKED`)
//! do the serialising that deletion needs (README, "Deleting a customer"), so that several
//! orb-mock processes can share one database.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};

use super::backend::RowLock;
use super::{ConnectOptions, StoreResult};

/// Connects, names the connections `orb-mock` (so an operator, or a drill, can find them in
/// `pg_stat_activity`), and applies `migrations/postgres`. Concurrent starts are safe: sqlx
/// takes an advisory lock while migrating.
pub async fn connect(options: &ConnectOptions) -> StoreResult<PgPool> {
    let connect = PgConnectOptions::from_str(&options.url)?.application_name("orb-mock");
    // One connection first, on its own: a server that refuses, or a host that does not
    // resolve, fails now with that reason, where the pool would keep retrying until its
    // acquire timeout and then say only "pool timed out".
    let first = tokio::time::timeout(
        options.acquire_timeout,
        PgConnection::connect_with(&connect),
    )
    .await
    .map_err(|_| {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {:?}", options.acquire_timeout),
        ))
    })??;
    first.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// The clause that takes `lock` on the rows a `SELECT` reads (see [`RowLock`]).
pub(crate) fn lock_clause(lock: RowLock) -> String {
    match lock {
        RowLock::Update => " FOR UPDATE".to_owned(),
        RowLock::UpdateOf(alias) => format!(" FOR UPDATE OF {alias}"),
        RowLock::Share => " FOR SHARE".to_owned(),
        RowLock::SkipLocked => " FOR UPDATE SKIP LOCKED".to_owned(),
    }
}

/// PostgreSQL's SQLSTATEs worth a retry: connection exceptions (class 08), serialization
/// failure, deadlock, admin shutdown, cannot connect now.
pub(crate) fn is_transient_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "40001" | "40P01" | "57P01" | "57P03")
}
