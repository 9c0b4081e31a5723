//! Identity operations of the PDS: resolveHandle and updateHandle.
//!
//! Spec: <https://atproto.com/specs/handle>. A handle change for a did:plc account is a signed PLC
//! update (the server's rotation key must still be one of the DID's rotation keys); for did:web the
//! document must already claim the handle. Either way the change ends with an `#identity` event.

use super::account_store;
use super::handles::check_handle;
use super::{Pds, PdsError, events};
use crate::core::plc::{self, AtprotoChanges};
use crate::core::syntax::{Did, Handle};

impl Pds {
    /// The DID's newest PLC operation, from the directory this node uses.
    pub(super) async fn last_plc_operation(&self, did: &Did) -> Result<plc::Operation, PdsError> {
        let last = self.inner.plc.last_operation(did.as_str()).await;
        last.map_err(|e| PdsError::Upstream(e.to_string()))
    }

    /// The current PLC state of a did:plc (rotation keys, keys, handles, services), read from the
    /// directory this node uses, for members who check or add their own recovery keys.
    pub async fn plc_data(&self, did: &Did) -> Result<plc::DocumentData, PdsError> {
        if !did.as_str().starts_with("did:plc:") {
            return Err(PdsError::InvalidRequest(
                "only did:plc identities have PLC data".into(),
            ));
        }
        let last = self.last_plc_operation(did).await?;
        plc::DocumentData::from_operation(did.as_str(), &last)
            .ok_or_else(|| PdsError::DidTombstoned(format!("{did} has been tombstoned")))
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
            return Err(PdsError::HandleNotFound("Unable to resolve handle".into()));
        }
        self.inner
            .handles
            .resolve(&handle)
            .await
            .map(|did| did.to_string())
            .ok_or_else(|| PdsError::InvalidRequest("Unable to resolve handle".into()))
    }

    /// `updateHandle`.
    pub async fn update_handle(&self, did: &Did, new_handle: &str) -> Result<(), PdsError> {
        let (handle, on_service_domain) =
            check_handle(new_handle, &self.inner.config.handle_domains)?;
        if let Some(host) = did.as_str().strip_prefix("did:web:")
            && self.hosted_web_document(did).await.is_some()
            && handle.as_str() != host
        {
            return Err(PdsError::InvalidRequest(format!(
                "A did:web account's handle is its DID's host name ({host}) and cannot change"
            )));
        }
        if !on_service_domain {
            let resolved = self.inner.handles.resolve(&handle).await;
            if resolved.as_ref() != Some(did) {
                return Err(PdsError::InvalidHandle(
                    "External handle did not resolve to DID".into(),
                ));
            }
        }
        if let Some((owner, _)) = self.local_handle(handle.as_str()).await?
            && owner != did.as_str()
        {
            return Err(PdsError::HandleNotAvailable(format!(
                "Handle already taken: {handle}"
            )));
        }
        self.existing_account(did).await?;

        if did.is_plc() {
            let last = self.last_plc_operation(did).await?;
            let changes = AtprotoChanges {
                handle: Some(handle.to_string()),
                ..AtprotoChanges::default()
            };
            let unsigned = plc::update(&last, &changes)
                .map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
            let op = plc::UnsignedOperation::Plc(unsigned)
                .sign(&self.inner.secrets.plc_rotation)
                .map_err(|e| PdsError::Internal(e.to_string()))?;
            self.inner
                .plc
                .submit(did.as_str(), &op)
                .await
                .map_err(|e| {
                    PdsError::InvalidRequest(format!(
                        "The PLC directory refused the handle change: {e}"
                    ))
                })?;
            self.inner.resolver.forget(did.as_str());
        } else {
            let doc = self
                .inner
                .resolver
                .resolve(did)
                .await
                .map_err(|e| PdsError::InvalidRequest(format!("Could not resolve DID: {e}")))?;
            if doc.handle() != Some(handle.as_str()) {
                return Err(PdsError::InvalidRequest(
                    "DID is not properly configured for handle".into(),
                ));
            }
        }

        let (pds, did, handle) = (self.clone(), did.clone(), handle.to_string());
        self.store()
            .write(move |txn| {
                let Some(mut account) = account_store::get(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                if account_store::set_handle(txn, &mut account, &handle)?.is_err() {
                    return Ok(Err(PdsError::HandleNotAvailable(format!(
                        "Handle already taken: {handle}"
                    ))));
                }
                let now = pds.clock().now_datetime();
                let event = events::identity(did.as_str(), Some(&handle), &now);
                pds.events().append(txn, event)?;
                Ok(Ok(()))
            })
            .await
    }
}
