//! The OAuth authorization server: pushed authorization requests, the sign-in and consent
//! decision, the token endpoint (authorization code and refresh token grants), revocation, and
//! the sessions an account can list and end. Pure checks live in `core::oauth`; this module
//! stores (`store`, the only code that opens the OAuth tables), fetches client documents
//! (`clients`) and remembers proof ids (`replay`).
//!
//! Lifetimes: requests 5 minutes, codes 1 minute, access tokens 15 minutes (they are also
//! checked against the session on every use, so revocation is immediate), refresh tokens rotate on
//! every use and a reuse of the one just replaced ends the session (older ones are forgotten and
//! merely refused); public clients' sessions end after 2 weeks,
//! confidential clients' after 180 days (refresh tokens last 90 days each).
//!
//! Spec: <https://atproto.com/specs/oauth>; where it is silent, the reference provider
//! (bluesky-social/atproto `packages/oauth/oauth-provider`).

mod clients;
mod replay;
pub(super) mod store;
pub mod web_client;

use std::collections::HashMap;
use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::rows::AccountStatus;
use super::{Pds, PdsError};
use crate::core::jwt;
use crate::core::lexicon::Def;
use crate::core::oauth::assertion::{ClientKey, verify_assertion};
use crate::core::oauth::client::ClientMetadata;
use crate::core::oauth::dpop::{DpopNonces, DpopProof, Expected, MAX_PROOF_AGE_SECS, verify_proof};
use crate::core::oauth::grant::{ATPROTO, Grant, expand_include, is_known_scope};
use crate::core::oauth::pkce;
use crate::core::oauth::scope::Permission;
use crate::core::syntax::Did;
use crate::store::{Store, StoreError};

use store::{RequestRow, SessionRow};

pub const REQUEST_TTL_SECS: i64 = 5 * 60;
pub const CODE_TTL_SECS: i64 = 60;
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const PUBLIC_SESSION_SECS: i64 = 14 * 24 * 60 * 60;
pub const CONFIDENTIAL_SESSION_SECS: i64 = 180 * 24 * 60 * 60;
pub const REFRESH_TTL_SECS: i64 = 90 * 24 * 60 * 60;
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
const TYP_ACCESS: &str = "at+jwt";

/// An OAuth error response (RFC 6749 §5.2): `{"error", "error_description"}` with a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
    fn request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_request", description)
    }
    fn grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_grant", description)
    }
    fn client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_client", description)
    }
    /// The DPoP proof lacks a current server nonce: the client retries with the one sent.
    pub fn use_nonce() -> OAuthError {
        OAuthError::new(
            400,
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        )
    }
    fn dpop(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_dpop_proof", description)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> OAuthError {
        tracing::error!(error = %e, "oauth store");
        OAuthError::new(500, "server_error", "storage failed")
    }
}

impl From<PdsError> for OAuthError {
    fn from(e: PdsError) -> OAuthError {
        tracing::error!(error = %e, "oauth");
        OAuthError::new(500, "server_error", "internal error")
    }
}

/// What the OAuth server keeps in memory: keys, nonces, client documents, seen proof ids.
pub struct Runtime {
    token_key: [u8; 32],
    nonces: DpopNonces,
    clients: clients::Clients,
    replay: replay::Replay,
}

impl Runtime {
    /// Loads (or creates) the OAuth secrets.
    pub async fn open(
        store: &Store,
        http: crate::net::Outbound,
        local_mode: bool,
        web_client: ClientMetadata,
    ) -> Result<Runtime, PdsError> {
        let mut fresh = [0u8; 64];
        OsRng.fill_bytes(&mut fresh);
        let (token, nonce) = store
            .write(move |txn| {
                let token = store::secret(txn, "access_token_hs256", &fresh[..32])?;
                let nonce = store::secret(txn, "dpop_nonce_hmac", &fresh[32..])?;
                Ok(Ok::<_, PdsError>((token, nonce)))
            })
            .await?;
        let key = |bytes: Vec<u8>| -> Result<[u8; 32], PdsError> {
            bytes
                .try_into()
                .map_err(|_| PdsError::Internal("stored OAuth key has the wrong length".into()))
        };
        Ok(Runtime {
            token_key: key(token)?,
            nonces: DpopNonces::new(key(nonce)?),
            clients: clients::Clients::new(http, local_mode, web_client),
            replay: replay::Replay::default(),
        })
    }
}

