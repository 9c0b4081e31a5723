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
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some, with_cursor};
use crate::appview::SubjectStatusParams;
use crate::core::syntax::{AtUri, Did};
use crate::moderation::{self, Applied, StatusChange, SubjectStatus, Takedown};
use crate::pds::{Actor, AdminAccount, Subject};

/// `com.atproto.admin.defs#accountView`.
async fn account_view(state: &AppState, account: &AdminAccount) -> Result<Value, XrpcError> {
    let mut out = json!({
        "did": account.did,
        "handle": account.handle,
        "indexedAt": account.created_at,
        "invitesDisabled": account.invites_disabled,
    });
    put_some(&mut out, "email", account.email.as_ref());
    put_some(
        &mut out,
        "emailConfirmedAt",
        account.email_confirmed_at.as_ref(),
    );
    put_some(&mut out, "deactivatedAt", account.deactivated_at.as_ref());
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

async fn known_account(state: &AppState, did: &str) -> Result<(Did, AdminAccount), XrpcError> {
    let did = parse_did(did)?;
    let account = state.pds.admin_account(&did).await?.ok_or_else(|| {
        XrpcError::new(
            axum::http::StatusCode::NOT_FOUND,
            "NotFound",
            "Account not found",
        )
    })?;
    Ok((did, account))
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
    let (_, account) = known_account(&state, &params.did).await?;
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
        if let Some(account) = state.pds.admin_account(&parse_did(did)?).await? {
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
    Ok(with_cursor(json!({"accounts": views}), cursor))
}

/// A subject of a status change or query, and its JSON as answers echo it.
fn subject_from_json(value: &Value) -> Result<(Subject, Value), XrpcError> {
    let text = |field: &str| value.get(field).and_then(Value::as_str).map(str::to_owned);
    let required = |field: &str| {
        text(field)
            .ok_or_else(|| XrpcError::invalid_request(format!("subject.{field} is required")))
    };
    match value.get("$type").and_then(Value::as_str) {
        Some("com.atproto.admin.defs#repoRef") => repo_subject(&required("did")?),
        Some("com.atproto.repo.strongRef") => record_subject(&required("uri")?, text("cid")),
        Some("com.atproto.admin.defs#repoBlobRef") => {
            blob_subject(&required("did")?, &required("cid")?)
        }
        _ => Err(XrpcError::invalid_request("Invalid subject")),
    }
}

fn repo_subject(did: &str) -> Result<(Subject, Value), XrpcError> {
    let did = parse_did(did)?;
    let json = json!({"$type": "com.atproto.admin.defs#repoRef", "did": did});
    Ok((Subject::Repo(did), json))
}

fn record_subject(uri: &str, cid: Option<String>) -> Result<(Subject, Value), XrpcError> {
    let parsed =
        AtUri::parse(uri).map_err(|e| XrpcError::invalid_request(format!("Invalid uri: {e}")))?;
    let (Some(collection), Some(rkey)) = (parsed.collection_str(), parsed.rkey_str()) else {
        return Err(XrpcError::invalid_request("The uri must name a record"));
    };
    let did = parse_did(parsed.authority_str())?;
    let path = format!("{collection}/{rkey}");
    let json =
        json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid.unwrap_or_default()});
    Ok((Subject::Record { did, path }, json))
}

fn blob_subject(did: &str, cid: &str) -> Result<(Subject, Value), XrpcError> {
    let did = parse_did(did)?;
    let cid =
        Cid::try_from(cid).map_err(|e| XrpcError::invalid_request(format!("Invalid cid: {e}")))?;
    let json =
        json!({"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": cid.to_string()});
    Ok((Subject::Blob { did, cid }, json))
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
    let (subject, echo) = subject_from_json(&input.subject)?;
    let takedown = input.takedown.as_ref().map(|t| Takedown {
        applied: t.applied,
        reference: t.reference.clone(),
    });
    let change = StatusChange {
        subject: subject.clone(),
        subject_json: input.subject.clone(),
        takedown: takedown.clone(),
        deactivated: input.deactivated.as_ref().map(|d| d.applied),
    };
    let applied = moderation::update_subject_status(&state.pds, &state.appview, change).await?;
    audit_status(state, actor, &subject, &input).await;
    match applied {
        Applied::Elsewhere(answer) => Ok(answer),
        Applied::Here => {
            let mut out = json!({"subject": echo});
            if let Some(takedown) = takedown {
                out["takedown"] = match takedown.reference {
                    Some(r) => json!({"applied": takedown.applied, "ref": r}),
                    None => json!({"applied": takedown.applied}),
                };
            }
            Ok(out)
        }
    }
}

