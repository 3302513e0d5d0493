//! Reliability drills: the real `orb-mock` binary under crashes, database outages, write
//! contention, shutdown under load and hostile input, on a SQLite file and on PostgreSQL. Each
//! drill starts its own processes and its own store. PostgreSQL drills fail when PostgreSQL is
//! not reachable, unless `ORB_MOCK_SKIP_POSTGRES=1` is set (never under `CI=true`).
//!
//! The harness (`tests/common`) is the contract suite's too, shared by path rather than copied.

#[allow(dead_code, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod contention;
mod crash;
mod first_hour;
mod hostile;
mod postgres;
mod shutdown;
mod webhooks;
