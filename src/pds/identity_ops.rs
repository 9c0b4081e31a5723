//! Identity operations of the PDS: resolveHandle and updateHandle.
//!
//! Spec: <https://atproto.com/specs/handle>. A handle change for a did:plc account is a signed PLC
//! update (the server's rotation key must still be one of the DID's rotation keys); for did:web the
//! document must already claim the handle. Either way the change ends with an `#identity` event.

use redb::ReadableTable;

use super::handles::check_handle;
use super::rows::{self, AccountRow};
use super::tables::{ACCOUNTS, HANDLES};
use super::{Pds, PdsError, sequencer};
use crate::clock::now_datetime;
use crate::core::plc::{self, AtprotoChanges};
use crate::core::syntax::{Did, Handle};

impl Pds {
    /// The current PLC state of a did:plc (rotation keys, keys, handles, services), read from the
    /// directory this node uses, for members who check or add their own recovery keys.
    pub async fn plc_data(&self, did: &str) -> Result<plc::DocumentData, PdsError> {
        let parsed = Did::parse(did).map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
        if !parsed.as_str().starts_with("did:plc:") {
            return Err(PdsError::InvalidRequest(
                "only did:plc identities have PLC data".into(),
            ));
        }
        let last = self
            .inner
            .plc
            .last_operation(did)
            .await
            .map_err(|e| PdsError::Upstream(e.to_string()))?;
        plc::DocumentData::from_operation(did, &last).ok_or_else(|| PdsError::Named {
            error: "DidTombstoned",
            message: format!("{did} has been tombstoned"),
        })
    }

    /// `resolveHandle`: a local account, or (outside our domains) DNS/HTTPS resolution.
    pub async fn resolve_handle(&self, handle: &str) -> Result<String, PdsError> {
        let handle = Handle::parse(&handle.to_ascii_lowercase())
            .map_err(|e| PdsError::InvalidHandle(e.to_string()))?;
        if let Some((did, _)) = self.local_handle(handle.as_str()).await? {
            return Ok(did);
        }
        let ours = self.inner.config.handle_domains.iter().any(|d| {
            handle.as_str().ends_with(d.as_str()) || Some(handle.as_str()) == d.strip_prefix('.')
        });
        if ours {
            return Err(PdsError::Named {
                error: "HandleNotFound",
                message: "Unable to resolve handle".into(),
            });
        }
        self.inner
            .handles
            .resolve(&handle)
            .await
            .map(|did| did.to_string())
            .ok_or_else(|| PdsError::InvalidRequest("Unable to resolve handle".into()))
    }

    /// `updateHandle`.
    pub async fn update_handle(&self, did: &str, new_handle: &str) -> Result<(), PdsError> {
        let (handle, on_service_domain) =
            check_handle(new_handle, &self.inner.config.handle_domains)?;
        if let Some(host) = did.strip_prefix("did:web:")
            && self.hosted_web_document(did).await.is_some()
            && handle.as_str() != host
        {
            return Err(PdsError::InvalidRequest(format!(
                "A did:web account's handle is its DID's host name ({host}) and cannot change"
            )));
        }
        if !on_service_domain {
            let resolved = self.inner.handles.resolve(&handle).await;
            if resolved.as_ref().map(Did::as_str) != Some(did) {
                return Err(PdsError::InvalidHandle(
                    "External handle did not resolve to DID".into(),
                ));
            }
        }
        if let Some((owner, _)) = self.local_handle(handle.as_str()).await?
            && owner != did
        {
            return Err(PdsError::HandleNotAvailable(format!(
                "Handle already taken: {handle}"
            )));
        }
        self.account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))?;

        if did.starts_with("did:plc:") {
            let last = self
                .inner
                .plc
                .last_operation(did)
                .await
                .map_err(|e| PdsError::Upstream(e.to_string()))?;
            let changes = AtprotoChanges {
                handle: Some(handle.to_string()),
                ..AtprotoChanges::default()
            };
            let unsigned = plc::update(&last, &changes)
                .map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
            let op = plc::UnsignedOperation::Plc(unsigned)
                .sign(&self.inner.secrets.plc_rotation)
                .map_err(|e| PdsError::Internal(e.to_string()))?;
            self.inner.plc.submit(did, &op).await.map_err(|e| {
                PdsError::InvalidRequest(format!(
                    "The PLC directory refused the handle change: {e}"
                ))
            })?;
            self.inner.resolver.forget(did);
        } else {
            let parsed = Did::parse(did).map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
            let doc = self
                .inner
                .resolver
                .resolve(&parsed)
                .await
                .map_err(|e| PdsError::InvalidRequest(format!("Could not resolve DID: {e}")))?;
            if doc.handle() != Some(handle.as_str()) {
                return Err(PdsError::InvalidRequest(
                    "DID is not properly configured for handle".into(),
                ));
            }
        }

        let (did, handle) = (did.to_owned(), handle.to_string());
        self.store()
            .write(move |txn| {
                let mut accounts = txn.open_table(ACCOUNTS)?;
                let Some(mut account) = accounts
                    .get(did.as_str())?
                    .map(|v| rows::decode::<AccountRow>(v.value()))
                    .transpose()?
                else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                let mut handles = txn.open_table(HANDLES)?;
                if let Some(owner) = handles.get(handle.as_str())?.map(|v| v.value().to_owned())
                    && owner != did
                {
                    return Ok(Err(PdsError::HandleNotAvailable(format!(
                        "Handle already taken: {handle}"
                    ))));
                }
                handles.remove(account.handle.as_str())?;
                handles.insert(handle.as_str(), did.as_str())?;
                account.handle = handle.clone();
                accounts.insert(did.as_str(), rows::encode(&account)?.as_slice())?;
                sequencer::append(
                    txn,
                    sequencer::identity(&did, Some(&handle), &now_datetime()),
                )?;
                Ok(Ok(()))
            })
            .await
    }
}
