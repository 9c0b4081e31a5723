//! The embedded PLC directory: a did:plc directory served by skyhold itself under `/plc`, so a local
//! network (and a reference PDS pointed at it) needs nothing outside.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>
//! and the directory API (`website/spec/plc-server-openapi3.yaml`). Every submitted operation is
//! validated with `core::plc::apply_operation` (signatures, prev chain, 72 h recovery window), and
//! the whole log is stored per DID; an export table keeps acceptance order.

use redb::{ReadableTable, TableDefinition};

use crate::core::did_document::DidDocument;
use crate::core::plc::{self, DocumentData, LogEntry, Operation, PlcError};
use crate::store::{Store, StoreError, open_read_table};

/// did → JSON array of the DID's audit log entries.
const LOGS: TableDefinition<&str, &[u8]> = TableDefinition::new("plc.logs");
/// export sequence → did (the entry is the last of its log at that time).
const EXPORT: TableDefinition<u64, (&str, u32)> = TableDefinition::new("plc.export");

/// Most entries one export page returns.
pub const MAX_EXPORT_COUNT: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum PlcDirectoryError {
    #[error("DID not registered: {0}")]
    NotFound(String),
    #[error("DID not available: {0}")]
    Tombstoned(String),
    #[error("{0}")]
    Invalid(#[from] PlcError),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The directory, over the shared store.
#[derive(Clone)]
pub struct PlcDirectory {
    store: Store,
}

fn decode_log(bytes: &[u8]) -> Result<Vec<LogEntry>, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("plc log: {e}")))
}

impl PlcDirectory {
    pub fn new(store: Store) -> PlcDirectory {
        PlcDirectory { store }
    }

    /// Accepts an operation for `did` (creating the DID when it is a genesis op), as
    /// `POST /<did>` does.
    pub async fn submit(
        &self,
        did: &str,
        op: Operation,
        now_micros: i64,
    ) -> Result<(), PlcDirectoryError> {
        if !did.starts_with("did:plc:") {
            return Err(PlcDirectoryError::BadRequest(format!(
                "not a did:plc: {did}"
            )));
        }
        if op.is_genesis() {
            let derived = plc::did_for_genesis(&op)?;
            if derived != did {
                return Err(PlcDirectoryError::BadRequest(format!(
                    "genesis operation is for {derived}, not {did}"
                )));
            }
        }
        let did = did.to_owned();
        self.store
            .write(move |txn| {
                let mut logs = txn.open_table(LOGS)?;
                let log = match logs.get(did.as_str())? {
                    Some(bytes) => decode_log(bytes.value())?,
                    None => Vec::new(),
                };
                if log.is_empty() && !op.is_genesis() {
                    return Ok(Err(PlcDirectoryError::NotFound(did)));
                }
                let updated = match plc::apply_operation(&did, &log, op, now_micros) {
                    Ok(updated) => updated,
                    Err(e) => return Ok(Err(e.into())),
                };
                let bytes =
                    serde_json::to_vec(&updated).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                logs.insert(did.as_str(), bytes.as_slice())?;
                let mut export = txn.open_table(EXPORT)?;
                let next = export.last()?.map_or(1, |(k, _)| k.value() + 1);
                let index = u32::try_from(updated.len() - 1).unwrap_or(u32::MAX);
                export.insert(next, (did.as_str(), index))?;
                Ok(Ok(()))
            })
            .await
    }

    /// The full audit log (`GET /<did>/log/audit`).
    pub async fn audit_log(&self, did: &str) -> Result<Vec<LogEntry>, PlcDirectoryError> {
        let key = did.to_owned();
        let log: Option<Vec<LogEntry>> = self
            .store
            .read(move |txn| {
                let Some(logs) = open_read_table(txn, LOGS)? else {
                    return Ok::<_, StoreError>(None);
                };
                logs.get(key.as_str())?
                    .map(|bytes| decode_log(bytes.value()))
                    .transpose()
            })
            .await?;
        log.filter(|l| !l.is_empty())
            .ok_or_else(|| PlcDirectoryError::NotFound(did.to_owned()))
    }

    /// The active (non-nullified) operations (`GET /<did>/log`).
    pub async fn operations(&self, did: &str) -> Result<Vec<Operation>, PlcDirectoryError> {
        Ok(self
            .audit_log(did)
            .await?
            .into_iter()
            .filter(|e| !e.nullified)
            .map(|e| e.operation)
            .collect())
    }

    /// The newest active operation (`GET /<did>/log/last`).
    pub async fn last_operation(&self, did: &str) -> Result<Operation, PlcDirectoryError> {
        let log = self.audit_log(did).await?;
        plc::active_head(&log)
            .map(|e| e.operation.clone())
            .ok_or_else(|| PlcDirectoryError::NotFound(did.to_owned()))
    }

    /// The current state (`GET /<did>/data`); tombstoned DIDs have none.
    pub async fn data(&self, did: &str) -> Result<DocumentData, PlcDirectoryError> {
        let op = self.last_operation(did).await?;
        DocumentData::from_operation(did, &op)
            .ok_or_else(|| PlcDirectoryError::Tombstoned(did.to_owned()))
    }

    /// The DID document (`GET /<did>`).
    pub async fn document(&self, did: &str) -> Result<DidDocument, PlcDirectoryError> {
        Ok(self.data(did).await?.to_did_document())
    }

    /// Accepted entries in acceptance order, after export position `after` (`GET /export`);
    /// returns the entries with their positions.
    pub async fn export(
        &self,
        after: u64,
        count: usize,
    ) -> Result<Vec<(u64, LogEntry)>, PlcDirectoryError> {
        let count = count.clamp(1, MAX_EXPORT_COUNT);
        Ok(self
            .store
            .read(move |txn| {
                let (Some(export), Some(logs)) =
                    (open_read_table(txn, EXPORT)?, open_read_table(txn, LOGS)?)
                else {
                    return Ok::<_, StoreError>(Vec::new());
                };
                let mut out = Vec::new();
                for row in export.range(after.saturating_add(1)..)?.take(count) {
                    let (seq, value) = row?;
                    let (did, index) = value.value();
                    let Some(bytes) = logs.get(did)? else {
                        continue;
                    };
                    let log = decode_log(bytes.value())?;
                    if let Some(entry) = log.get(index as usize) {
                        out.push((seq.value(), entry.clone()));
                    }
                }
                Ok(out)
            })
            .await?)
    }
}
