//! The ACME client (RFC 8555) over instant-acme: one account per CA directory, created once and
//! kept in `tls.accounts`; orders whose challenges are answered by this process (`http-01`,
//! RFC 8555 §8.3, on the :80 listener; `tls-alpn-01`, RFC 8737, on the :443 listener) or by the
//! operator's DNS hook (`dns-01`, RFC 8555 §8.4); and ACME Renewal Information (RFC 9773), asked
//! for when the CA's directory offers it.
//!
//! The HTTP client trusts the Mozilla roots compiled into the binary (plus one extra root the
//! operator may name, e.g. a test CA), so it needs no CA bundle on the machine. It does not decide
//! when to order or what to do on failure: that is `renew` and `on_demand`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, CertificateIdentifier, ChallengeType,
    HttpClient, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rustls::pki_types::Der;
use rustls::pki_types::pem::PemObject;

use super::challenges::{ChallengeGuard, Challenges};
use super::dns01::{self, HookAction};
use super::tables::ACCOUNTS;
use super::x509::CertFacts;
use super::{AcmeConfig, ChallengeKind, TlsError};
use crate::store::{Store, open_read_table};

/// How long the CA may take to validate every challenge of an order.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the CA may take to issue once the CSR is in.
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long connecting to the CA may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The RFC 8555 problem type for rate limits (§6.7).
const RATE_LIMITED: &str = "urn:ietf:params:acme:error:rateLimited";

/// What the CA issued: the PEM chain (leaf first) and the PEM PKCS#8 key made for it.
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
}

/// A suggested renewal window (RFC 9773 §4.2), in seconds since the epoch.
pub struct RenewalWindow {
    pub start: i64,
    pub end: i64,
    /// When to ask again (the response's `Retry-After`).
    pub recheck_after: Duration,
}

/// An ACME client for one CA directory.
pub struct Acme {
    config: AcmeConfig,
    store: Store,
    challenges: Challenges,
    account: tokio::sync::Mutex<Option<Account>>,
    /// 0: not known yet, 1: the CA offers renewal information, 2: it does not.
    ari: AtomicU8,
}

impl Acme {
    pub fn new(config: AcmeConfig, store: Store, challenges: Challenges) -> Acme {
        Acme {
            config,
            store,
            challenges,
            account: tokio::sync::Mutex::new(None),
            ari: AtomicU8::new(0),
        }
    }

    pub fn directory_url(&self) -> &str {
        &self.config.directory_url
    }

