//! End-to-end tests: the real binary and real peers (the reference PDS, client libraries, a second
//! node) on 127.0.0.1.

mod durability;
mod pds_errors;
mod repo_verify;
