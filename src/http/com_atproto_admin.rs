//! `com.atproto.admin.*`: the admin (HTTP basic auth with the admin password) reads accounts,
//! takes accounts, records and blobs down, manages invites, and fixes handles, emails and passwords.
//!
//! Lexicons: `com.atproto.admin.*`; shapes follow `com.atproto.admin.defs`.

use axum::Json;
use axum::extract::State;
use cid::Cid;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit;
use super::auth::AdminAuth;
use super::com_atproto_server::invite_json;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery};
use crate::appview::{AppviewStatusAttr, SubjectStatusInput, SubjectStatusParams};
use crate::core::syntax::{AtUri, Did};
use crate::pds::{Actor, AdminAccount, Moderation};

/// `com.atproto.admin.defs#accountView`.
async fn account_view(state: &AppState, account: &AdminAccount) -> Result<Value, XrpcError> {
    let mut out = json!({
        "did": account.did,
        "handle": account.handle,
        "indexedAt": account.created_at,
        "invitesDisabled": account.invites_disabled,
    });
    if let Some(email) = &account.email {
        out["email"] = json!(email);
    }
    if let Some(at) = &account.email_confirmed_at {
        out["emailConfirmedAt"] = json!(at);
    }
    if let Some(at) = &account.deactivated_at {
        out["deactivatedAt"] = json!(at);
    }
    if let Some(code) = &account.invite_code
        && let Some(info) = state.pds.invite_code(code).await?
    {
        out["invitedBy"] = invite_json(&info);
    }
    let invites: Vec<Value> = state
        .pds
        .account_invite_codes(&account.did, true)
        .await?
        .iter()
        .map(invite_json)
        .collect();
    out["invites"] = json!(invites);
    Ok(out)
}

fn parse_did(did: &str) -> Result<Did, XrpcError> {
    Did::parse(did).map_err(|e| XrpcError::invalid_request(format!("Invalid DID: {e}")))
}

async fn known_account(state: &AppState, did: &str) -> Result<AdminAccount, XrpcError> {
    parse_did(did)?;
    state.pds.admin_account(did).await?.ok_or_else(|| {
        XrpcError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NotFound",
            "Account not found",
        )
    })
}

#[derive(Deserialize)]
pub struct DidParams {
    did: String,
}

pub async fn get_account_info(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<DidParams>,
) -> Result<Json<Value>, XrpcError> {
    let account = known_account(&state, &params.did).await?;
    Ok(Json(account_view(&state, &account).await?))
}

#[derive(Deserialize)]
pub struct DidsParams {
    #[serde(default)]
    dids: Vec<String>,
}

pub async fn get_account_infos(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<DidsParams>,
) -> Result<Json<Value>, XrpcError> {
    let mut infos = Vec::new();
    for did in &params.dids {
        parse_did(did)?;
        if let Some(account) = state.pds.admin_account(did).await? {
            infos.push(account_view(&state, &account).await?);
        }
    }
    Ok(Json(json!({"infos": infos})))
}

#[derive(Deserialize)]
pub struct SearchAccountsParams {
    email: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn search_accounts(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<SearchAccountsParams>,
) -> Result<Json<Value>, XrpcError> {
    let (accounts, cursor) = state
        .pds
        .search_accounts(
            params.email.as_deref(),
            None,
            params.limit.unwrap_or(50),
            params.cursor.as_deref(),
        )
        .await?;
    let mut views = Vec::new();
    for account in &accounts {
        views.push(account_view(&state, account).await?);
    }
    let mut out = json!({"accounts": views});
    if let Some(cursor) = cursor {
        out["cursor"] = json!(cursor);
    }
    Ok(Json(out))
}

/// The subject of a status change or query.
enum Subject {
    Repo(String),
    Record {
        did: String,
        path: String,
        uri: String,
        cid: Option<String>,
    },
    Blob {
        did: String,
        cid: Cid,
    },
}

impl Subject {
    /// The account the subject belongs to.
    fn did(&self) -> &str {
        match self {
            Subject::Repo(did) | Subject::Record { did, .. } | Subject::Blob { did, .. } => did,
        }
    }

