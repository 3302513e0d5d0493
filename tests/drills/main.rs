//! Reliability drills (issue 5): the real `orb-mock` binary under crashes, database outages,
//! write contention, shutdown under load and hostile input, on a SQLite file and on PostgreSQL.
//! Each drill starts its own processes and its own store; PostgreSQL drills skip loudly when
//! PostgreSQL is not reachable, and fail instead under `CI=true`.
//!
//! The per-test PostgreSQL databases and SQLite files are the contract suite's own helpers,
//! shared by path rather than copied.

#[allow(dead_code, unused_imports)]
#[path = "../contract/support.rs"]
mod support;

#[allow(dead_code, unused_imports)]
#[path = "../contract/stores.rs"]
mod stores;

mod harness;

mod contention;
mod crash;
mod first_hour;
mod hostile;
mod postgres;
mod shutdown;
