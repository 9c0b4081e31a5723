//! The AT Protocol, pure: syntax, data model, Lexicon, crypto, MST, commits, CAR, did:plc, JWTs.
//!
//! Nothing in `core` does I/O, reads a clock, or touches tokio or redb: every function is a function of
//! its inputs (time and randomness are passed in), so the module can be checked against the official
//! vectors and fuzzed. It imports nothing from the rest of the crate.

pub mod car;
pub mod crypto;
pub mod data;
pub mod did_document;
pub mod firehose;
pub mod jwt;
pub mod label;
pub mod lexicon;
pub mod mst;
pub mod oauth;
pub mod plc;
pub mod repo;
pub mod syntax;
