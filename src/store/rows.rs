//! Rows of the services' tables, DRISL-encoded with serde: adding an optional field is a
//! compatible change; anything else needs a migration. Each service's `rows.rs` defines its rows
//! and re-exports these.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::core::data;

pub fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
    data::encode(row).map_err(|e| StoreError::Corrupt(format!("encoding a row: {e}")))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_ipld_dagcbor::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("decoding a row: {e}")))
}

/// The row stored at `key` in `table`, decoded.
pub fn get<'a, T: DeserializeOwned, K: redb::Key + 'static>(
    table: &impl redb::ReadableTable<K, &'static [u8]>,
    key: impl std::borrow::Borrow<K::SelfType<'a>>,
) -> Result<Option<T>, StoreError> {
    table.get(key)?.map(|v| decode(v.value())).transpose()
}
