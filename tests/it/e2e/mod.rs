//! End-to-end tests: the real binary and real peers (the reference PDS, client libraries, a second
//! node) on 127.0.0.1.

mod admin_console;
mod appview;
mod appview_federation;
mod appview_labels;
mod atproto_api;
mod backup;
mod client_extras;
mod crawlers;
mod did_web;
mod durability;
mod email;
mod federation;
mod follow_graph;
mod hardening;
mod init_doctor;
mod lexicon_validation;
mod lifecycle;
mod migration;
mod network;
mod oauth;
mod pds_errors;
mod plc_directory;
mod recovery;
mod relay_consumer;
mod relay_errors;
mod relay_scenarios;
mod repo_verify;
mod restart;
mod search_index;
mod tls;
mod upstream;
mod web;
