//! Multikey encoding: varint multicodec prefix + compressed SEC1 point, base58btc with a `z` prefix.
//!
//! Spec: <https://atproto.com/specs/cryptography#public-key-encoding>.

use super::{Algorithm, CryptoError};

/// Varint of multicodec 0x1200 (p256-pub).
const PREFIX_P256: [u8; 2] = [0x80, 0x24];
/// Varint of multicodec 0xe7 (secp256k1-pub).
const PREFIX_K256: [u8; 2] = [0xe7, 0x01];

/// Varint of multicodec 0x1306 (p256-priv).
const PREFIX_P256_SECRET: [u8; 2] = [0x86, 0x26];
/// Varint of multicodec 0x1301 (secp256k1-priv).
const PREFIX_K256_SECRET: [u8; 2] = [0x81, 0x26];

/// A secret scalar as multibase (`z` + base58btc of the private-key multicodec and the 32 bytes),
/// the form goat prints and a paper recovery key holds.
pub fn encode_secret(algorithm: Algorithm, secret: &[u8]) -> String {
    let prefix = match algorithm {
        Algorithm::P256 => PREFIX_P256_SECRET,
        Algorithm::K256 => PREFIX_K256_SECRET,
    };
    let mut bytes = Vec::with_capacity(2 + secret.len());
    bytes.extend_from_slice(&prefix);
    bytes.extend_from_slice(secret);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Reads [`encode_secret`]'s form.
pub fn decode_secret(text: &str) -> Result<(Algorithm, Vec<u8>), CryptoError> {
    let bytes = decode_base58btc(text)?;
    if bytes.len() != 34 {
        return Err(CryptoError::InvalidKey(
            "a multibase secret key holds a 2-byte codec and 32 bytes".into(),
        ));
    }
    let (prefix, secret) = bytes.split_at(2);
    let algorithm = if prefix == PREFIX_P256_SECRET {
        Algorithm::P256
    } else if prefix == PREFIX_K256_SECRET {
        Algorithm::K256
    } else {
        return Err(CryptoError::UnsupportedKeyType(format!(
            "multicodec prefix {prefix:02x?} is not a p256 or secp256k1 private key"
        )));
    };
    Ok((algorithm, secret.to_vec()))
}

pub fn encode(algorithm: Algorithm, compressed_point: &[u8]) -> String {
    let prefix = match algorithm {
        Algorithm::P256 => PREFIX_P256,
        Algorithm::K256 => PREFIX_K256,
    };
    let mut bytes = Vec::with_capacity(2 + compressed_point.len());
    bytes.extend_from_slice(&prefix);
    bytes.extend_from_slice(compressed_point);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes `z` + base58btc into raw bytes.
pub fn decode_base58btc(text: &str) -> Result<Vec<u8>, CryptoError> {
    let body = text.strip_prefix('z').ok_or_else(|| {
        CryptoError::InvalidKey("multibase key must be base58btc (z prefix)".into())
    })?;
    // A compressed or uncompressed point fits in far less; refuse long garbage before decoding.
    if body.len() > 128 {
        return Err(CryptoError::InvalidKey("multibase key too long".into()));
    }
    bs58::decode(body)
        .into_vec()
        .map_err(|e| CryptoError::InvalidKey(format!("bad base58btc: {e}")))
}

pub fn decode(text: &str) -> Result<(Algorithm, Vec<u8>), CryptoError> {
    let bytes = decode_base58btc(text)?;
    if bytes.len() < 2 {
        return Err(CryptoError::InvalidKey("multikey too short".into()));
    }
    let (prefix, point) = bytes.split_at(2);
    let algorithm = if prefix == PREFIX_P256 {
        Algorithm::P256
    } else if prefix == PREFIX_K256 {
        Algorithm::K256
    } else {
        return Err(CryptoError::UnsupportedKeyType(format!(
            "multicodec prefix {prefix:02x?}"
        )));
    };
    Ok((algorithm, point.to_vec()))
}