    /// Whether the CA offers ACME Renewal Information, once known.
    pub fn ari_supported(&self) -> Option<bool> {
        match self.ari.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    fn http(&self) -> Result<Box<dyn HttpClient>, TlsError> {
        let mut roots = crate::net::web_pki_roots();
        if let Some(path) = &self.config.ca_root {
            for cert in rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?
            {
                let cert =
                    cert.map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
            }
        }
        let client = crate::net::acme_client(roots, CONNECT_TIMEOUT);
        Ok(Box::new(client))
    }

    /// The account, loaded from `tls.accounts` or registered (agreeing to the CA's terms) and
    /// stored on first use.
    async fn account(&self) -> Result<Account, TlsError> {
        let mut slot = self.account.lock().await;
        if let Some(account) = slot.as_ref() {
            return Ok(account.clone());
        }
        let directory = self.config.directory_url.clone();
        let key = directory.clone();
        let stored = self
            .store
            .read(move |txn| {
                let Some(table) = open_read_table(txn, ACCOUNTS)? else {
                    return Ok::<_, TlsError>(None);
                };
                Ok(table
                    .get(key.as_str())
                    .map_err(crate::store::StoreError::from)?
                    .map(|v| v.value().to_vec()))
            })
            .await?;
        let account = if let Some(bytes) = stored {
            let credentials: AccountCredentials = serde_json::from_slice(&bytes)
                .map_err(|e| TlsError::Internal(format!("stored ACME account: {e}")))?;
            Account::builder_with_http(self.http()?)
                .from_credentials(credentials)
                .await?
        } else {
            let contact = self
                .config
                .contact
                .as_ref()
                .map(|email| format!("mailto:{email}"));
            let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
            let (account, credentials) = Account::builder_with_http(self.http()?)
                .create(
                    &NewAccount {
                        contact: &contacts,
                        terms_of_service_agreed: true,
                        only_return_existing: false,
                    },
                    directory.clone(),
                    None,
                )
                .await?;
            let bytes = serde_json::to_vec(&credentials)
                .map_err(|e| TlsError::Internal(format!("ACME account: {e}")))?;
            self.store
                .write(move |txn| {
                    txn.open_table(ACCOUNTS)?
                        .insert(directory.as_str(), bytes.as_slice())?;
                    Ok(Ok::<(), TlsError>(()))
                })
                .await?;
            tracing::info!(
                directory = %self.config.directory_url,
                account = account.id(),
                "registered an ACME account"
            );
            account
        };
        *slot = Some(account.clone());
        Ok(account)
    }

    /// Orders a certificate for `names`, answers the challenges of `kind`, and returns the chain
    /// and the key generated for it. `replaces` names the certificate this one renews (RFC 9773
    /// §5), used only when the CA offers renewal information.
    pub async fn order(
        &self,
        names: &[String],
        kind: ChallengeKind,
        replaces: Option<&CertFacts>,
    ) -> Result<Issued, TlsError> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
        let replaces = replaces
            .filter(|_| self.ari_supported() == Some(true))
            .and_then(certificate_identifier);
        let mut order = match replaces {
            Some(id) => match account
                .new_order(&NewOrder::new(&identifiers).replaces(id))
                .await
            {
                Ok(order) => order,
                // E.g. `alreadyReplaced` (RFC 9773 §7.4): the order itself is still wanted.
                Err(instant_acme::Error::Api(problem)) => {
                    tracing::info!(%problem, "the CA refused the order as a replacement; ordering afresh");
                    account.new_order(&NewOrder::new(&identifiers)).await?
                }
                Err(e) => return Err(e.into()),
            },
            None => account.new_order(&NewOrder::new(&identifiers)).await?,
        };
        let mut guards: Vec<ChallengeGuard> = Vec::new();
        let mut dns_records: Vec<(String, String)> = Vec::new();
        let result = async {
            let mut authorizations = order.authorizations();
            while let Some(authorization) = authorizations.next().await {
                let mut authorization = authorization?;
                match authorization.status {
                    // CAs reuse recent validations for the same account.
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    other => {
                        return Err(TlsError::Acme(format!(
                            "authorization is {other:?}, not pending"
                        )));
                    }
                }
                let Some(mut challenge) = authorization.challenge(challenge_type(kind)) else {
                    return Err(TlsError::Acme(format!(
                        "the CA offers no {} challenge",
                        kind.as_str()
                    )));
                };
                let domain = match challenge.identifier().identifier {
                    Identifier::Dns(name) => name.clone(),
                    other => {
                        return Err(TlsError::Acme(format!("unexpected identifier {other:?}")));
                    }
                };
                let key_authorization = challenge.key_authorization();
                match kind {
                    ChallengeKind::Http01 => guards.push(
                        self.challenges
                            .add_http01(&challenge.token, key_authorization.as_str()),
                    ),
                    ChallengeKind::TlsAlpn01 => guards.push(
                        self.challenges
                            .add_tls_alpn01(&domain, key_authorization.digest().as_ref())?,
                    ),
                    ChallengeKind::Dns01 => {
                        let hook =
                            self.config.dns01_hook.as_ref().ok_or_else(|| {
                                TlsError::Config("dns-01 needs --dns01-hook".into())
                            })?;
                        let record = dns01::record_name(&domain);
                        let value = key_authorization.dns_value();
                        dns01::run(hook, HookAction::Set, &record, &value).await?;
                        dns_records.push((record, value));
                    }
                }
                challenge.set_ready().await?;
            }
            let status = order
                .poll_ready(&RetryPolicy::new().timeout(VALIDATION_TIMEOUT))
                .await?;
            if status != OrderStatus::Ready {
                return Err(TlsError::Acme(format!(
                    "order is {status:?} after validation"
                )));
            }
            let key_pem = order.finalize().await?;
            let chain_pem = order
                .poll_certificate(&RetryPolicy::new().timeout(ISSUANCE_TIMEOUT))
                .await?;
            Ok(Issued { chain_pem, key_pem })
        }
        .await;
        drop(guards);
        if let Some(hook) = &self.config.dns01_hook {
            for (record, value) in dns_records {
                if let Err(error) = dns01::run(hook, HookAction::Clear, &record, &value).await {
                    tracing::warn!(%error, %record, "the DNS-01 hook could not clear a record");
                }
            }
        }
        result
    }

    /// The CA's suggested renewal window for a certificate (RFC 9773 §4.2), or `None` when the CA
    /// offers no renewal information or the certificate has no authority key identifier.
    pub async fn renewal_window(
        &self,
        facts: &CertFacts,
    ) -> Result<Option<RenewalWindow>, TlsError> {
        if self.ari_supported() == Some(false) {
            return Ok(None);
        }
        let Some(id) = certificate_identifier(facts) else {
            return Ok(None);
        };
        let account = self.account().await?;
        match account.renewal_info(&id).await {
            Ok((info, recheck_after)) => {
                self.ari.store(1, Ordering::Relaxed);
                Ok(Some(RenewalWindow {
                    start: info.suggested_window.start.unix_timestamp(),
                    end: info.suggested_window.end.unix_timestamp(),
                    recheck_after,
                }))
            }
            Err(instant_acme::Error::Unsupported(_)) => {
                self.ari.store(2, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The RFC 9773 §4.1 identifier: base64url(AKI keyIdentifier) "." base64url(serial).
fn certificate_identifier(facts: &CertFacts) -> Option<CertificateIdentifier<'static>> {
    let aki = facts.authority_key_id.as_deref()?;
    Some(
        CertificateIdentifier::new(Der::from_slice(aki), Der::from_slice(&facts.serial))
            .into_owned(),
    )
}

fn challenge_type(kind: ChallengeKind) -> ChallengeType {
    match kind {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        ChallengeKind::Dns01 => ChallengeType::Dns01,
    }
}

impl From<instant_acme::Error> for TlsError {
    fn from(e: instant_acme::Error) -> Self {
        match e {
            instant_acme::Error::Api(problem)
                if problem.r#type.as_deref() == Some(RATE_LIMITED) =>
            {
                TlsError::RateLimited(problem.to_string())
            }
            other => TlsError::Acme(other.to_string()),
        }
    }
}
