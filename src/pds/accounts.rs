//! Accounts: creating one (did:plc genesis through the PLC directory, the empty first commit, the
//! four creation events), reading account facts, and the server description.
//!
//! Spec: <https://atproto.com/specs/account> and the `com.atproto.server.createAccount` lexicon;
//! validation order and messages follow the reference PDS. An existing DID (migration in, the
//! account-migration guide) needs a service-auth token from that DID for `createAccount`; the
//! account starts deactivated with an empty repo signed by its new key and announces nothing until
//! it is activated.

use rand_core::OsRng;

use super::account_store::{self, Taken};
use super::auth::{AccessScope, SessionOutput};
use super::handles::check_handle;
use super::repo_store::{self, Signer};
use super::rows::{AccountRow, AccountStatus};
use super::{Pds, PdsError, events, invites};
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::did_document::DidDocument;
use crate::core::plc::{self, Operation, UnsignedOperation};
use crate::core::syntax::Did;

pub(super) const MAX_PASSWORD_LEN: usize = 256;
pub(super) const MIN_PASSWORD_LEN: usize = 8;

/// What `createAccount` takes.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    pub handle: String,
    pub email: Option<String>,
    pub password: Option<String>,
    pub invite_code: Option<String>,
    pub did: Option<String>,
    pub recovery_key: Option<String>,
    pub has_plc_op: bool,
    /// The request's bearer token: for an existing `did`, a service-auth token from that DID.
    pub service_auth: Option<String>,
}

/// What `createAccount` returns.
pub struct CreatedAccount {
    pub session: SessionOutput,
    pub did_doc: Option<DidDocument>,
}

/// An account's public facts.
#[derive(Clone, Debug)]
pub struct AccountInfo {
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed: bool,
    pub status: AccountStatus,
}

impl From<&AccountRow> for AccountInfo {
    fn from(row: &AccountRow) -> Self {
        AccountInfo {
            did: row.did.to_string(),
            handle: row.handle.clone(),
            email: row.email.clone(),
            email_confirmed: row.email_confirmed_at.is_some(),
            status: row.status,
        }
    }
}

/// What `describeServer` returns.
pub struct ServerDescription {
    pub did: String,
    pub available_user_domains: Vec<String>,
    pub invite_code_required: bool,
}

