//! The rate limits' one table: windows of an hour or more and the admin back-off, written in one
//! job per flush.

use redb::{ReadableTable, TableDefinition};

use crate::store::{Store, StoreError, open_read_table};

/// (limit name, key) → window start (u64, big-endian) ‖ points used (u32, big-endian).
const WINDOWS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("ratelimit.windows");

fn encode(start: u64, used: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&start.to_be_bytes());
    out[8..].copy_from_slice(&used.to_be_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<(u64, u32)> {
    let start = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let used = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    Some((start, used))
}

/// Every stored window as (limit name, key, start, used).
pub async fn load(store: &Store) -> Result<Vec<(String, String, u64, u32)>, StoreError> {
    store
        .read(|txn| {
            let Some(table) = open_read_table(txn, WINDOWS)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for row in table.iter()? {
                let (key, value) = row?;
                let (name, key) = key.value();
                if let Some((start, used)) = decode(value.value()) {
                    out.push((name.to_owned(), key.to_owned(), start, used));
                }
            }
            Ok::<_, StoreError>(out)
        })
        .await
}

/// Writes `rows` and removes windows that started before `expired_before`.
pub async fn save(
    store: &Store,
    rows: Vec<(String, String, u64, u32)>,
    expired_before: u64,
) -> Result<(), StoreError> {
    store
        .write(move |txn| {
            let mut table = txn.open_table(WINDOWS)?;
            for (name, key, start, used) in &rows {
                table.insert(
                    (name.as_str(), key.as_str()),
                    encode(*start, *used).as_slice(),
                )?;
            }
            let mut expired = Vec::new();
            for row in table.iter()? {
                let (key, value) = row?;
                if decode(value.value()).is_none_or(|(start, _)| start < expired_before) {
                    let (name, key) = key.value();
                    expired.push((name.to_owned(), key.to_owned()));
                }
            }
            for (name, key) in expired {
                table.remove((name.as_str(), key.as_str()))?;
            }
            Ok(Ok::<_, StoreError>(()))
        })
        .await
}
