//! orb-mock: a local, stateful emulator of the Orb billing API, centred on customer deletion.
//!
//! The library does the work; `main.rs` only parses flags, sets up logging and calls
//! [`server::App`]. Layout: [`http`] (Orb's routes, errors, extractors), [`store`] (the domain
//! API over PostgreSQL or SQLite), [`cascade`] (the deletion worker), [`mock`] (the `/_mock`
//! control surface), [`spec`] (answers from an OpenAPI document, `--spec`), [`config`],
//! [`clock`].

pub mod cascade;
pub mod clock;
pub mod config;
#[cfg(debug_assertions)]
pub mod failpoint;
pub mod healthcheck;
pub mod http;
pub mod mock;
pub mod openapi;
pub mod server;
pub mod spec;
pub mod store;
