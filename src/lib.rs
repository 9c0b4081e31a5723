//! skyhold: a whole small AT Protocol community in one binary.
//!
//! The crate is one package with two targets: this library, which holds every module, and a thin
//! `main.rs`. Only [`core`] (the pure protocol) and [`cli::run`] are public (plus hidden hooks for
//! `benches/appview.rs`, `benches/scale.rs` and `benches/startup.rs`); integration tests drive the binary itself. See `docs/ARCHITECTURE.md` for
//! the module map.

mod app;
mod appview;
mod backup;
pub mod cli;
mod clock;
mod config;
pub mod core;
mod http;
mod identity;
mod lexicons;
mod metrics;
mod moderation;
mod net;
mod pds;
mod ratelimit;
mod relay;
mod store;
mod telemetry;
mod tls;
mod web;

/// Not an API: the App View's hooks for `benches/appview.rs`. A bench target is a separate crate
/// that can only reach public items, and re-exporting this one facade keeps the App View itself
/// private (the alternative, making `appview` public, would expose every view and table).
#[doc(hidden)]
pub use appview::bench_support as appview_bench;

/// Not an API: the relay's early filter and carried-account state, for `benches/scale.rs`.
#[doc(hidden)]
pub use relay::bench_support as relay_bench;

/// Not an API: the built-in Lexicon schemas' loaders, for `benches/startup.rs` (what they add to a
/// start, in time and memory).
#[doc(hidden)]
pub mod lexicons_bench {
    pub use crate::lexicons::{official, with_operator_schemas};
}
