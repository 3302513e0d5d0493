//! orb-mock's contract, test by test: every rule of SPEC.md, through real HTTP (the router via
//! `oneshot`, and a real socket where it matters) and real SQL, on SQLite and on PostgreSQL.

mod support;

mod stores;

mod deletion;
mod invariants;
mod socket;

mod control;
mod customers;
mod errors;
mod idempotency;
mod invoices;
mod openapi;
mod spec;
mod subscriptions;
