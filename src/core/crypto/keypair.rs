//! [`Keypair`]: a private signing key on one of the atproto curves.
//!
//! Spec: <https://atproto.com/specs/cryptography>. Signatures are over SHA-256 of the message and are
//! always normalised to low-S before they leave this module. `Debug` never shows the secret.

use ecdsa::signature::Signer;
use rand_core::CryptoRngCore;

use super::{Algorithm, CryptoError, PublicKey};

/// A private key. Cloning copies the secret, so clone only where a second owner needs it.
#[derive(Clone)]
pub enum Keypair {
    P256(p256::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keypair({:?}, {})",
            self.algorithm(),
            self.public_key().to_did_key()
        )
    }
}

impl Keypair {
    /// A fresh random key.
    pub fn generate(algorithm: Algorithm, rng: &mut impl CryptoRngCore) -> Keypair {
        match algorithm {
            Algorithm::P256 => Keypair::P256(p256::ecdsa::SigningKey::random(rng)),
            Algorithm::K256 => Keypair::K256(k256::ecdsa::SigningKey::random(rng)),
        }
    }

    /// Reads a 32-byte big-endian secret scalar.
    pub fn from_bytes(algorithm: Algorithm, secret: &[u8]) -> Result<Keypair, CryptoError> {
        let invalid = |_| CryptoError::InvalidKey("secret key bytes are not a valid scalar".into());
        Ok(match algorithm {
            Algorithm::P256 => {
                Keypair::P256(p256::ecdsa::SigningKey::from_slice(secret).map_err(invalid)?)
            }
            Algorithm::K256 => {
                Keypair::K256(k256::ecdsa::SigningKey::from_slice(secret).map_err(invalid)?)
            }
        })
    }

    /// The secret as multibase text (`z…`, multicodec p256-priv or secp256k1-priv).
    pub fn to_multibase(&self) -> String {
        super::multikey::encode_secret(self.algorithm(), &self.to_bytes())
    }

    /// Reads a multibase secret key ([`Keypair::to_multibase`]); the curve is in the text.
    pub fn from_multibase(text: &str) -> Result<Keypair, CryptoError> {
        let (algorithm, secret) = super::multikey::decode_secret(text)?;
        Keypair::from_bytes(algorithm, &secret)
    }

    /// The 32-byte secret scalar. Handle with care: this is the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        match self {
            Keypair::P256(k) => k.to_bytes().into(),
            Keypair::K256(k) => k.to_bytes().into(),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Keypair::P256(_) => Algorithm::P256,
            Keypair::K256(_) => Algorithm::K256,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Keypair::P256(k) => PublicKey::P256(*k.verifying_key()),
            Keypair::K256(k) => {
                PublicKey::K256(super::public_key::K256Key::new(*k.verifying_key()))
            }
        }
    }

    /// Signs SHA-256 of `message`; the result is the compact 64-byte `r ‖ s` with low S.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        match self {
            Keypair::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.normalize_s().unwrap_or(sig).to_bytes().into()
            }
            Keypair::K256(k) => {
                let sig: k256::ecdsa::Signature = k.sign(message);
                sig.normalize_s().unwrap_or(sig).to_bytes().into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_on_both_curves() {
        for algorithm in [Algorithm::P256, Algorithm::K256] {
            let key = Keypair::generate(algorithm, &mut rand_core::OsRng);
            let public = key.public_key();
            for i in 0..32u8 {
                let message = [i; 40];
                let sig = key.sign(&message);
                assert_eq!(public.verify(&message, &sig), Ok(()));
                assert!(public.verify(b"other", &sig).is_err());
            }
            let again = Keypair::from_bytes(algorithm, &key.to_bytes()).unwrap();
            assert_eq!(again.public_key(), public);
            assert_eq!(
                PublicKey::from_did_key(&public.to_did_key()).unwrap(),
                public
            );
        }
    }

    #[test]
    fn multibase_secrets_name_their_curve() {
        for (algorithm, prefix) in [
            (Algorithm::P256, [0x86, 0x26]),
            (Algorithm::K256, [0x81, 0x26]),
        ] {
            let key = Keypair::generate(algorithm, &mut rand_core::OsRng);
            let text = key.to_multibase();
            let raw = bs58::decode(&text[1..]).into_vec().unwrap();
            assert_eq!(&raw[..2], &prefix);
            assert_eq!(&raw[2..], &key.to_bytes());
            let again = Keypair::from_multibase(&text).unwrap();
            assert_eq!(again.algorithm(), algorithm);
            assert_eq!(again.public_key(), key.public_key());
        }
        let public = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng)
            .public_key()
            .to_multikey();
        assert!(
            Keypair::from_multibase(&public).is_err(),
            "a public key is not a secret"
        );
        assert!(Keypair::from_multibase("z1111").is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let shown = format!("{key:?}");
        assert!(shown.contains("did:key:"));
        assert!(!shown.contains(&data_encoding::HEXLOWER.encode(&key.to_bytes())));
    }
}
