//! Identity: resolving DIDs (did:plc through a PLC directory, did:web over HTTPS) and handles, and the
//! embedded PLC directory.
//!
//! Spec: <https://atproto.com/specs/did>, <https://atproto.com/specs/handle>.

mod handle;
mod plc_client;
mod plc_directory;
mod resolver;

pub use handle::HandleResolver;
pub use plc_client::PlcClient;
pub use plc_directory::{PlcDirectory, PlcDirectoryError};
pub use resolver::{LocalDocuments, Resolver};
