//! Conformance suites, one module per fixture family under `../shared/`.
//!
//! Each test names its fixture file, prints how many cases it checked, and fails with a clear message
//! when `../shared/` is missing.

mod crypto;
mod data_model;
mod lexicon;
mod mst;
mod plc;
mod repo;
mod syntax;
