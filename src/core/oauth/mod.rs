//! The atproto OAuth profile, pure: permission scopes and what a grant allows, DPoP proofs and
//! server nonces, JWK thumbprints, PKCE, client ids and metadata, client assertions.
//!
//! Nothing here stores, fetches or reads a clock: the authorization server in `pds::oauth` does
//! that and calls these functions with the time.
//!
//! Spec: <https://atproto.com/specs/oauth>, <https://atproto.com/specs/permission>.

pub mod assertion;
pub mod client;
pub mod describe;
pub mod dpop;
pub mod grant;
pub mod jwk;
pub mod pkce;
pub mod scope;