/// The audit entries of a status change: one per attribute changed.
async fn audit_status(
    state: &AppState,
    actor: &Actor,
    subject: &Subject,
    input: &UpdateSubjectStatusInput,
) {
    let (kind, name) = match subject {
        Subject::Repo(did) => ("account", did.to_string()),
        // The record's URI as the request gave it.
        Subject::Record { did, path } => match input.subject.get("uri").and_then(Value::as_str) {
            Some(uri) => ("record", uri.to_owned()),
            None => ("record", format!("at://{did}/{path}")),
        },
        Subject::Blob { did, cid } => ("blob", format!("{did} {cid}")),
    };
    let takedown = input.takedown.as_ref().map(|t| {
        let action = if t.applied { "takedown" } else { "restore" };
        (format!("{kind}.{action}"), &t.reference)
    });
    let deactivation = input.deactivated.as_ref().map(|d| {
        let action = if d.applied { "deactivate" } else { "activate" };
        (format!("account.{action}"), &d.reference)
    });
    for (action, reference) in [takedown, deactivation].into_iter().flatten() {
        let detail = audit::reason(reference.as_deref());
        audit::record(&state.pds, actor, &action, Some(name.clone()), detail).await;
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
    let (subject, echo) = match (&params.did, &params.uri, &params.blob) {
        (Some(did), None, Some(blob)) => blob_subject(did, blob)?,
        (None, Some(uri), None) => record_subject(uri, None)?,
        (Some(did), None, None) => repo_subject(did)?,
        _ => return Err(XrpcError::invalid_request("Give did, uri, or did and blob")),
    };
    let elsewhere = SubjectStatusParams {
        did: params.did,
        uri: params.uri,
    };
    let mut out = json!({"subject": echo});
    match moderation::subject_status(&state.pds, &state.appview, &subject, elsewhere).await? {
        SubjectStatus::Elsewhere(answer) => return Ok(Json(answer)),
        SubjectStatus::Repo {
            takedown,
            deactivated,
        } => {
            out["takedown"] = status_attr(takedown);
            out["deactivated"] = status_attr(deactivated.then(|| "deactivated".to_owned()));
        }
        SubjectStatus::Record { cid, takedown } => {
            out["subject"]["cid"] = json!(cid.to_string());
            out["takedown"] = status_attr(takedown);
        }
        SubjectStatus::Blob { takedown } => out["takedown"] = status_attr(takedown),
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
    let (did, _) = known_account(&state, &input.did).await?;
    state.pds.update_handle(&did, &input.handle).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.handle",
        Some(did.to_string()),
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
    let (did, _) = known_account(&state, &did).await?;
    state
        .pds
        .update_email(&did, &input.email, None, true)
        .await?;
    audit::record(
        &state.pds,
        &actor,
        "account.email",
        Some(did.to_string()),
        None,
    )
    .await;
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
    let (did, _) = known_account(&state, &input.did).await?;
    state.pds.set_password(&did, &input.password).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.password",
        Some(did.to_string()),
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
    let (did, _) = known_account(&state, &input.did).await?;
    state.pds.delete_account(&did, None).await?;
    audit::record(
        &state.pds,
        &actor,
        "account.delete",
        Some(did.to_string()),
        None,
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct AccountInvitesInput {
    account: String,
}

/// `disableAccountInvites` (`DISABLED` true) and `enableAccountInvites`.
pub async fn set_account_invites<const DISABLED: bool>(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<AccountInvitesInput>,
) -> Result<(), XrpcError> {
    let (did, _) = known_account(&state, &input.account).await?;
    state
        .pds
        .set_account_invites_disabled(&did, DISABLED)
        .await?;
    let action = if DISABLED {
        "account.invitesDisabled"
    } else {
        "account.invitesEnabled"
    };
    audit::record(&state.pds, &actor, action, Some(did.to_string()), None).await;
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
    Ok(with_cursor(json!({"codes": codes}), cursor))
}
