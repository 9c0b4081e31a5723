//! End-to-end tests: the real binary and real peers (the reference PDS, client libraries, a second
//! node) on 127.0.0.1.

mod appview;
mod appview_federation;
mod appview_labels;
mod atproto_api;
mod pds_errors;
mod plc_directory;
mod relay_scenarios;
mod repo_verify;
mod upstream;
