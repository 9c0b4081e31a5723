//! Keys and signatures: k256 and p256 ECDSA over SHA-256, low-S on both sides, compact 64-byte
//! signatures, multikey and `did:key` encodings (plus the legacy DID-document key forms).
//!
//! Spec: <https://atproto.com/specs/cryptography>. Randomness is passed in (`rand_core`), never read
//! from a global, so callers decide where it comes from.

mod constant_time;
mod keypair;
mod multikey;
mod public_key;

pub use constant_time::constant_time_eq;
pub use keypair::Keypair;
pub use public_key::PublicKey;

/// The two curves atproto supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// NIST P-256, JWT `alg` "ES256".
    P256,
    /// secp256k1, JWT `alg` "ES256K".
    K256,
}

impl Algorithm {
    /// The JWT/JWS `alg` name.
    pub fn jwt_alg(self) -> &'static str {
        match self {
            Algorithm::P256 => "ES256",
            Algorithm::K256 => "ES256K",
        }
    }

    pub fn from_jwt_alg(alg: &str) -> Option<Algorithm> {
        match alg {
            "ES256" => Some(Algorithm::P256),
            "ES256K" => Some(Algorithm::K256),
            _ => None,
        }
    }
}

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("unsupported key type: {0}")]
    UnsupportedKeyType(String),
    #[error("signature must be 64 bytes in compact r||s form (got {0} bytes)")]
    SignatureLength(usize),
    #[error("signature is not low-S")]
    HighS,
    #[error("invalid signature")]
    BadSignature,
}
