//! did:web accounts (`--did-method web`): the account's DID is `did:web:<handle>` and this server
//! renders its document from the account row, served at `https://<handle>/.well-known/did.json`.
//!
//! Spec: <https://atproto.com/specs/did> (did:web: hostname only, no paths or ports) and the W3C
//! did:web method. The limits, written down in docs/ACCOUNTS.md: the DID is bound to its host name,
//! so the handle cannot change and the account cannot leave without the domain; there are no
//! rotation keys, so no recovery key either.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;

use super::Pds;
use super::rows::AccountRow;
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::did_document::DidDocument;
use crate::core::plc::{DocumentData, Service};
use crate::core::syntax::Did;
use crate::identity::LocalDocuments;

/// The did:web DID for a handle.
pub(super) fn did_for_handle(handle: &str) -> String {
    format!("did:web:{handle}")
}

/// The document of a did:web account hosted here.
fn document_for(account: &AccountRow, public_url: &str) -> Option<DidDocument> {
    let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key).ok()?;
    let data = DocumentData {
        did: account.did.to_string(),
        verification_methods: BTreeMap::from([(
            "atproto".to_owned(),
            key.public_key().to_did_key(),
        )]),
        rotation_keys: Vec::new(),
        also_known_as: vec![format!("at://{}", account.handle)],
        services: BTreeMap::from([(
            "atproto_pds".to_owned(),
            Service {
                service_type: "AtprotoPersonalDataServer".to_owned(),
                endpoint: public_url.to_owned(),
            },
        )]),
    };
    Some(data.to_did_document())
}

impl Pds {
    /// The document of a did:web account hosted here (whatever its status: the identity stays
    /// while the account is deactivated, as a did:plc's does).
    pub async fn hosted_web_document(&self, did: &Did) -> Option<DidDocument> {
        let host = did.as_str().strip_prefix("did:web:")?;
        let account = self.account(did).await.ok()??;
        // Only the account whose handle is the DID's host: a did:web that migrated in is served by
        // its own domain.
        if account.handle != host {
            return None;
        }
        document_for(&account, &self.inner.config.public_url)
    }
}

impl LocalDocuments for Pds {
    fn document<'a>(&'a self, did: &'a str) -> BoxFuture<'a, Option<DidDocument>> {
        Box::pin(async move { self.hosted_web_document(&Did::parse(did).ok()?).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pds::rows::AccountStatus;

    #[test]
    fn the_document_names_the_key_handle_and_endpoint() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let account = AccountRow {
            did: Did::parse(&did_for_handle("alice.example.com")).unwrap(),
            handle: "alice.example.com".into(),
            email: None,
            email_confirmed_at: None,
            password_hash: String::new(),
            signing_key: key.to_bytes().to_vec(),
            created_at: String::new(),
            status: AccountStatus::Active,
            id: 1,
            invite_code: None,
            invites_disabled: false,
            takedown_ref: None,
            delete_after: None,
            deactivated_at: None,
            suspended_until: None,
        };
        let doc = document_for(&account, "https://pds.example.com").unwrap();
        assert_eq!(doc.id, "did:web:alice.example.com");
        assert_eq!(doc.handle(), Some("alice.example.com"));
        assert_eq!(doc.pds_endpoint(), Some("https://pds.example.com"));
        assert_eq!(doc.signing_key().unwrap(), key.public_key());
    }
}
