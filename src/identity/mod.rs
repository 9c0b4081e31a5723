//! Identity: resolving DIDs (did:plc through a PLC directory, did:web over HTTPS) to their documents.
//!
//! Spec: <https://atproto.com/specs/did>. Handles, caching and the embedded PLC directory join this
//! module with the PDS.

mod resolver;

pub use resolver::Resolver;
