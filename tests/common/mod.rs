//! The test harness both suites share (`tests/contract` and `tests/drills` mount it as `common`):
//!
//! - [`app`]: a [`TestApp`] per test, the real router driven in process, time moved with the
//!   app's clock and never slept through;
//! - [`client`]: the one [`Client`] (to a router in process, or to a real socket) and the one
//!   [`TestResponse`];
//! - [`stores`]: stores that outlive an app ([`Persistent`]), the per-test PostgreSQL databases
//!   (dropped even when the test panics), and the macros that run a test on both stores;
//! - [`sql`]: every SQL statement the tests run on a store directly, outside orb-mock;
//! - [`server`]: the real `orb-mock` binary as a child process;
//! - [`receiver`]: a webhook receiver on a real socket.
//!
//! A missing PostgreSQL fails a test unless `ORB_MOCK_SKIP_POSTGRES=1` is set (see
//! `orb_mock::test_env`).

pub mod app;
pub mod client;
pub mod receiver;
pub mod server;
pub mod sql;
pub mod stores;

pub use app::*;
pub use client::*;
pub use receiver::*;
pub use server::*;
pub use stores::*;