/// A plausible email address: one `@`, a local part, a dotted domain, no spaces.
pub(super) fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Pds {
    pub fn describe(&self) -> ServerDescription {
        ServerDescription {
            did: self.inner.config.service_did.to_string(),
            available_user_domains: self.inner.config.handle_domains.clone(),
            invite_code_required: self.inner.config.invite_required,
        }
    }

    /// `createAccount`.
    pub async fn create_account(&self, input: NewAccount) -> Result<CreatedAccount, PdsError> {
        if input.has_plc_op {
            return Err(PdsError::InvalidRequest(
                "Unsupported input: \"plcOp\"".into(),
            ));
        }
        let migrating = match (&input.did, &input.service_auth) {
            (None, _) => None,
            (Some(did), Some(token)) => {
                let issuer = self
                    .verify_service_token(token, "com.atproto.server.createAccount")
                    .await?;
                if issuer.as_str() != did.as_str() {
                    return Err(PdsError::AuthRequired(format!(
                        "Missing auth to create account with did: {did}"
                    )));
                }
                Some(did.clone())
            }
            (Some(did), None) => {
                return Err(PdsError::AuthRequired(format!(
                    "Missing auth to create account with did: {did}"
                )));
            }
        };
        let password = input.password.clone().unwrap_or_default();
        if password.len() > MAX_PASSWORD_LEN {
            return Err(PdsError::InvalidRequest(
                "Password too long. Maximum length is 256 characters.".into(),
            ));
        }
        if self.inner.config.invite_required && input.invite_code.is_none() {
            return Err(PdsError::InvalidInviteCode(
                "No invite code provided".into(),
            ));
        }
        let email = match input
            .email
            .as_deref()
            .map(|e| e.trim().to_ascii_lowercase())
        {
            None => return Err(PdsError::InvalidRequest("Email is required".into())),
            Some(e) if !is_valid_email(&e) => {
                return Err(PdsError::InvalidEmail(
                    "This email address is not supported, please use a different email.".into(),
                ));
            }
            Some(e) => e,
        };
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(PdsError::InvalidPassword(format!(
                "Password must have at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        let (handle, on_service_domain) =
            check_handle(&input.handle, &self.inner.config.handle_domains)?;
        if !on_service_domain {
            // A migrating account may keep a handle on its own domain if it already proves it.
            let proven = match &migrating {
                Some(did) => self.resolve_handle(handle.as_str()).await.ok().as_ref() == Some(did),
                None => false,
            };
            if !proven {
                return Err(PdsError::UnsupportedDomain(
                    "Not a supported handle domain".into(),
                ));
            }
        }
        let handle = handle.to_string();
        self.check_identifiers_free(&handle, &email, input.invite_code.as_deref())
            .await?;

        // Hashed before the identity exists: a busy server refuses here, leaving no DID behind.
        let password_hash = self.inner.hashing.hash(&password).await?;

        // Keys and identity.
        let signing_key = Keypair::generate(Algorithm::K256, &mut OsRng);
        let did = match migrating {
            Some(did) => did,
            None if self.inner.config.did_web => {
                if input.recovery_key.is_some() {
                    return Err(PdsError::InvalidRequest(
                        "This server creates did:web accounts, which have no rotation keys: \
                         a recoveryKey cannot be used"
                            .into(),
                    ));
                }
                super::did_web::did_for_handle(&handle)
            }
            None => {
                self.create_plc_identity(&signing_key, &handle, input.recovery_key.as_deref())
                    .await?
            }
        };
        let status = if input.did.is_some() {
            AccountStatus::Deactivated
        } else {
            AccountStatus::Active
        };

        let did = Did::parse(&did).map_err(|e| PdsError::Internal(e.to_string()))?;
        let now = self.clock().now_datetime();
        let account = self
            .store_new_account(
                AccountRow {
                    did: did.clone(),
                    handle,
                    email: Some(email),
                    email_confirmed_at: None,
                    password_hash,
                    signing_key: signing_key.to_bytes().to_vec(),
                    created_at: now.clone(),
                    status,
                    id: 0,
                    invite_code: input.invite_code,
                    invites_disabled: false,
                    takedown_ref: None,
                    delete_after: None,
                    deactivated_at: (status == AccountStatus::Deactivated).then_some(now),
                    suspended_until: None,
                },
                signing_key,
            )
            .await?;
        let session = self.new_session(&account, AccessScope::Full, None).await?;
        let did_doc = self.session_did_document(&did).await;
        Ok(CreatedAccount { session, did_doc })
    }

    /// Creates a did:plc for a new account: rotation keys are the user's recovery key (if given,
    /// first, so it outranks ours) and this server's key.
    async fn create_plc_identity(
        &self,
        signing_key: &Keypair,
        handle: &str,
        recovery_key: Option<&str>,
    ) -> Result<String, PdsError> {
        let mut rotation_keys = Vec::new();
        if let Some(recovery) = recovery_key {
            crate::core::crypto::PublicKey::from_did_key(recovery)
                .map_err(|e| PdsError::InvalidRequest(format!("Invalid recoveryKey: {e}")))?;
            rotation_keys.push(recovery.to_owned());
        }
        rotation_keys.push(self.inner.secrets.plc_rotation.public_key().to_did_key());
        let genesis: Operation = UnsignedOperation::Plc(plc::genesis(
            rotation_keys,
            &signing_key.public_key().to_did_key(),
            handle,
            &self.inner.config.public_url,
        ))
        .sign(&self.inner.secrets.plc_rotation)
        .map_err(|e| PdsError::Internal(format!("signing the genesis op: {e}")))?;
        let did = plc::did_for_genesis(&genesis).map_err(|e| PdsError::Internal(e.to_string()))?;
        self.inner
            .plc
            .submit(&did, &genesis)
            .await
            .map_err(|e| PdsError::Upstream(e.to_string()))?;
        Ok(did)
    }

    /// Fails early (before creating a DID) when the handle or email is taken or the invite unusable;
    /// the store job checks again, so a race still cannot create duplicates.
    async fn check_identifiers_free(
        &self,
        handle: &str,
        email: &str,
        invite: Option<&str>,
    ) -> Result<(), PdsError> {
        let (handle, email, invite) = (
            handle.to_owned(),
            email.to_owned(),
            invite.map(str::to_owned),
        );
        self.store()
            .read(move |txn| {
                if account_store::handle_owner(txn, &handle)?.is_some() {
                    return Err(taken(Taken::Handle, &handle, &email));
                }
                if account_store::email_owner(txn, &email)?.is_some() {
                    return Err(taken(Taken::Email, &handle, &email));
                }
                if let Some(code) = &invite
                    && !invites::available(txn, code)?
                {
                    return Err(invites::unavailable());
                }
                Ok(())
            })
            .await
    }

    /// Writes the account and its first (empty) commit in one transaction, with the creation events
    /// when the account starts active.
    async fn store_new_account(
        &self,
        account: AccountRow,
        signing_key: Keypair,
    ) -> Result<AccountRow, PdsError> {
        let pds = self.clone();
        let used_at = u64::try_from(self.clock().now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                if let Some(code) = &account.invite_code
                    && !invites::available(txn, code)?
                {
                    return Ok(Err(invites::unavailable()));
                }
                let (handle, email) = (account.handle.clone(), account.email.clone());
                let account = match account_store::create(txn, account)? {
                    Ok(account) => account,
                    Err(t) => return Ok(Err(taken(t, &handle, &email.unwrap_or_default()))),
                };
                if let Some(code) = &account.invite_code {
                    invites::record_use(txn, code, account.did.as_str(), used_at)?;
                }
                let now = account.created_at.clone();
                let signer = Signer {
                    did: account.did.as_str(),
                    key: &signing_key,
                    rev: pds.next_rev(None),
                    time: now.clone(),
                };
                let (head, commit) = repo_store::init(txn, account.id, &signer)?;
                if !account.status.is_active() {
                    return Ok(Ok(account));
                }
                let (log, did) = (pds.events(), account.did.as_str());
                log.append(txn, events::identity(did, Some(&account.handle), &now))?;
                log.append(txn, events::account(did, true, None, &now))?;
                log.append(txn, commit)?;
                let sync_car = repo_store::head_car(&head)?;
                log.append(txn, events::sync(did, &head.rev, sync_car, &now))?;
                Ok(Ok(account))
            })
            .await
    }

    /// The account row for a DID.
    pub(super) async fn account(&self, did: &Did) -> Result<Option<AccountRow>, PdsError> {
        let did = did.clone();
        self.store()
            .read(move |txn| Ok(account_store::get(txn, &did)?))
            .await
    }

    /// The account row for a DID, which must exist.
    pub(super) async fn existing_account(&self, did: &Did) -> Result<AccountRow, PdsError> {
        self.account(did)
            .await?
            .ok_or_else(|| PdsError::InvalidRequest("Account not found".into()))
    }

    /// The DID document of an account (through the PLC directory or did:web; cached).
    pub async fn did_document(&self, did: &Did) -> Option<DidDocument> {
        self.inner.resolver.resolve(did).await.ok()
    }

    /// The DID document as its source says now.
    pub(super) async fn fresh_did_document(&self, did: &Did) -> Option<DidDocument> {
        self.inner.resolver.resolve_fresh(did).await.ok()
    }

    /// The DID document to hand out with a session: only when it names this server, since clients
    /// send the session's calls to the PDS the document names (a migrating account's document
    /// still names its old host).
    pub async fn session_did_document(&self, did: &Did) -> Option<DidDocument> {
        let doc = self.did_document(did).await?;
        (doc.pds_endpoint() == Some(self.inner.config.public_url.as_str())).then_some(doc)
    }

    /// The DID behind a handle hosted here (any status), for well-known and resolveHandle.
    pub async fn local_handle(
        &self,
        handle: &str,
    ) -> Result<Option<(String, AccountStatus)>, PdsError> {
        let handle = handle.to_ascii_lowercase();
        self.store()
            .read(move |txn| {
                let Some(did) = account_store::handle_owner(txn, &handle)? else {
                    return Ok(None);
                };
                let status = account_store::find_login(txn, &did)?
                    .map_or(AccountStatus::Active, |a| a.status);
                Ok(Some((did, status)))
            })
            .await
    }

    /// Session facts for `getSession`.
    pub async fn session_info(&self, did: &Did) -> Result<AccountInfo, PdsError> {
        let row = self.account(did).await?.ok_or_else(|| {
            PdsError::InvalidRequest(format!("Could not find user info for account: {did}"))
        })?;
        Ok(AccountInfo::from(&row))
    }
}

/// The refusal for an identifier another account holds.
fn taken(what: Taken, handle: &str, email: &str) -> PdsError {
    PdsError::InvalidRequest(match what {
        Taken::Did => "Account already exists".into(),
        Taken::Handle => format!("Handle already taken: {handle}"),
        Taken::Email => format!("Email already taken: {email}"),
    })
}
