//! orb-mock's contract, test by test: every rule of the README, through real HTTP (the router
//! via `oneshot`, and a real socket where it matters) and real SQL, on SQLite and on PostgreSQL.

#[allow(dead_code, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod harness;

mod deletion;
mod discounts;
mod dry_run;
mod invariants;
mod socket;

mod all_parameters;
mod clock;
mod control;
mod customers;
mod errors;
mod fidelity;
mod hierarchy;
mod idempotency;
mod invoices;
mod openapi;
mod spec;
mod subscriptions;
mod webhooks;
