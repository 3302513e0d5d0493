//! SQLite, the embedded default: connecting and migrating.
//!
//! A file database runs in WAL mode with one writer connection and a few readers: readers never
//! block the writer, and the single writer turns contention into queueing inside the pool, so
//! clients never see `database is locked`. Every write transaction starts with
//! `BEGIN IMMEDIATE` (see [`super::Store::begin`]). An in-memory database (a private `memdb`
//! one, see [`connect`]) lives inside one connection, so it is deliberately a single connection
//! that is never recycled: readers and the writer share it. SQLite's `memdb` VFS caps such a
//! database at 1 GiB; past that a write fails with SQLite's "database or disk is full".

use std::str::FromStr;
use std::time::Duration;

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