    fn from_json(value: &Value) -> Result<Subject, XrpcError> {
        let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_owned);
        match value.get("$type").and_then(Value::as_str) {
            Some("com.atproto.admin.defs#repoRef") => {
                let did = text("did")
                    .ok_or_else(|| XrpcError::invalid_request("subject.did is required"))?;
                parse_did(&did)?;
                Ok(Subject::Repo(did))
            }
            Some("com.atproto.repo.strongRef") => {
                let uri = text("uri")
                    .ok_or_else(|| XrpcError::invalid_request("subject.uri is required"))?;
                Subject::record(&uri, text("cid"))
            }
            Some("com.atproto.admin.defs#repoBlobRef") => {
                let did = text("did")
                    .ok_or_else(|| XrpcError::invalid_request("subject.did is required"))?;
                let cid = text("cid")
                    .ok_or_else(|| XrpcError::invalid_request("subject.cid is required"))?;
                Subject::blob(&did, &cid)
            }
            _ => Err(XrpcError::invalid_request("Invalid subject")),
        }
    }

    fn record(uri: &str, cid: Option<String>) -> Result<Subject, XrpcError> {
        let parsed = AtUri::parse(uri)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid uri: {e}")))?;
        let (Some(collection), Some(rkey)) = (parsed.collection_str(), parsed.rkey_str()) else {
            return Err(XrpcError::invalid_request("The uri must name a record"));
        };
        let did = parsed.authority_str().to_owned();
        parse_did(&did)?;
        Ok(Subject::Record {
            path: format!("{collection}/{rkey}"),
            did,
            uri: uri.to_owned(),
            cid,
        })
    }

    fn blob(did: &str, cid: &str) -> Result<Subject, XrpcError> {
        parse_did(did)?;
        let cid = Cid::try_from(cid)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid cid: {e}")))?;
        Ok(Subject::Blob {
            did: did.to_owned(),
            cid,
        })
    }

    fn to_json(&self) -> Value {
        match self {
            Subject::Repo(did) => json!({"$type": "com.atproto.admin.defs#repoRef", "did": did}),
            Subject::Record { uri, cid, .. } => {
                json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid.clone().unwrap_or_default()})
            }
            Subject::Blob { did, cid } => {
                json!({"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": cid.to_string()})
            }
        }
    }
}

/// `com.atproto.admin.defs#statusAttr`.
fn status_attr(reference: Option<String>) -> Value {
    match reference {
        Some(r) => json!({"applied": true, "ref": r}),
        None => json!({"applied": false}),
    }
}

