//! SQLite, the embedded default: connecting and migrating, its transient error codes, the one
//! text format of its timestamps, and the batches that serve hot requests together ([`batch`]).
//! The seam with PostgreSQL is listed in [`super::backend`].
//!
//! A file database runs in WAL mode with one writer connection and a few readers: readers never
//! block the writer, and the single writer turns contention into queueing inside the pool, so
//! clients never see `database is locked`. Every write transaction starts with
//! `BEGIN IMMEDIATE` (see [`super::Store::begin`]). An in-memory database (a private `memdb`
//! one, see [`connect`]) lives inside one connection, so it is deliberately a single connection
//! that is never recycled: readers and the writer share it. SQLite's `memdb` VFS caps such a
//! database at 1 GiB; past that a write fails with SQLite's "database or disk is full".

pub mod batch;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{ConnectOptions, StoreResult};

const READERS: u32 = 4;

/// The in-memory store: a private (not `/`-prefixed) database of SQLite's `memdb` VFS.
const MEMDB_NAME: &str = "orb-mock";
const MEMDB_VFS: &str = "memdb";

/// Returns `(writer, reader)` pools, migrated; for an in-memory database both are the same pool.
pub async fn connect(options: &ConnectOptions) -> StoreResult<(SqlitePool, SqlitePool)> {
    let common = |base: SqliteConnectOptions| {
        base.create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
    };
    if is_in_memory(&options.url) {
        // Not SQLite's `:memory:`, which keeps every page in its page cache and, at the end
        // of every write transaction, scanned that whole cache (`pcache1TruncateUnsafe`): with
        // a million customers that was 59% of a DELETE's time under load (BENCHMARKS.md).
        // A private database of the `memdb` VFS holds the same bytes as one buffer behind an
        // ordinary, bounded page cache, and is gone with its connection all the same.
        let base = common(
            SqliteConnectOptions::new()
                .filename(MEMDB_NAME)
                .vfs(MEMDB_VFS),
        );
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base)
            .await?;
        migrate(&pool).await?;
        return Ok((pool.clone(), pool));
    }
    let base = common(SqliteConnectOptions::from_str(&options.url)?)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(base.clone())
        .await?;
    migrate(&writer).await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(READERS)
        .test_before_acquire(false)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(base.read_only(true))
        .await?;
    Ok((writer, reader))
}

async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::migrate!("./migrations/sqlite").run(pool).await?;
    Ok(())
}

pub(super) fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// SQLite's result codes worth a retry: BUSY (5) and LOCKED (6).
pub(crate) fn is_transient_code(code: &str) -> bool {
    matches!(code, "5" | "6")
}

/// The one text form of every timestamp SQLite stores: the form sqlx writes when it binds a
/// `DateTime<Utc>` (RFC 3339, `+00:00`, as many fraction digits as needed in groups of three).
/// Timestamp columns are compared as text, so a timestamp written any other way (say with
/// `strftime`'s `.000`) would sort apart from an equal one. Statements that carry timestamps
/// inside JSON (the batches) write them with this function; the test below holds it to sqlx's.
pub(crate) fn timestamp_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[tokio::test]
    async fn timestamps_in_json_are_written_exactly_as_sqlx_binds_them() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let whole = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        for at in [
            whole,
            whole + chrono::Duration::milliseconds(120),
            whole + chrono::Duration::microseconds(123_456),
            whole + chrono::Duration::nanoseconds(1),
        ] {
            let bound: String = sqlx::query_scalar("SELECT CAST($1 AS TEXT)")
                .bind(at)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(timestamp_text(at), bound);
        }
    }
}
