//! Conformance suites, one module per fixture family vendored under `tests/fixtures/`.
//!
//! Each test names its fixture file, prints how many cases it checked, and fails with a clear message
//! when a fixture is missing. `vendored` checks the copies against the shared conformance folder.

mod crypto;
mod data_model;
mod lexicon;
mod mst;
mod oauth;
mod plc;
mod repo;
mod syntax;
mod vendored;
