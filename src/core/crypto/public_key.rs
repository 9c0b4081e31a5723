//! [`PublicKey`]: verification with strict atproto rules (compact 64-byte, low-S only).
//!
//! Spec: <https://atproto.com/specs/cryptography>. K256 signatures are checked by libsecp256k1
//! (the `secp256k1` crate): 2.5 times faster than the pure-Rust `k256` here, and a relay checks one
//! per event (docs/PERFORMANCE.md, "Relay"). `k256` still parses, encodes and signs; the low-S rule
//! is checked before either library sees the signature.

use ecdsa::signature::Verifier;
use sha2::Digest;

use super::{Algorithm, CryptoError, multikey};

/// A public key on one of the two atproto curves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    K256(K256Key),
}

/// A secp256k1 key, parsed once for both libraries (parsing a point costs a square root; a relay
/// keeps the parsed key for each account it follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct K256Key {
    point: k256::ecdsa::VerifyingKey,
    /// The same point for libsecp256k1 (`None` only if it refused a point `k256` took, which
    /// valid curve points never are: then `k256` verifies).
    fast: Option<secp256k1::PublicKey>,
}

impl K256Key {
    pub fn new(point: k256::ecdsa::VerifyingKey) -> K256Key {
        let fast = secp256k1::PublicKey::from_slice(point.to_encoded_point(true).as_bytes()).ok();
        K256Key { point, fast }
    }

