//! The one integration-test binary (one link step saves minutes on 2 cores).
//!
//! `conformance` checks `skyhold::core` against the official fixtures in `../shared/`.

#![allow(clippy::unwrap_used, clippy::result_large_err)]

mod conformance;
mod fixtures;
mod tidy;
