//! Every SQL statement the tests run on a store directly, outside orb-mock, and the one place
//! that connects to either backend to run it. A test that reads or plants something in the
//! store calls a function here; a schema change (a renamed table, a new column) is an edit here
//! only.

use sqlx::{Connection, PgConnection, SqliteConnection};

use super::app::Kind;

/// The table of queued deletions.
const DELETIONS: &str = "deletions";

/// The name of every database the PostgreSQL tests create starts with this.
pub const TEST_DATABASE_PREFIX: &str = "orbmock_t_";

/// A connection to a store, outside orb-mock.
enum Direct {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// A connection kept open so that what its SQL started (a transaction holding a lock) lasts
/// until this is dropped.
pub struct Held(#[allow(dead_code)] Direct);

impl Direct {
    async fn connect(url: &str) -> Direct {
        match Kind::of(url) {
            Kind::Sqlite => Direct::Sqlite(
                SqliteConnection::connect(url)
                    .await
                    .unwrap_or_else(|err| panic!("SQLite at {url}: {err}")),
            ),
            Kind::Postgres => Direct::Postgres(
                PgConnection::connect(url)
                    .await
                    .unwrap_or_else(|err| panic!("PostgreSQL at {url}: {err}")),
            ),
        }
    }

    /// Runs statements (several, `;`-separated, without parameters).
    async fn execute(&mut self, sql: &str) {
        let done = match self {
            Direct::Sqlite(connection) => sqlx::raw_sql(sql).execute(connection).await.map(drop),
            Direct::Postgres(connection) => sqlx::raw_sql(sql).execute(connection).await.map(drop),
        };
        done.unwrap_or_else(|err| panic!("{sql}: {err}"));
    }

    async fn count(&mut self, sql: &str) -> i64 {
        let count = match self {
            Direct::Sqlite(connection) => sqlx::query_scalar(sql).fetch_one(connection).await,
            Direct::Postgres(connection) => sqlx::query_scalar(sql).fetch_one(connection).await,
        };
        count.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    async fn strings(&mut self, sql: &str) -> Vec<String> {
        let strings = match self {
            Direct::Sqlite(connection) => sqlx::query_scalar(sql).fetch_all(connection).await,
            Direct::Postgres(connection) => sqlx::query_scalar(sql).fetch_all(connection).await,
        };
        strings.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }
}

async fn execute(url: &str, sql: &str) {
    Direct::connect(url).await.execute(sql).await;
}

async fn count(url: &str, sql: &str) -> i64 {
    Direct::connect(url).await.count(sql).await
}

async fn hold(url: &str, sql: &str) -> Held {
    let mut connection = Direct::connect(url).await;
    connection.execute(sql).await;
    Held(connection)
}

// Customers.

/// Renames a table under orb-mock's feet: a store failure it cannot hide.
pub async fn rename_table(url: &str, from: &str, to: &str) {
    execute(url, &format!("ALTER TABLE {from} RENAME TO {to}")).await;
}

pub async fn customers(url: &str) -> i64 {
    count(url, "SELECT COUNT(*) FROM customers").await
}

pub async fn customer_ids(url: &str) -> Vec<String> {
    let mut connection = Direct::connect(url).await;
    connection.strings("SELECT id FROM customers").await
}

pub async fn deleted_customers(url: &str, account: &str) -> i64 {
    let sql =
        format!("SELECT COUNT(*) FROM customers WHERE account = '{account}' AND state = 'deleted'");
    count(url, &sql).await
}

// Deletions.

/// How many deletions are in `state` (`pending`, `claimed`, `completed`).
pub async fn deletions_in_state(url: &str, state: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {DELETIONS} WHERE state = '{state}'");
    count(url, &sql).await
}

pub async fn unfinished_deletions(url: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {DELETIONS} WHERE state <> 'completed'");
    count(url, &sql).await
}

/// The account's deletions that completed on their first attempt.
pub async fn deletions_completed_on_the_first_attempt(url: &str, account: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM {DELETIONS} WHERE account = '{account}' \
         AND state = 'completed' AND attempts = 1 AND completed_at IS NOT NULL"
    );
    count(url, &sql).await
}

pub async fn deletions_completed_after(url: &str, after: chrono::DateTime<chrono::Utc>) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM {DELETIONS} WHERE state = 'completed' AND completed_at > '{}'",
        after.to_rfc3339()
    );
    count(url, &sql).await
}

/// Makes every queued deletion due now (as if its delay had passed).
pub async fn make_every_deletion_due(url: &str) {
    execute(url, &format!("UPDATE {DELETIONS} SET due_at = created_at")).await;
}

// Subscriptions and invoices.

/// Live (not soft-deleted) subscriptions and invoices.
pub async fn live_children(url: &str) -> i64 {
    let sql = "SELECT (SELECT COUNT(*) FROM subscriptions WHERE deleted_at IS NULL) \
               + (SELECT COUNT(*) FROM invoices WHERE deleted_at IS NULL)";
    count(url, sql).await
}

/// Live subscriptions and invoices of customers that are deleting or deleted.
pub async fn live_children_of_gone_customers(url: &str) -> i64 {
    let sql = "SELECT (SELECT COUNT(*) FROM subscriptions s JOIN customers c ON c.account = \
               s.account AND c.id = s.customer_id WHERE c.state <> 'active' \
               AND s.deleted_at IS NULL) + (SELECT COUNT(*) FROM invoices i JOIN customers c \
               ON c.account = i.account AND c.id = i.customer_id WHERE c.state <> 'active' \
               AND i.deleted_at IS NULL)";
    count(url, sql).await
}

