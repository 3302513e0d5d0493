//! orb-mock: a local, stateful emulator of the Orb billing API, centred on customer deletion.
//!
//! The library does the work; `main.rs` only parses flags, sets up logging and calls
//! [`server::App`]. The layers, each importing only those below it:
//! - [`server`]: connects the store, starts the worker, serves HTTP;
//! - [`http`]: Orb's routes, the `/_mock` control surface ([`http::control`]), errors,
//!   extractors and the request's front hooks;
//! - [`spec`]: answers from an OpenAPI document for the routes orb-mock does not model
//!   (`--spec`);
//! - [`worker`]: runs the store's queues of due work;
//! - [`webhooks`]: signs and sends webhook deliveries (the store's courier);
//! - [`objects`]: Orb's JSON objects and webhook bodies, from the store's domain types;
//! - [`store`]: the domain API over PostgreSQL or SQLite, with no HTTP type;
//! - [`config`], [`clock`];
//! - [`testing`] serves orb-mock inside a Rust test.

pub mod clock;
pub mod config;
#[cfg(debug_assertions)]
pub mod failpoint;
pub mod healthcheck;
pub mod http;
pub mod objects;
pub mod openapi;
pub mod server;
pub mod spec;
pub mod store;
#[doc(hidden)]
pub mod test_env;
pub mod testing;
pub mod webhooks;
pub mod worker;
