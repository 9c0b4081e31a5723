//! The one integration-test binary (one link step saves minutes on 2 cores).
//!
//! `conformance` checks `skyhold::core` against the official fixtures in `../shared/`.

mod conformance;
mod fixtures;