    /// Checks a low-S signature over SHA-256 of `message`.
    fn verify(&self, message: &[u8], low_s: &k256::ecdsa::Signature) -> Result<(), CryptoError> {
        let Some(fast) = &self.fast else {
            return self
                .point
                .verify(message, low_s)
                .map_err(|_| CryptoError::BadSignature);
        };
        let signature = secp256k1::ecdsa::Signature::from_compact(&low_s.to_bytes())
            .map_err(|_| CryptoError::BadSignature)?;
        let digest: [u8; 32] = sha2::Sha256::digest(message).into();
        secp256k1::ecdsa::verify(&signature, secp256k1::Message::from_digest(digest), fast)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::P256,
            PublicKey::K256(_) => Algorithm::K256,
        }
    }

    /// Reads a SEC1 point (compressed or uncompressed) on the given curve.
    pub fn from_sec1(algorithm: Algorithm, bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        let invalid = |e: ecdsa::Error| CryptoError::InvalidKey(e.to_string());
        Ok(match algorithm {
            Algorithm::P256 => {
                PublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(invalid)?)
            }
            Algorithm::K256 => PublicKey::K256(K256Key::new(
                k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(invalid)?,
            )),
        })
    }

    /// The 33-byte compressed SEC1 point.
    pub fn to_compressed(&self) -> Vec<u8> {
        match self {
            PublicKey::P256(k) => k.to_encoded_point(true).as_bytes().to_vec(),
            PublicKey::K256(k) => k.point.to_encoded_point(true).as_bytes().to_vec(),
        }
    }

    /// The 65-byte uncompressed SEC1 point (JWK x/y come from it).
    pub fn to_uncompressed(&self) -> Vec<u8> {
        match self {
            PublicKey::P256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
            PublicKey::K256(k) => k.point.to_encoded_point(false).as_bytes().to_vec(),
        }
    }

    /// The multikey string (`z…`), as used in DID documents' `publicKeyMultibase`.
    pub fn to_multikey(&self) -> String {
        multikey::encode(self.algorithm(), &self.to_compressed())
    }

    /// `did:key:` + multikey.
    pub fn to_did_key(&self) -> String {
        format!("did:key:{}", self.to_multikey())
    }

    /// Parses a multikey string (`z…` with a multicodec prefix).
    pub fn from_multikey(text: &str) -> Result<PublicKey, CryptoError> {
        let (algorithm, point) = multikey::decode(text)?;
        PublicKey::from_sec1(algorithm, &point)
    }

    /// Parses a `did:key:z…` string.
    pub fn from_did_key(text: &str) -> Result<PublicKey, CryptoError> {
        let multikey = text.strip_prefix("did:key:").ok_or_else(|| {
            CryptoError::InvalidKey("did:key must start with \"did:key:\"".into())
        })?;
        PublicKey::from_multikey(multikey)
    }

    /// Parses a key from a DID document verification method: the current `Multikey` type, or the
    /// legacy `EcdsaSecp256k1VerificationKey2019` / `EcdsaSecp256r1VerificationKey2019` types whose
    /// `publicKeyMultibase` is a bare SEC1 point without a multicodec prefix.
    pub fn from_verification_method(
        method_type: &str,
        public_key_multibase: &str,
    ) -> Result<PublicKey, CryptoError> {
        let legacy = match method_type {
            "Multikey" => return PublicKey::from_multikey(public_key_multibase),
            "EcdsaSecp256r1VerificationKey2019" => Algorithm::P256,
            "EcdsaSecp256k1VerificationKey2019" => Algorithm::K256,
            other => return Err(CryptoError::UnsupportedKeyType(other.to_owned())),
        };
        let point = multikey::decode_base58btc(public_key_multibase)?;
        PublicKey::from_sec1(legacy, &point)
    }

    /// Verifies a compact 64-byte signature over SHA-256 of `message`, refusing high-S signatures.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        self.verify_inner(message, signature, false)
    }

    /// Like [`PublicKey::verify`] but also accepts high-S signatures. Only for reading legacy data
    /// signed before atproto required low-S (version 2 repo commits), and for JOSE signatures made
    /// by OAuth clients (RFC 7518 does not require low-S); never for atproto data.
    pub fn verify_allowing_high_s(
        &self,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.verify_inner(message, signature, true)
    }

    fn verify_inner(
        &self,
        message: &[u8],
        signature: &[u8],
        allow_high_s: bool,
    ) -> Result<(), CryptoError> {
        if signature.len() != 64 {
            return Err(CryptoError::SignatureLength(signature.len()));
        }
        match self {
            PublicKey::P256(key) => {
                let mut sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadSignature)?;
                if let Some(low) = sig.normalize_s() {
                    if !allow_high_s {
                        return Err(CryptoError::HighS);
                    }
                    sig = low;
                }
                key.verify(message, &sig)
                    .map_err(|_| CryptoError::BadSignature)
            }
            PublicKey::K256(key) => {
                let mut sig = k256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadSignature)?;
                if let Some(low) = sig.normalize_s() {
                    if !allow_high_s {
                        return Err(CryptoError::HighS);
                    }
                    sig = low;
                }
                key.verify(message, &sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CryptoError, PublicKey};
    use crate::core::crypto::{Algorithm, Keypair};

    /// `n - s` for a secp256k1 signature: the same signature with the high S.
    fn high_s(signature: &[u8; 64]) -> [u8; 64] {
        let sig = k256::ecdsa::Signature::from_slice(signature).unwrap();
        let (r, s) = sig.split_scalars();
        let flipped = k256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        flipped.to_bytes().into()
    }

    #[test]
    fn libsecp256k1_and_k256_agree_and_low_s_is_required() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let PublicKey::K256(public) = key.public_key() else {
            panic!("not a K256 key");
        };
        assert!(public.fast.is_some(), "libsecp256k1 reads every k256 point");
        let slow = super::K256Key {
            fast: None,
            ..public
        };
        for i in 0..16u8 {
            let message = [i; 48];
            let signature = key.sign(&message);
            let low = k256::ecdsa::Signature::from_slice(&signature).unwrap();
            for key in [&public, &slow] {
                assert_eq!(key.verify(&message, &low), Ok(()));
                assert_eq!(
                    key.verify(b"another message", &low),
                    Err(CryptoError::BadSignature)
                );
            }
            let public = PublicKey::K256(public);
            let high = high_s(&signature);
            assert_eq!(public.verify(&message, &high), Err(CryptoError::HighS));
            assert_eq!(public.verify_allowing_high_s(&message, &high), Ok(()));
            let mut forged = signature;
            forged[40] ^= 1;
            assert!(public.verify(&message, &forged).is_err());
        }
    }
}
