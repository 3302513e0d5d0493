//! Stores for tests: a fresh PostgreSQL database per test ([`TestDatabase`], dropped even when
//! the test panics), stores that outlive an app ([`Persistent`]: a SQLite file or a PostgreSQL
//! database, for tests that restart orb-mock, run two instances on one database, or reach into
//! the database directly), and the macros that declare one test per store.

use std::path::PathBuf;

use orb_mock::test_env::{missing, SKIP_POSTGRES};

use super::app::{Kind, TestApp};
use super::sql::{self, Held};

/// Where the PostgreSQL tests create their databases (one per test): `ORB_MOCK_TEST_POSTGRES`.
pub fn postgres_admin_url() -> String {
    std::env::var("ORB_MOCK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of a database on the server of `admin_url`.
fn database_url(admin_url: &str, database: &str) -> String {
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    format!("{base}/{database}")
}

/// One test's own PostgreSQL database, dropped (`WITH (FORCE)`) by [`TestDatabase::remove`] or,
/// when the test panics first, when this is dropped.
pub struct TestDatabase {
    admin_url: String,
    name: Option<String>,
}

impl TestDatabase {
    /// A fresh, empty database on [`postgres_admin_url`] (stale ones from killed runs are
    /// dropped). When PostgreSQL is not reachable this panics naming `ORB_MOCK_SKIP_POSTGRES`,
    /// or, with that opt-out set (never under `CI=true`), says SKIPPED and is `None`.
    pub async fn create() -> Option<TestDatabase> {
        TestDatabase::create_on(&postgres_admin_url()).await
    }

    pub async fn create_on(admin_url: &str) -> Option<TestDatabase> {
        let mut admin = match sql::admin(admin_url).await {
            Ok(admin) => admin,
            Err(err) => {
                let requirement = format!(
                    "PostgreSQL at {admin_url} ({err}; ORB_MOCK_TEST_POSTGRES names another)"
                );
                missing("this PostgreSQL test", &requirement, SKIP_POSTGRES);
                return None;
            }
        };
        let now = chrono::Utc::now().timestamp();
        for stale in sql::test_databases(&mut admin).await {
            let created = stale
                .split('_')
                .nth(2)
                .and_then(|ts| ts.parse::<i64>().ok())
                .unwrap_or(now);
            if now - created > 3600 {
                sql::drop_database(&mut admin, &stale).await;
            }
        }
        let name = format!(
            "{}{now}_{}",
            sql::TEST_DATABASE_PREFIX,
            orb_mock::store::new_id().to_lowercase()
        );
        sql::create_database(&mut admin, &name).await;
        Some(TestDatabase {
            admin_url: admin_url.to_owned(),
            name: Some(name),
        })
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().expect("a database not yet removed")
    }

    pub fn url(&self) -> String {
        database_url(&self.admin_url, self.name())
    }

    /// Drops the database now.
    pub async fn remove(mut self) {
        if let Some(name) = self.name.take() {
            if let Ok(mut admin) = sql::admin(&self.admin_url).await {
                sql::drop_database(&mut admin, &name).await;
            }
        }
    }
}

impl Drop for TestDatabase {
    /// The test ended without [`TestDatabase::remove`] (it panicked): drop the database from a
    /// thread of its own, since this may run inside the test's runtime, which cannot block.
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let admin_url = self.admin_url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                if let Ok(mut admin) = sql::admin(&admin_url).await {
                    sql::drop_database(&mut admin, &name).await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// A store that outlives the apps started on it.
pub struct Persistent {
    pub kind: Kind,
    pub url: String,
    database: Option<TestDatabase>,
    file: Option<PathBuf>,
}

impl Persistent {
    pub fn sqlite_file() -> Persistent {
        let file =
            std::env::temp_dir().join(format!("orb-mock-test-{}.db", orb_mock::store::new_id()));
        Persistent {
            kind: Kind::Sqlite,
            url: format!("sqlite://{}", file.display()),
            database: None,
            file: Some(file),
        }
    }

    /// A fresh PostgreSQL database; `None` only when skipped (see [`TestDatabase::create`]).
    pub async fn postgres() -> Option<Persistent> {
        let database = TestDatabase::create().await?;
        Some(Persistent {
            kind: Kind::Postgres,
            url: database.url(),
            database: Some(database),
            file: None,
        })
    }

    /// A new app on this store (the store outlives it).
    pub async fn app(&self) -> TestApp {
        TestApp::on(self.kind, &self.url, None).await
    }

    /// Removes the store now (dropping it does the same, for a test that panicked).
    pub async fn cleanup(mut self) {
        if let Some(database) = self.database.take() {
            database.remove().await;
        }
    }

    /// Opens a connection outside orb-mock that holds the write lock orb-mock's DELETE needs
    /// (every customer row on PostgreSQL, the database on SQLite) until it is dropped.
    pub async fn hold_write_lock(&self) -> Held {
        sql::hold_write_lock(&self.url).await
    }

    /// Like [`Persistent::hold_write_lock`], but what it blocks is creating customers (the
    /// whole table on PostgreSQL; other tables stay writable).
    pub async fn hold_customer_inserts(&self) -> Held {
        sql::hold_customer_inserts(&self.url).await
    }
}

impl Drop for Persistent {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// The store's invariants (README, "Deleting a customer"), as orb-mock's own audit sees them.
pub async fn invariant_violations(url: &str) -> Vec<String> {
    let store = orb_mock::store::Store::connect(&orb_mock::store::ConnectOptions::new(url))
        .await
        .expect("the store opens");
    let violations = store.invariant_violations().await.expect("the audit runs");
    store.close().await;
    violations
}

/// Declares one test per store for the scenario `async fn $name(&$ty)` written beside it (a
/// plain function, so rustfmt formats it): a module `$name` with one test per `$test => $make`
/// line, which makes the scenario's argument (`None` skips, as when PostgreSQL is unreachable
/// and `ORB_MOCK_SKIP_POSTGRES=1` is set), runs the scenario on it, then calls `$finish` on it.
#[macro_export]
macro_rules! store_matrix {
    ($name:ident, $finish:ident, $($test:ident => $make:expr),+) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(subject) = $make else { return };
                    super::$name(&subject).await;
                    subject.$finish().await;
                }
            )+
        }
    };
}

/// `on_both_stores!(name);` beside `async fn name(app: &TestApp)` declares the tests
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident) => {
        $crate::store_matrix! {
            $name, stop,
            sqlite => Some($crate::common::TestApp::sqlite().await),
            postgres => $crate::common::TestApp::postgres().await
        }
    };
}

/// `on_both_persistent_stores!(name);` beside `async fn name(store: &Persistent)` declares the
/// tests `name::sqlite_file` and `name::postgres`.
#[macro_export]
macro_rules! on_both_persistent_stores {
    ($name:ident) => {
        $crate::store_matrix! {
            $name, cleanup,
            sqlite_file => Some($crate::common::Persistent::sqlite_file()),
            postgres => $crate::common::Persistent::postgres().await
        }
    };
}