/// Subscriptions and invoices of deleted customers whose deletion time is not their
/// customer's (so not written by the cascade that deleted the customer).
pub async fn children_deleted_apart_from_their_customer(url: &str) -> i64 {
    let sql = "SELECT (SELECT COUNT(*) FROM subscriptions s JOIN customers c ON c.account = \
               s.account AND c.id = s.customer_id WHERE c.state = 'deleted' \
               AND s.deleted_at <> c.deleted_at) + (SELECT COUNT(*) FROM invoices i JOIN \
               customers c ON c.account = i.account AND c.id = i.customer_id \
               WHERE c.state = 'deleted' AND i.deleted_at <> c.deleted_at)";
    count(url, sql).await
}

/// Plants a fault: every update of an invoice (of `customer_id` only, if given) fails with
/// "planted fault", until [`remove_invoice_update_fault`].
pub async fn plant_invoice_update_fault(url: &str, customer_id: Option<&str>) {
    let sql = match (Kind::of(url), customer_id) {
        (Kind::Sqlite, None) => "CREATE TRIGGER planted_fault BEFORE UPDATE ON invoices \
                                 BEGIN SELECT RAISE(ABORT, 'planted fault'); END;"
            .to_owned(),
        (Kind::Sqlite, Some(id)) => format!(
            "CREATE TRIGGER planted_fault BEFORE UPDATE ON invoices \
             WHEN OLD.customer_id = '{id}' \
             BEGIN SELECT RAISE(ABORT, 'planted fault'); END;"
        ),
        (Kind::Postgres, customer_id) => {
            let when =
                customer_id.map_or("TRUE".to_owned(), |id| format!("OLD.customer_id = '{id}'"));
            format!(
                "CREATE FUNCTION planted_fault() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN IF {when} THEN RAISE EXCEPTION 'planted fault'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER planted_fault BEFORE UPDATE ON invoices \
                 FOR EACH ROW EXECUTE FUNCTION planted_fault();"
            )
        }
    };
    execute(url, &sql).await;
}

pub async fn remove_invoice_update_fault(url: &str) {
    let sql = match Kind::of(url) {
        Kind::Sqlite => "DROP TRIGGER planted_fault",
        Kind::Postgres => "DROP TRIGGER planted_fault ON invoices",
    };
    execute(url, sql).await;
}

// Locks held outside orb-mock.

/// Holds the write lock orb-mock's DELETE needs (every customer row on PostgreSQL, the
/// database on SQLite) until the result is dropped.
pub async fn hold_write_lock(url: &str) -> Held {
    let sql = match Kind::of(url) {
        Kind::Sqlite => "BEGIN IMMEDIATE",
        Kind::Postgres => "BEGIN; SELECT id FROM customers FOR UPDATE",
    };
    hold(url, sql).await
}

/// Holds a lock that blocks creating customers (the whole table on PostgreSQL; other tables
/// stay writable) until the result is dropped.
pub async fn hold_customer_inserts(url: &str) -> Held {
    let sql = match Kind::of(url) {
        Kind::Sqlite => "BEGIN IMMEDIATE",
        Kind::Postgres => "BEGIN; LOCK TABLE customers IN EXCLUSIVE MODE",
    };
    hold(url, sql).await
}

// PostgreSQL administration (on the server's `postgres` database).

pub async fn admin(admin_url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(admin_url).await
}

/// The databases the tests created (some may be left by killed runs).
pub async fn test_databases(admin: &mut PgConnection) -> Vec<String> {
    let sql =
        format!("SELECT datname FROM pg_database WHERE datname LIKE '{TEST_DATABASE_PREFIX}%'");
    sqlx::query_scalar(&sql)
        .fetch_all(admin)
        .await
        .unwrap_or_default()
}

pub async fn database_exists(admin_url: &str, name: &str) -> bool {
    let mut admin = admin(admin_url).await.expect("the admin connection");
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .expect("pg_database is readable")
}

pub async fn create_database(admin: &mut PgConnection, name: &str) {
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(admin)
        .await
        .unwrap_or_else(|err| panic!("create the test database {name}: {err}"));
}

/// Drops a database, ending the connections still open on it.
pub async fn drop_database(admin: &mut PgConnection, name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    let _ = sqlx::query(&sql).execute(admin).await;
}

/// Ends every connection orb-mock holds to `database`; returns how many there were.
pub async fn terminate_orb_mock_connections(admin_url: &str, database: &str) -> i64 {
    let mut admin = admin(admin_url).await.expect("the admin connection");
    sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'orb-mock' AND datname = $1",
    )
    .bind(database)
    .fetch_one(&mut admin)
    .await
    .expect("pg_terminate_backend runs")
}

// The whole database.

/// Every row of every table but the migrations' ledger, as text, table by table, in a stable
/// order: two dumps are equal exactly when no row was added, removed or changed.
pub async fn dump(url: &str) -> Vec<String> {
    let mut connection = Direct::connect(url).await;
    let mut rows = Vec::new();
    match Kind::of(url) {
        Kind::Postgres => {
            let tables = connection
                .strings(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                       AND table_name <> '_sqlx_migrations' ORDER BY 1",
                )
                .await;
            for table in tables {
                let sql = format!("SELECT CAST(t AS text) FROM \"{table}\" t ORDER BY 1");
                for row in connection.strings(&sql).await {
                    rows.push(format!("{table}: {row}"));
                }
            }
        }
        Kind::Sqlite => {
            let tables = connection
                .strings(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY 1",
                )
                .await;
            for table in tables {
                let columns = connection
                    .strings(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .await;
                let row: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                let sql = format!(
                    "SELECT {} FROM \"{table}\" ORDER BY 1",
                    row.join(" || '|' || ")
                );
                for row in connection.strings(&sql).await {
                    rows.push(format!("{table}: {row}"));
                }
            }
        }
    }
    rows
}
