//! `com.atproto.server.*` handlers: server description, accounts and sessions.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit;
use super::auth::{AccessAuth, AdminAuth, BearerToken, RefreshToken};
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some};
use crate::pds::{AccountStatus, InviteInfo, NewAccount, SessionOutput};

pub async fn describe_server(State(state): State<AppState>) -> Json<Value> {
    let d = state.pds.describe();
    Json(json!({
        "did": d.did,
        "availableUserDomains": d.available_user_domains,
        "inviteCodeRequired": d.invite_code_required,
        "links": {},
        "contact": {},
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAccountInput {
    handle: String,
    email: Option<String>,
    password: Option<String>,
    invite_code: Option<String>,
    did: Option<String>,
    recovery_key: Option<String>,
    plc_op: Option<Value>,
}

fn session_json(session: &SessionOutput, did_doc: Option<Value>) -> Value {
    let mut out = json!({
        "accessJwt": session.access_jwt,
        "refreshJwt": session.refresh_jwt,
        "handle": session.handle,
        "did": session.did,
        "emailConfirmed": session.email_confirmed,
        "active": session.status.is_active(),
    });
    put_some(&mut out, "email", session.email.as_ref());
    put_some(&mut out, "status", session.status.as_status());
    if let Some(doc) = did_doc {
        out["didDoc"] = doc;
    }
    out
}

pub async fn create_account(
    State(state): State<AppState>,
    BearerToken(service_auth): BearerToken,
    XrpcJson(input): XrpcJson<CreateAccountInput>,
) -> Result<Json<Value>, XrpcError> {
    let created = state
        .pds
        .create_account(NewAccount {
            handle: input.handle,
            email: input.email,
            password: input.password,
            invite_code: input.invite_code,
            did: input.did,
            recovery_key: input.recovery_key,
            has_plc_op: input.plc_op.is_some(),
            service_auth,
        })
        .await?;
    let doc = created.did_doc.and_then(|d| serde_json::to_value(d).ok());
    let session = &created.session;
    let mut out = json!({
        "accessJwt": session.access_jwt,
        "refreshJwt": session.refresh_jwt,
        "handle": session.handle,
        "did": session.did,
    });
    if let Some(doc) = doc {
        out["didDoc"] = doc;
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionInput {
    identifier: String,
    password: String,
    #[serde(default)]
    allow_takendown: bool,
}

pub async fn create_session(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    XrpcJson(input): XrpcJson<CreateSessionInput>,
) -> Result<Json<Value>, XrpcError> {
    super::limits::spend_for_login(&state, &extensions, &input.identifier)?;
    let session = state
        .pds
        .create_session(&input.identifier, &input.password, input.allow_takendown)
        .await?;
    let doc = state.pds.session_did_document(&session.did).await;
    Ok(Json(session_json(
        &session,
        doc.and_then(|d| serde_json::to_value(d).ok()),
    )))
}

pub async fn refresh_session(
    State(state): State<AppState>,
    RefreshToken(token): RefreshToken,
) -> Result<Json<Value>, XrpcError> {
    let session = state.pds.refresh_session(&token).await?;
    let doc = state.pds.session_did_document(&session.did).await;
    Ok(Json(session_json(
        &session,
        doc.and_then(|d| serde_json::to_value(d).ok()),
    )))
}

pub async fn get_session(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let account = state.pds.session_info(&auth.did).await?;
    let doc = state.pds.session_did_document(&auth.did).await;
    let mut out = json!({
        "did": account.did,
        "handle": account.handle,
        "emailConfirmed": account.email_confirmed,
        "active": account.status == AccountStatus::Active,
    });
    // An OAuth app sees the email only with a permission to read it (as in the reference).
    let email_read = crate::core::oauth::grant::Need::Account {
        attr: crate::core::oauth::scope::AccountAttr::Email,
        action: crate::core::oauth::scope::AccountAction::Read,
    };
    if state.pds.require(&auth, &email_read).is_ok() {
        put_some(&mut out, "email", account.email.as_ref());
    } else if let Some(fields) = out.as_object_mut() {
        fields.remove("emailConfirmed");
    }
    put_some(&mut out, "status", account.status.as_status());
    if let Some(doc) = doc.and_then(|d| serde_json::to_value(d).ok()) {
        out["didDoc"] = doc;
    }
    Ok(Json(out))
}

pub async fn delete_session(
    State(state): State<AppState>,
    RefreshToken(token): RefreshToken,
) -> Result<(), XrpcError> {
    state.pds.delete_session(&token).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct CreateAppPasswordInput {
    name: String,
    #[serde(default)]
    privileged: bool,
}

pub async fn create_app_password(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<CreateAppPasswordInput>,
) -> Result<Json<Value>, XrpcError> {
    let (info, password) = state
        .pds
        .create_app_password(&auth.did, &input.name, input.privileged)
        .await?;
    Ok(Json(json!({
        "name": info.name,
        "password": password,
        "createdAt": info.created_at,
        "privileged": info.privileged,
    })))
}

pub async fn list_app_passwords(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let passwords: Vec<Value> = state
        .pds
        .list_app_passwords(&auth.did)
        .await?
        .into_iter()
        .map(|p| json!({"name": p.name, "createdAt": p.created_at, "privileged": p.privileged}))
        .collect();
    Ok(Json(json!({"passwords": passwords})))
}

#[derive(Deserialize)]
pub struct RevokeAppPasswordInput {
    name: String,
}

pub async fn revoke_app_password(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<RevokeAppPasswordInput>,
) -> Result<(), XrpcError> {
    state
        .pds
        .revoke_app_password(&auth.did, &input.name)
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInviteCodeInput {
    use_count: u32,
    for_account: Option<String>,
}

pub async fn create_invite_code(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<CreateInviteCodeInput>,
) -> Result<Json<Value>, XrpcError> {
    let account = input.for_account.unwrap_or_else(|| "admin".into());
    let created = state
        .pds
        .create_invite_codes(vec![account], 1, input.use_count, actor.as_str())
        .await?;
    let code = created
        .into_iter()
        .next()
        .and_then(|(_, codes)| codes.into_iter().next())
        .ok_or_else(|| XrpcError::internal("no invite code created"))?;
    let detail = format!("{} use(s)", input.use_count);
    audit::record(
        &state.pds,
        &actor,
        "invite.create",
        Some(code.clone()),
        Some(detail),
    )
    .await;
    Ok(Json(json!({"code": code})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInviteCodesInput {
    #[serde(default = "one")]
    code_count: u32,
    use_count: u32,
    for_accounts: Option<Vec<String>>,
}

fn one() -> u32 {
    1
}

pub async fn create_invite_codes(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<CreateInviteCodesInput>,
) -> Result<Json<Value>, XrpcError> {
    let accounts = input.for_accounts.unwrap_or_else(|| vec!["admin".into()]);
    let created = state
        .pds
        .create_invite_codes(accounts, input.code_count, input.use_count, actor.as_str())
        .await?;
    let all: Vec<String> = created
        .iter()
        .flat_map(|(_, codes)| codes.iter().cloned())
        .collect();
    let detail = format!("{} use(s) each", input.use_count);
    audit::record(
        &state.pds,
        &actor,
        "invite.create",
        Some(all.join(" ")),
        Some(detail),
    )
    .await;
    let codes: Vec<Value> = created
        .into_iter()
        .map(|(account, codes)| json!({"account": account, "codes": codes}))
        .collect();
    Ok(Json(json!({"codes": codes})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetAccountInviteCodesParams {
    #[serde(default = "yes")]
    include_used: bool,
}

fn yes() -> bool {
    true
}

pub async fn get_account_invite_codes(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcQuery(params): XrpcQuery<GetAccountInviteCodesParams>,
) -> Result<Json<Value>, XrpcError> {
    let codes: Vec<Value> = state
        .pds
        .account_invite_codes(auth.did.as_str(), params.include_used)
        .await?
        .into_iter()
        .map(|c| invite_json(&c))
        .collect();
    Ok(Json(json!({"codes": codes})))
}

/// `com.atproto.server.defs#inviteCode`.
pub(super) fn invite_json(c: &InviteInfo) -> Value {
    let uses: Vec<Value> = c
        .uses
        .iter()
        .map(|(by, at)| {
            let at =
                crate::core::syntax::Datetime::from_unix_micros(i64::try_from(*at).unwrap_or(0))
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default();
            json!({"usedBy": by, "usedAt": at})
        })
        .collect();
    json!({
        "code": c.code,
        "available": c.available,
        "disabled": c.disabled,
        "forAccount": c.for_account,
        "createdBy": c.created_by,
        "createdAt": c.created_at,
        "uses": uses,
    })
}

#[derive(Deserialize)]
pub struct GetServiceAuthParams {
    aud: String,
    exp: Option<i64>,
    lxm: Option<String>,
}

pub async fn get_service_auth(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcQuery(params): XrpcQuery<GetServiceAuthParams>,
) -> Result<Json<Value>, XrpcError> {
    let token = state
        .pds
        .get_service_auth(&auth, &params.aud, params.exp, params.lxm.as_deref())
        .await?;
    Ok(Json(json!({"token": token})))
}
