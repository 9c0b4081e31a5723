//! Parsed repo signing keys, kept between commits.
//!
//! Parsing a k256 secret derives its public point, a scalar multiplication that costs about as much as
//! the signature itself, and the commit pipeline signs on the writer thread, where every microsecond is
//! serial. So the parsed key is kept per account. An entry is used only while it still matches the
//! secret stored in the account row, so a rotated key is never used stale; nothing needs invalidating.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::crypto::{Algorithm, CryptoError, Keypair};

/// Most parsed keys kept; past this the cache starts over (accounts that write keep re-entering it).
const MAX_CACHED_KEYS: usize = 4096;

#[derive(Default)]
pub struct SigningKeys(Mutex<HashMap<u64, Keypair>>);

impl SigningKeys {
    /// The k256 key for account `id` whose stored secret is `secret`.
    pub fn get(&self, id: u64, secret: &[u8]) -> Result<Keypair, CryptoError> {
        let mut keys = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = keys.get(&id)
            && key.to_bytes().as_slice() == secret
        {
            return Ok(key.clone());
        }
        let key = Keypair::from_bytes(Algorithm::K256, secret)?;
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(id, key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_secret_is_never_served_from_the_cache() {
        let keys = SigningKeys::default();
        let first = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let second = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let got = keys.get(7, &first.to_bytes()).unwrap();
        assert_eq!(got.public_key(), first.public_key());
        let again = keys.get(7, &first.to_bytes()).unwrap();
        assert_eq!(again.public_key(), first.public_key());
        let rotated = keys.get(7, &second.to_bytes()).unwrap();
        assert_eq!(rotated.public_key(), second.public_key());
        assert!(keys.get(8, &[0u8; 32]).is_err(), "a zero scalar is no key");
    }
}