#[derive(Deserialize)]
pub struct StatusAttr {
    applied: bool,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdateSubjectStatusInput {
    subject: Value,
    takedown: Option<StatusAttr>,
    deactivated: Option<StatusAttr>,
}

pub async fn update_subject_status(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<UpdateSubjectStatusInput>,
) -> Result<Json<Value>, XrpcError> {
    Ok(Json(change_subject_status(&state, &actor, input).await?))
}

impl UpdateSubjectStatusInput {
    /// A takedown (or its lifting) of `subject`, a `repoRef` or `strongRef`, for `reference`.
    pub(super) fn takedown(subject: Value, applied: bool, reference: Option<String>) -> Self {
        UpdateSubjectStatusInput {
            subject,
            takedown: Some(StatusAttr { applied, reference }),
            deactivated: None,
        }
    }
}

/// `updateSubjectStatus` for any admin caller (the report inbox's actions take this path too),
/// audited.
pub(super) async fn change_subject_status(
    state: &AppState,
    actor: &Actor,
    input: UpdateSubjectStatusInput,
) -> Result<Value, XrpcError> {
    let state = state.clone();
    let actor = actor.clone();
    let subject = Subject::from_json(&input.subject)?;
    let appview_input = || SubjectStatusInput {
        subject: input.subject.clone(),
        takedown: input.takedown.as_ref().map(|t| AppviewStatusAttr {
            applied: t.applied,
            reference: t.reference.clone(),
        }),
    };
    if state.pds.admin_account(subject.did()).await?.is_none() {
        // Content from another PDS: only the App View shows it here, so only it takes it down.
        if matches!(subject, Subject::Blob { .. }) || input.deactivated.is_some() {
            return Err(XrpcError::new(
                axum::http::StatusCode::NOT_FOUND,
                "NotFound",
                "Account not found",
            ));
        }
        let out = state.appview.update_subject_status(appview_input()).await?;
        audit_status(&state, &actor, &subject, &input).await;
        return Ok(out);
    }
    if input.takedown.is_some() && !matches!(subject, Subject::Blob { .. }) {
        // The App View hides it at once, not only when the relay passes the account's new status on
        // (records taken down at the PDS produce no event at all).
        state.appview.update_subject_status(appview_input()).await?;
    }
    if let Some(takedown) = &input.takedown {
        let reference = takedown.applied.then(|| {
            takedown
                .reference
                .clone()
                .unwrap_or_else(|| "takedown".into())
        });
        match &subject {
            Subject::Repo(did) => {
                known_account(&state, did).await?;
                let action = match reference.clone() {
                    Some(reference) => Moderation::Takedown { reference },
                    None => Moderation::Restore,
                };
                state.pds.moderate_account(did, action).await?;
            }
            Subject::Record { did, path, .. } => {
                state
                    .pds
                    .set_record_takedown(did, path, reference.clone())
                    .await?;
            }
            Subject::Blob { did, cid } => {
                state
                    .pds
                    .set_blob_takedown(did, cid, reference.clone())
                    .await?;
            }
        }
    }
    if let Some(deactivated) = &input.deactivated {
        let Subject::Repo(did) = &subject else {
            return Err(XrpcError::invalid_request(
                "Only accounts can be deactivated",
            ));
        };
        known_account(&state, did).await?;
        if deactivated.applied {
            state.pds.deactivate_account(did, None).await?;
        } else {
            state.pds.activate_account(did).await?;
        }
    }
    audit_status(&state, &actor, &subject, &input).await;
    let mut out = json!({"subject": subject.to_json()});
    if let Some(takedown) = input.takedown {
        out["takedown"] = json!({"applied": takedown.applied, "ref": takedown.reference});
        if takedown.reference.is_none() {
            out["takedown"] = json!({"applied": takedown.applied});
        }
    }
    Ok(out)
}

/// The audit entries of a status change: one per attribute changed.
async fn audit_status(
    state: &AppState,
    actor: &Actor,
    subject: &Subject,
    input: &UpdateSubjectStatusInput,
) {
    let (kind, name) = match subject {
        Subject::Repo(did) => ("account", did.clone()),
        Subject::Record { uri, .. } => ("record", uri.clone()),
        Subject::Blob { did, cid } => ("blob", format!("{did} {cid}")),
    };
    if let Some(takedown) = &input.takedown {
        let action = if takedown.applied {
            "takedown"
        } else {
            "restore"
        };
        let detail = audit::reason(takedown.reference.as_deref());
        audit::record(
            &state.pds,
            actor,
            &format!("{kind}.{action}"),
            Some(name.clone()),
            detail,
        )
        .await;
    }
    if let Some(deactivated) = &input.deactivated {
        let action = if deactivated.applied {
            "deactivate"
        } else {
            "activate"
        };
        let detail = audit::reason(deactivated.reference.as_deref());
        audit::record(
            &state.pds,
            actor,
            &format!("account.{action}"),
            Some(name),
            detail,
        )
        .await;
    }
}

#[derive(Deserialize)]
pub struct GetSubjectStatusParams {
    did: Option<String>,
    uri: Option<String>,
    blob: Option<String>,
}

pub async fn get_subject_status(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<GetSubjectStatusParams>,
) -> Result<Json<Value>, XrpcError> {
    let subject = match (&params.did, &params.uri, &params.blob) {
        (Some(did), None, Some(blob)) => Subject::blob(did, blob)?,
        (None, Some(uri), None) => Subject::record(uri, None)?,
        (Some(did), None, None) => Subject::Repo(did.clone()),
        _ => return Err(XrpcError::invalid_request("Give did, uri, or did and blob")),
    };
    if !matches!(subject, Subject::Blob { .. })
        && state.pds.admin_account(subject.did()).await?.is_none()
    {
        // Content from another PDS: its status here is the App View's.
        let params = SubjectStatusParams {
            did: params.did,
            uri: params.uri,
        };
        return Ok(Json(state.appview.get_subject_status(params).await?));
    }
    let not_found = || {
        XrpcError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NotFound",
            "Subject not found",
        )
    };
    let mut out = json!({"subject": subject.to_json()});
    match &subject {
        Subject::Repo(did) => {
            let account = known_account(&state, did).await?;
            out["takedown"] = status_attr(account.takedown_ref.clone());
            out["deactivated"] = status_attr(
                account
                    .deactivated_at
                    .as_ref()
                    .map(|_| "deactivated".to_owned()),
            );
        }
        Subject::Record { did, path, .. } => {
            let cid = state
                .pds
                .record_cid(did, path)
                .await?
                .ok_or_else(not_found)?;
            out["subject"]["cid"] = json!(cid.to_string());
            out["takedown"] = status_attr(state.pds.record_takedown(did, path).await?);
        }
        Subject::Blob { did, cid } => {
            out["takedown"] = status_attr(
                state
                    .pds
                    .blob_takedown(did, cid)
                    .await
                    .map_err(|_| not_found())?,
            );
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct UpdateAccountHandleInput {
    did: String,
    handle: String,
}

pub async fn update_account_handle(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<UpdateAccountHandleInput>,
) -> Result<(), XrpcError> {
    known_account(&state, &input.did).await?;
    state.pds.update_handle(&input.did, &input.handle).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.handle",
        Some(input.did.clone()),
        Some(format!("new handle {}", input.handle)),
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct UpdateAccountEmailInput {
    account: String,
    email: String,
}

pub async fn update_account_email(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<UpdateAccountEmailInput>,
) -> Result<(), XrpcError> {
    let did = if input.account.starts_with("did:") {
        input.account.clone()
    } else {
        state.pds.resolve_handle(&input.account).await?
    };
    known_account(&state, &did).await?;
    state
        .pds
        .update_email(&did, &input.email, None, true)
        .await?;
    audit::record(&state.pds, &actor, "account.email", Some(did.clone()), None).await;
    Ok(())
}

#[derive(Deserialize)]
pub struct UpdateAccountPasswordInput {
    did: String,
    password: String,
}

pub async fn update_account_password(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<UpdateAccountPasswordInput>,
) -> Result<(), XrpcError> {
    known_account(&state, &input.did).await?;
    state.pds.set_password(&input.did, &input.password).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.password",
        Some(input.did.clone()),
        None,
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct DeleteAccountInput {
    did: String,
}

pub async fn delete_account(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<DeleteAccountInput>,
) -> Result<(), XrpcError> {
    known_account(&state, &input.did).await?;
    state.pds.delete_account(&input.did, None).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.delete",
        Some(input.did.clone()),
        None,
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct AccountInvitesInput {
    account: String,
}

pub async fn disable_account_invites(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<AccountInvitesInput>,
) -> Result<(), XrpcError> {
    known_account(&state, &input.account).await?;
    state
        .pds
        .set_account_invites_disabled(&input.account, true)
        .await?;
    audit::record(
        &state.pds,
        &actor,
        "account.invitesDisabled",
        Some(input.account.clone()),
        None,
    )
    .await;
    Ok(())
}

pub async fn enable_account_invites(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<AccountInvitesInput>,
) -> Result<(), XrpcError> {
    known_account(&state, &input.account).await?;
    state
        .pds
        .set_account_invites_disabled(&input.account, false)
        .await?;
    audit::record(
        &state.pds,
        &actor,
        "account.invitesEnabled",
        Some(input.account.clone()),
        None,
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct DisableInviteCodesInput {
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

pub async fn disable_invite_codes(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<DisableInviteCodesInput>,
) -> Result<(), XrpcError> {
    let subject = input
        .codes
        .iter()
        .chain(&input.accounts)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    state
        .pds
        .disable_invite_codes(input.codes, input.accounts)
        .await?;
    audit::record(&state.pds, &actor, "invite.disable", Some(subject), None).await;
    Ok(())
}

#[derive(Deserialize)]
pub struct GetInviteCodesParams {
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn get_invite_codes(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<GetInviteCodesParams>,
) -> Result<Json<Value>, XrpcError> {
    let by_usage = match params.sort.as_deref() {
        None | Some("recent") => false,
        Some("usage") => true,
        Some(other) => return Err(XrpcError::invalid_request(format!("Unknown sort: {other}"))),
    };
    let (codes, cursor) = state
        .pds
        .all_invite_codes(
            by_usage,
            params.limit.unwrap_or(100),
            params.cursor.as_deref(),
        )
        .await?;
    let codes: Vec<Value> = codes.iter().map(invite_json).collect();
    let mut out = json!({"codes": codes});
    if let Some(cursor) = cursor {
        out["cursor"] = json!(cursor);
    }
    Ok(Json(out))
}
