//! The one integration-test binary (one link step saves minutes on 2 cores).
//!
//! `conformance` checks `skyhold::core` against the official fixtures in `tests/fixtures/`; `e2e` starts the
//! real binary and real peers on 127.0.0.1; `tidy` checks the source tree's own rules.

#![allow(clippy::unwrap_used, clippy::result_large_err)]
// An end-to-end test is one scenario told step by step; splitting it would hide the story.
#![allow(clippy::too_many_lines)]

mod conformance;
mod e2e;
mod fixtures;
mod harness;
mod packaging;
mod tidy;
mod xrpc;