/// Random token text: 32 bytes, base64url.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", data_encoding::BASE64URL_NOPAD.encode(&bytes))
}

/// A request's parameters (form fields of PAR and the token endpoint).
pub type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// What the sign-in and consent page shows.
#[derive(Clone, Debug)]
pub struct AuthorizationView {
    pub request_uri: String,
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// Whether the app runs on this machine (an `http://localhost` client id).
    pub loopback: bool,
    pub redirect_host: String,
    pub login_hint: Option<String>,
    /// The requested permissions, each said in words.
    pub permissions: Vec<String>,
}

/// A successful token response.
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub scope: String,
    pub sub: String,
}

#[derive(Serialize, Deserialize)]
struct Confirmation {
    jkt: String,
}

#[derive(Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    client_id: String,
    scope: String,
    /// The session id.
    jti: String,
    cnf: Confirmation,
    iat: i64,
    exp: i64,
}

/// An app an account has authorized: its live sessions of one client, taken together.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedApp {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Whether it is an app on the member's own computer (an `http://localhost` client id).
    pub loopback: bool,
    /// The granted scope of its newest session.
    pub scope: String,
    /// That scope in words, permission sets expanded (as the consent page said it).
    pub permissions: Vec<String>,
    /// When it was first authorized (its oldest live session).
    pub created_at: String,
    /// When it last got tokens (a sign-in or a refresh): access tokens live 15 minutes, so an
    /// app in use shows a time at most that old.
    pub last_used_at: String,
    /// When its last session ends, whatever the refreshes.
    pub expires_at: String,
    pub sessions: usize,
}

