//! Server secrets, created on first start and kept in the store: the session-token HMAC key and the
//! PLC rotation key this server signs did:plc operations with.

use rand_core::{OsRng, RngCore};
use redb::{ReadableTable, TableDefinition};

use super::PdsError;
use crate::core::crypto::{Algorithm, Keypair};
use crate::store::{Store, StoreError};

/// Server-wide secrets and keys: name → bytes.
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.secrets");

const JWT_KEY: &str = "jwt_hs256_key";
const PLC_ROTATION_KEY: &str = "plc_rotation_key_k256";
const APP_PASSWORD_KEY: &str = "app_password_hmac_key";

pub struct Secrets {
    /// HMAC key for access and refresh tokens.
    pub jwt_key: [u8; 32],
    /// Rotation key listed first in the did:plc documents of accounts created here.
    pub plc_rotation: Keypair,
    /// HMAC key of app password digests (see `app_passwords`).
    pub app_password_key: [u8; 32],
}

impl Secrets {
    pub async fn load_or_create(store: &Store) -> Result<Secrets, PdsError> {
        let mut fresh_jwt = [0u8; 32];
        OsRng.fill_bytes(&mut fresh_jwt);
        let fresh_rotation = Keypair::generate(Algorithm::K256, &mut OsRng).to_bytes();
        let mut fresh_app_password = [0u8; 32];
        OsRng.fill_bytes(&mut fresh_app_password);
        let (jwt, rotation, app_password) = store
            .write(move |txn| {
                let mut table = txn.open_table(SECRETS)?;
                let mut get_or_insert = |name: &str, fresh: &[u8]| -> Result<Vec<u8>, StoreError> {
                    if let Some(existing) = table.get(name)? {
                        return Ok(existing.value().to_vec());
                    }
                    table.insert(name, fresh)?;
                    Ok(fresh.to_vec())
                };
                let jwt = get_or_insert(JWT_KEY, &fresh_jwt)?;
                let rotation = get_or_insert(PLC_ROTATION_KEY, &fresh_rotation)?;
                let app_password = get_or_insert(APP_PASSWORD_KEY, &fresh_app_password)?;
                Ok(Ok::<_, PdsError>((jwt, rotation, app_password)))
            })
            .await?;
        let jwt_key: [u8; 32] = jwt
            .try_into()
            .map_err(|_| PdsError::Internal("stored JWT key has the wrong length".into()))?;
        let plc_rotation = Keypair::from_bytes(Algorithm::K256, &rotation)
            .map_err(|e| PdsError::Internal(format!("stored rotation key: {e}")))?;
        let app_password_key: [u8; 32] = app_password.try_into().map_err(|_| {
            PdsError::Internal("stored app password key has the wrong length".into())
        })?;
        Ok(Secrets {
            jwt_key,
            plc_rotation,
            app_password_key,
        })
    }
}
