//! skyhold: a whole small AT Protocol community in one binary.
//!
//! The crate is one package with two targets: this library, which holds every module, and a thin
//! `main.rs`. Only [`core`] (the pure protocol) and [`cli::run`] are public; integration tests drive
//! the binary itself. See `docs/ARCHITECTURE.md` for the module map.

mod app;
mod appview;
pub mod cli;
mod clock;
mod config;
pub mod core;
mod http;
mod identity;
mod net;
mod pds;
mod relay;
mod store;
mod telemetry;