fn datetime(secs: i64) -> String {
    crate::core::syntax::Datetime::from_unix_millis(secs.saturating_mul(1000))
        .map(|d| d.as_str().to_owned())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Why a suspended or taken-down account cannot sign in, in words, with the admin's reason (the
/// defaults the admin API fills in when none was given are not reasons).
fn refusal(account: &super::rows::AccountRow) -> String {
    let reason = account
        .takedown_ref
        .as_deref()
        .filter(|r| !r.is_empty() && *r != "takedown" && *r != "suspension");
    let head = match (account.status, &account.suspended_until) {
        (AccountStatus::Suspended, Some(until)) => {
            format!("Your account is suspended until {until}.")
        }
        (AccountStatus::Takendown | AccountStatus::Suspended, _) => {
            "Your account has been taken down.".to_owned()
        }
        _ => return "This account cannot sign in to apps.".to_owned(),
    };
    match reason {
        Some(reason) => format!("{head} The moderators said: \u{201c}{reason}\u{201d}"),
        None => head,
    }
}

/// A caller authenticated with an OAuth access token and its DPoP proof.
#[derive(Clone, Debug)]
pub struct OAuthCaller {
    pub did: Did,
    pub grant: Grant,
}

impl Pds {
    fn oauth(&self) -> &Runtime {
        &self.inner.oauth
    }

    /// The issuer: this server's public URL.
    pub fn oauth_issuer(&self) -> &str {
        self.inner.config.public_url.trim_end_matches('/')
    }

    /// The client metadata document of the node's own web UI (`web_client`).
    pub fn oauth_web_client_document(&self) -> serde_json::Value {
        web_client::document(self.oauth_issuer(), &self.inner.config.hostname)
    }

    /// The DPoP nonce to send now.
    pub fn oauth_nonce(&self) -> String {
        self.oauth().nonces.issue(self.clock().now_secs())
    }

    /// Checks a DPoP proof for a request to `path` on this server, its nonce and its `jti`.
    pub fn oauth_check_dpop(
        &self,
        proof: Option<&str>,
        method: &str,
        path: &str,
        access_token: Option<&str>,
    ) -> Result<DpopProof, OAuthError> {
        let proof = proof.ok_or_else(|| OAuthError::dpop("DPoP proof required"))?;
        let now = self.clock().now_secs();
        let url = format!("{}{path}", self.oauth_issuer());
        let checked = verify_proof(
            proof,
            &Expected {
                method,
                url: &url,
                now,
                access_token,
            },
        )
        .map_err(|e| OAuthError::dpop(e.0))?;
        match &checked.nonce {
            Some(n) if self.oauth().nonces.accepts(n, now) => {}
            _ => return Err(OAuthError::use_nonce()),
        }
        if !self.oauth().replay.first_use(
            "dpop",
            &checked.jti,
            checked.iat + MAX_PROOF_AGE_SECS,
            now,
        ) {
            return Err(OAuthError::dpop("DPoP proof replayed"));
        }
        Ok(checked)
    }

    /// The logo of an app, fetched, checked and cached by the node (`None`: it has none that can
    /// be shown).
    pub async fn oauth_client_logo(&self, client_id: &str) -> Option<Arc<clients::ClientLogo>> {
        self.oauth().clients.logo(client_id).await
    }

    async fn oauth_client(&self, client_id: &str) -> Result<Arc<ClientMetadata>, OAuthError> {
        self.oauth()
            .clients
            .metadata(client_id)
            .await
            .map_err(OAuthError::client)
    }

    /// Authenticates the client of a PAR or token request: nothing for a public client, a
    /// `private_key_jwt` assertion for a confidential one.
    async fn oauth_client_auth(
        &self,
        meta: &ClientMetadata,
        params: &Params,
    ) -> Result<Option<ClientKey>, OAuthError> {
        let assertion = param(params, "client_assertion");
        let assertion_type = param(params, "client_assertion_type");
        if !meta.confidential() {
            if assertion.is_some() || assertion_type.is_some() {
                return Err(OAuthError::client(
                    "a public client does not send client_assertion",
                ));
            }
            return Ok(None);
        }
        let (Some(assertion), Some(assertion_type)) = (assertion, assertion_type) else {
            return Err(OAuthError::client(
                "client authentication (private_key_jwt) required",
            ));
        };
        let keys = self
            .oauth()
            .clients
            .keys(meta)
            .await
            .map_err(OAuthError::client)?;
        let now = self.clock().now_secs();
        let verified = verify_assertion(
            assertion_type,
            assertion,
            &meta.client_id,
            self.oauth_issuer(),
            &keys,
            now,
        )
        .map_err(OAuthError::client)?;
        if let Some(alg) = &meta.auth_alg
            && *alg != verified.key.alg
        {
            return Err(OAuthError::client(
                "client_assertion alg differs from the metadata",
            ));
        }
        if !self
            .oauth()
            .replay
            .first_use("assertion", &verified.jti, verified.valid_until, now)
        {
            return Err(OAuthError::client("client_assertion replayed"));
        }
        Ok(Some(verified.key))
    }

    /// The scope tokens of a request this server knows, `atproto` required, each declared by the
    /// client.
    fn oauth_requested_scope(
        meta: &ClientMetadata,
        requested: Option<&str>,
    ) -> Result<String, OAuthError> {
        let requested = requested.unwrap_or(&meta.scope);
        meta.declares_scopes(requested)
            .map_err(|e| OAuthError::new(400, "invalid_scope", e.0))?;
        let mut kept: Vec<&str> = Vec::new();
        for token in requested.split(' ').filter(|t| !t.is_empty()) {
            if is_known_scope(token) && !kept.contains(&token) {
                kept.push(token);
            }
        }
        if !kept.contains(&ATPROTO) {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                "scope must include \"atproto\"",
            ));
        }
        Ok(kept.join(" "))
    }

    /// Pushed authorization request: stores the request and returns its `request_uri` and
    /// lifetime in seconds.
    pub async fn oauth_par(
        &self,
        params: Params,
        dpop: &DpopProof,
    ) -> Result<(String, i64), OAuthError> {
        if params.contains_key("request") {
            return Err(OAuthError::new(
                400,
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        let client_id =
            param(&params, "client_id").ok_or_else(|| OAuthError::request("client_id required"))?;
        let meta = self.oauth_client(client_id).await?;
        let client_key = self.oauth_client_auth(&meta, &params).await?;
        if param(&params, "response_type") != Some("code") {
            return Err(OAuthError::new(
                400,
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
        match param(&params, "code_challenge_method") {
            Some("S256") => {}
            _ => return Err(OAuthError::request("code_challenge_method must be S256")),
        }
        let challenge = param(&params, "code_challenge").unwrap_or_default();
        if !pkce::is_s256_challenge(challenge) {
            return Err(OAuthError::request(
                "code_challenge must be an S256 challenge",
            ));
        }
        if let Some(jkt) = param(&params, "dpop_jkt")
            && jkt != dpop.jkt
        {
            return Err(OAuthError::request(
                "dpop_jkt does not match the DPoP proof",
            ));
        }
        let redirect_uri = meta
            .redirect_uri(param(&params, "redirect_uri"))
            .map_err(|e| OAuthError::request(e.0))?;
        let scope = Self::oauth_requested_scope(&meta, param(&params, "scope"))?;
        let response_mode = match param(&params, "response_mode") {
            None | Some("query") => "query",
            Some("fragment") => "fragment",
            Some(other) => {
                return Err(OAuthError::request(format!(
                    "response_mode {other:?} is not supported"
                )));
            }
        };
        let state = param(&params, "state").map(str::to_owned);
        if state.as_ref().is_some_and(|s| s.len() > 1024) {
            return Err(OAuthError::request("state is too long"));
        }
        let login_hint = param(&params, "login_hint")
            .filter(|h| h.len() <= 256)
            .map(str::to_owned);
        let now = self.clock().now_secs();
        let row = RequestRow {
            client_id: client_id.to_owned(),
            redirect_uri,
            scope,
            state,
            code_challenge: challenge.to_owned(),
            login_hint,
            response_mode: response_mode.to_owned(),
            dpop_jkt: dpop.jkt.clone(),
            client_key,
            expires_at: now + REQUEST_TTL_SECS,
            did: None,
            code_expires_at: None,
        };
        let id = random_token("req-");
        let key = id.clone();
        self.store()
            .write(move |txn| {
                store::put_request(txn, &key, &row)?;
                Ok(Ok::<_, OAuthError>(()))
            })
            .await?;
        Ok((format!("{REQUEST_URI_PREFIX}{id}"), REQUEST_TTL_SECS))
    }

    async fn oauth_pending(
        &self,
        client_id: &str,
        request_uri: &str,
    ) -> Result<(String, RequestRow), OAuthError> {
        let id = request_uri
            .strip_prefix(REQUEST_URI_PREFIX)
            .ok_or_else(|| OAuthError::request("unknown request_uri"))?
            .to_owned();
        let key = id.clone();
        let row = self
            .store()
            .read(move |txn| store::read_request(txn, &key))
            .await?
            .filter(|r| r.expires_at > self.clock().now_secs() && r.did.is_none())
            .ok_or_else(|| {
                OAuthError::request("this sign-in request has expired; start again from the app")
            })?;
        if row.client_id != client_id {
            return Err(OAuthError::request("request_uri belongs to another client"));
        }
        Ok((id, row))
    }

    /// What the sign-in page shows for a pending request.
    pub async fn oauth_authorization(
        &self,
        client_id: &str,
        request_uri: &str,
    ) -> Result<AuthorizationView, OAuthError> {
        let (_, row) = self.oauth_pending(client_id, request_uri).await?;
        let meta = self.oauth_client(client_id).await?;
        Ok(AuthorizationView {
            request_uri: request_uri.to_owned(),
            client_id: client_id.to_owned(),
            client_name: meta.client_name.clone(),
            client_uri: meta.client_uri.clone(),
            logo_uri: meta.logo_uri.clone(),
            tos_uri: meta.tos_uri.clone(),
            policy_uri: meta.policy_uri.clone(),
            loopback: meta.loopback,
            redirect_host: url::Url::parse(&row.redirect_uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| row.redirect_uri.clone()),
            login_hint: row.login_hint.clone(),
            permissions: self.oauth_describe(&row.scope),
        })
    }

    /// Each requested permission in words, permission sets expanded.
    fn oauth_describe(&self, scope: &str) -> Vec<String> {
        let catalog = &self.inner.catalog;
        crate::core::oauth::describe::describe(scope, &|nsid| match catalog.get(nsid)?.main()? {
            Def::PermissionSet(set) => Some(set.clone()),
            _ => None,
        })
    }

    /// The grant of a stored scope: `include:` permission sets expanded from the catalog.
    pub fn oauth_grant(&self, scope: &str) -> Grant {
        let mut grant = Grant::parse(scope);
        for token in scope.split(' ') {
            if let Ok(Permission::Include { nsid, audience }) = Permission::parse(token)
                && let Some(Def::PermissionSet(set)) =
                    self.inner.catalog.get(nsid.as_str()).and_then(|d| d.main())
            {
                grant
                    .permissions
                    .extend(expand_include(&nsid, audience.as_deref(), set));
            }
        }
        grant
    }

    /// The redirect that ends an authorization: `code` or `error`, with `state` and `iss`.
    fn oauth_redirect(&self, row: &RequestRow, pairs: &[(&str, &str)]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = &row.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", self.oauth_issuer());
        let separator = if row.response_mode == "fragment" {
            '#'
        } else if row.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{}", row.redirect_uri, query.finish())
    }

    /// The account refused: back to the app with `access_denied`.
    pub async fn oauth_deny(
        &self,
        client_id: &str,
        request_uri: &str,
    ) -> Result<String, OAuthError> {
        let (id, row) = self.oauth_pending(client_id, request_uri).await?;
        self.store()
            .write(move |txn| {
                store::delete_request(txn, &id)?;
                Ok(Ok::<_, OAuthError>(()))
            })
            .await?;
        Ok(self.oauth_redirect(
            &row,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied access"),
            ],
        ))
    }

    /// Signs the account in and records its consent; returns the redirect with the code and the
    /// account's DID. A wrong password is `Ok(Err(message))` so the page can ask again. App
    /// passwords are refused: an OAuth sign-in takes the account's password.
    pub async fn oauth_approve(
        &self,
        client_id: &str,
        request_uri: &str,
        identifier: &str,
        password: &str,
    ) -> Result<Result<(String, String), String>, OAuthError> {
        let (id, row) = self.oauth_pending(client_id, request_uri).await?;
        let wrong = || Ok(Err("Wrong handle or password.".to_owned()));
        if password.len() > 512 || identifier.len() > 256 {
            return wrong();
        }
        let hashing = &self.inner.hashing;
        let Some(account) = self.find_account(identifier).await? else {
            hashing.verify_dummy(password).await?;
            return wrong();
        };
        if !hashing.verify(password, &account.password_hash).await? {
            return wrong();
        }
        match account.status {
            // A deactivated account signs in as with createSession: the app finds it deactivated
            // (getSession says so, writes are refused) and the member can reactivate it there,
            // which is how the web UI offers reactivation. Deactivating ended its earlier
            // sessions; this one is a new decision of the member's.
            AccountStatus::Active | AccountStatus::Deactivated => {}
            _ => return Ok(Err(refusal(&account))),
        }
        let code = random_token("cod-");
        let now = self.clock().now_secs();
        let mut row = row;
        row.did = Some(account.did.to_string());
        row.code_expires_at = Some(now + CODE_TTL_SECS);
        let (key, stored_code, stored) = (id.clone(), code.clone(), row.clone());
        self.store()
            .write(move |txn| {
                store::put_request(txn, &key, &stored)?;
                store::put_code(txn, &stored_code, &key)?;
                Ok(Ok::<_, OAuthError>(()))
            })
            .await?;
        Ok(Ok((
            self.oauth_redirect(&row, &[("code", &code)]),
            account.did.to_string(),
        )))
    }

    /// The handles of the accounts a browser signed in with before (the account chooser), in
    /// the order given; accounts gone or unable to sign in are left out.
    pub async fn oauth_known_accounts(
        &self,
        dids: &[String],
    ) -> Result<Vec<(String, String)>, OAuthError> {
        let mut out = Vec::new();
        for did in dids {
            if let Some(account) = self.find_account(did).await?
                && matches!(account.status, AccountStatus::Active)
            {
                out.push((account.did.to_string(), account.handle));
            }
        }
        Ok(out)
    }

    fn oauth_access_token(&self, session_id: &str, row: &SessionRow, now: i64) -> String {
        let claims = AccessClaims {
            iss: self.oauth_issuer().to_owned(),
            aud: self.inner.config.service_did.to_string(),
            sub: row.did.clone(),
            client_id: row.client_id.clone(),
            scope: row.scope.clone(),
            jti: session_id.to_owned(),
            cnf: Confirmation {
                jkt: row.dpop_jkt.clone(),
            },
            iat: now,
            exp: now + ACCESS_TTL_SECS,
        };
        jwt::sign_hs256(TYP_ACCESS, &claims, &self.oauth().token_key)
    }

    /// The token endpoint.
    pub async fn oauth_token(
        &self,
        params: Params,
        dpop: &DpopProof,
    ) -> Result<TokenResponse, OAuthError> {
        let client_id =
            param(&params, "client_id").ok_or_else(|| OAuthError::request("client_id required"))?;
        let meta = self.oauth_client(client_id).await?;
        let client_key = self.oauth_client_auth(&meta, &params).await?;
        match param(&params, "grant_type") {
            Some("authorization_code") => {
                self.oauth_code_grant(&meta, client_key, &params, dpop)
                    .await
            }
            Some("refresh_token") if meta.refresh_grant => {
                self.oauth_refresh_grant(&meta, client_key, &params, dpop)
                    .await
            }
            Some(other) => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported for this client"),
            )),
            None => Err(OAuthError::request("grant_type required")),
        }
    }

    async fn oauth_code_grant(
        &self,
        meta: &ClientMetadata,
        client_key: Option<ClientKey>,
        params: &Params,
        dpop: &DpopProof,
    ) -> Result<TokenResponse, OAuthError> {
        let code = param(params, "code")
            .ok_or_else(|| OAuthError::request("code required"))?
            .to_owned();
        let verifier = param(params, "code_verifier")
            .unwrap_or_default()
            .to_owned();
        let redirect_uri = param(params, "redirect_uri").map(str::to_owned);
        let client_id = meta.client_id.clone();
        let jkt = dpop.jkt.clone();
        let confidential = meta.confidential();
        let client_name = meta.client_name.clone();
        let (client_uri, logo_uri) = (meta.client_uri.clone(), meta.logo_uri.clone());
        let session_id = random_token("ses-");
        let refresh = random_token("ref-");
        let now = self.clock().now_secs();
        let (sid, refresh_digest) = (session_id.clone(), store::digest(&refresh));
        let row = self
            .store()
            .write(move |txn| {
                let fail = |m: &str| Ok(Err(OAuthError::grant(m)));
                let Some(request_id) = store::take_code(txn, &code)? else {
                    return fail("invalid or used authorization code");
                };
                let Some(request) = store::get_request(txn, &request_id)? else {
                    return fail("invalid or used authorization code");
                };
                // One try per code, whatever the outcome.
                store::delete_request(txn, &request_id)?;
                let (Some(did), Some(code_expires)) =
                    (request.did.clone(), request.code_expires_at)
                else {
                    return fail("invalid authorization code");
                };
                if code_expires < now {
                    return fail("authorization code expired");
                }
                if request.client_id != client_id {
                    return fail("the code was issued to another client");
                }
                if request.client_key.as_ref().map(|k| &k.jkt)
                    != client_key.as_ref().map(|k| &k.jkt)
                    && confidential
                {
                    return fail(
                        "the client must authenticate with the key it used for the request",
                    );
                }
                if redirect_uri.as_deref() != Some(request.redirect_uri.as_str()) {
                    return fail("redirect_uri does not match the request");
                }
                if request.dpop_jkt != jkt {
                    return fail("DPoP key differs from the one the request was made with");
                }
                if !pkce::verify_s256(&request.code_challenge, &verifier) {
                    return fail("code_verifier does not match the code_challenge");
                }
                let lifetime = if confidential {
                    CONFIDENTIAL_SESSION_SECS
                } else {
                    PUBLIC_SESSION_SECS
                };
                let row = SessionRow {
                    did,
                    client_id: client_id.clone(),
                    client_name,
                    client_uri,
                    logo_uri,
                    scope: request.scope.clone(),
                    dpop_jkt: jkt,
                    client_key,
                    created_at: now,
                    expires_at: now + lifetime,
                    refresh_expires_at: (now + REFRESH_TTL_SECS).min(now + lifetime),
                    refresh_digest,
                    previous_digest: None,
                    last_refreshed_at: now,
                };
                store::put_session(txn, &sid, &row)?;
                Ok(Ok(row))
            })
            .await?;
        self.oauth_check_account(&row.did).await?;
        Ok(TokenResponse {
            access_token: self.oauth_access_token(&session_id, &row, now),
            token_type: "DPoP",
            expires_in: ACCESS_TTL_SECS,
            refresh_token: refresh,
            scope: row.scope,
            sub: row.did,
        })
    }

    async fn oauth_check_account(&self, did: &str) -> Result<(), OAuthError> {
        let did = Did::parse(did).map_err(|e| PdsError::Internal(e.to_string()))?;
        match self.check_not_taken_down(&did).await {
            Ok(()) => Ok(()),
            Err(PdsError::Internal(m)) => Err(PdsError::Internal(m).into()),
            Err(_) => Err(OAuthError::grant("the account cannot use apps now")),
        }
    }

    async fn oauth_refresh_grant(
        &self,
        meta: &ClientMetadata,
        client_key: Option<ClientKey>,
        params: &Params,
        dpop: &DpopProof,
    ) -> Result<TokenResponse, OAuthError> {
        let token = param(params, "refresh_token")
            .ok_or_else(|| OAuthError::request("refresh_token required"))?
            .to_owned();
        let client_id = meta.client_id.clone();
        let jkt = dpop.jkt.clone();
        let confidential = meta.confidential();
        let refresh = random_token("ref-");
        let now = self.clock().now_secs();
        let new_digest = store::digest(&refresh);
        let (session_id, row) = self
            .store()
            .write(move |txn| {
                let fail = |m: &str| Ok(Err(OAuthError::grant(m)));
                let Some((id, used)) = store::find_refresh(txn, &token)? else {
                    return fail("invalid refresh token");
                };
                if used {
                    // A reused refresh token means it leaked: the whole session ends.
                    store::delete_session(txn, &id)?;
                    return fail("refresh token replayed; the session is revoked");
                }
                let Some(mut row) = store::get_session(txn, &id)? else {
                    return fail("invalid refresh token");
                };
                if row.client_id != client_id {
                    return fail("the refresh token was issued to another client");
                }
                if row.dpop_jkt != jkt {
                    return fail("DPoP key differs from the one the session is bound to");
                }
                if confidential && client_key.is_none() || !confidential && row.client_key.is_some()
                {
                    return fail("client authentication method changed");
                }
                if row.expires_at < now || row.refresh_expires_at < now {
                    store::delete_session(txn, &id)?;
                    return fail("the session has expired");
                }
                let forgotten = row.previous_digest.take();
                row.previous_digest = Some(std::mem::replace(&mut row.refresh_digest, new_digest));
                row.refresh_expires_at = (now + REFRESH_TTL_SECS).min(row.expires_at);
                row.last_refreshed_at = now;
                if client_key.is_some() {
                    row.client_key = client_key;
                }
                store::rotate_refresh(txn, &id, forgotten.as_deref(), &row)?;
                Ok(Ok((id, row)))
            })
            .await?;
        self.oauth_check_account(&row.did).await?;
        Ok(TokenResponse {
            access_token: self.oauth_access_token(&session_id, &row, now),
            token_type: "DPoP",
            expires_in: ACCESS_TTL_SECS,
            refresh_token: refresh,
            scope: row.scope,
            sub: row.did,
        })
    }

    /// Revocation (RFC 7009): ends the session of an access or refresh token. Unknown tokens
    /// are not an error.
    pub async fn oauth_revoke(&self, params: Params) -> Result<(), OAuthError> {
        let client_id =
            param(&params, "client_id").ok_or_else(|| OAuthError::request("client_id required"))?;
        let meta = self.oauth_client(client_id).await?;
        self.oauth_client_auth(&meta, &params).await?;
        let token = param(&params, "token")
            .ok_or_else(|| OAuthError::request("token required"))?
            .to_owned();
        let from_access =
            jwt::verify_hs256::<AccessClaims>(&token, TYP_ACCESS, &self.oauth().token_key)
                .ok()
                .map(|c| c.jti);
        let client_id = client_id.to_owned();
        self.store()
            .write(move |txn| {
                let id = match from_access {
                    Some(id) => Some(id),
                    None => store::find_refresh(txn, &token)?.map(|(id, _)| id),
                };
                if let Some(id) = id
                    && store::get_session(txn, &id)?.is_some_and(|s| s.client_id == client_id)
                {
                    store::delete_session(txn, &id)?;
                }
                Ok(Ok::<_, OAuthError>(()))
            })
            .await
    }

    /// Verifies a DPoP-bound access token: signature, expiry, audience, the proof's key, and
    /// that its session still exists (so revocation and takedowns take effect at once).
    pub async fn verify_oauth_access(
        &self,
        token: &str,
        dpop: &DpopProof,
    ) -> Result<OAuthCaller, PdsError> {
        let claims: AccessClaims = jwt::verify_hs256(token, TYP_ACCESS, &self.oauth().token_key)
            .map_err(|_| PdsError::InvalidToken("OAuth token could not be verified".into()))?;
        if claims.exp <= self.clock().now_secs() {
            return Err(PdsError::ExpiredToken("Token has expired".into()));
        }
        if claims.aud != self.inner.config.service_did.as_str() || claims.iss != self.oauth_issuer()
        {
            return Err(PdsError::InvalidToken(
                "Token audience does not match".into(),
            ));
        }
        if claims.cnf.jkt != dpop.jkt {
            return Err(PdsError::InvalidToken(
                "DPoP key does not match the token".into(),
            ));
        }
        let id = claims.jti.clone();
        let session = self
            .store()
            .read(move |txn| store::read_session(txn, &id))
            .await?;
        if session.is_none() {
            return Err(PdsError::InvalidToken("OAuth session revoked".into()));
        }
        let did = Did::parse(&claims.sub)
            .map_err(|_| PdsError::InvalidToken("OAuth token could not be verified".into()))?;
        Ok(OAuthCaller {
            grant: self.oauth_grant(&claims.scope),
            did,
        })
    }

    /// The apps `did` has authorized and not revoked, most recently used first.
    pub async fn oauth_apps(&self, did: &Did) -> Result<Vec<AuthorizedApp>, PdsError> {
        let key = did.to_string();
        let sessions = self
            .store()
            .read(move |txn| store::account_sessions(txn, &key))
            .await?;
        let now = self.clock().now_secs();
        let mut by_client: Vec<(String, Vec<SessionRow>)> = Vec::new();
        for (_, row) in sessions {
            if row.expires_at < now || row.refresh_expires_at < now {
                continue;
            }
            match by_client.iter_mut().find(|(c, _)| *c == row.client_id) {
                Some((_, rows)) => rows.push(row),
                None => by_client.push((row.client_id.clone(), vec![row])),
            }
        }
        let mut apps: Vec<AuthorizedApp> = by_client
            .into_iter()
            .filter_map(|(client_id, rows)| {
                let newest = rows.iter().max_by_key(|r| r.created_at)?;
                Some(AuthorizedApp {
                    // `http://localhost` or `http://localhost?…`; a node in local mode has its own
                    // web UI at `http://localhost:PORT/…`, which is not one.
                    loopback: client_id == "http://localhost"
                        || client_id.starts_with("http://localhost?"),
                    client_id,
                    client_name: newest.client_name.clone(),
                    client_uri: newest.client_uri.clone(),
                    logo_uri: newest.logo_uri.clone(),
                    scope: newest.scope.clone(),
                    permissions: self.oauth_describe(&newest.scope),
                    created_at: datetime(rows.iter().map(|r| r.created_at).min()?),
                    last_used_at: datetime(rows.iter().map(|r| r.last_refreshed_at).max()?),
                    expires_at: datetime(rows.iter().map(|r| r.expires_at).max()?),
                    sessions: rows.len(),
                })
            })
            .collect();
        apps.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at));
        Ok(apps)
    }

    /// Revokes an app for `did`: every session of that client ends at once, its access and
    /// refresh tokens with it. Returns how many sessions ended (0 for an app not authorized).
    pub async fn oauth_revoke_app(&self, did: &Did, client_id: &str) -> Result<usize, PdsError> {
        let (key, client_id) = (did.to_string(), client_id.to_owned());
        self.store()
            .write(move |txn| {
                Ok(Ok::<_, PdsError>(store::delete_client_sessions(
                    txn, &key, &client_id,
                )?))
            })
            .await
    }

    /// Drops expired requests and sessions.
    pub async fn sweep_oauth(&self) -> Result<usize, PdsError> {
        let now = self.clock().now_secs();
        self.store()
            .write(move |txn| Ok(Ok::<_, PdsError>(store::sweep(txn, now)?)))
            .await
    }
}
