//! `blue.skyhold.admin.*`: skyhold's own admin methods, for what no official lexicon covers (the
//! report inbox with actions, suspensions with an end, the audit log, server health and
//! federation, relay hosts, TLS, test mail, admin roles). The web console calls them with the
//! member's own session (an account with the admin role) exactly as it calls
//! `com.atproto.admin.*`; the command line calls them with the admin password. They are answered
//! here and never proxied. docs/ACCOUNTS.md lists them with their inputs.
//!
//! Every method that changes something writes the audit log (`http::audit`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit;
use super::auth::{AccessAuth, AdminAuth, PasswordAdmin};
use super::com_atproto_admin::{UpdateSubjectStatusInput, change_subject_status};
use super::com_atproto_moderation::{ListReportsParams, admin_json, parse_id, report_page};
use super::com_atproto_server::invite_json;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some, with_cursor};
use crate::core::syntax::{Datetime, Did};
use crate::pds::{
    AccountStatus, Actor, AdminAccount, CrawlerStatus, Moderation, ReportFilter, ReportRow,
    ReportState, ReportSubject,
};

/// Longest suspension the console offers, in days.
const MAX_SUSPENSION_DAYS: u32 = 3650;

fn not_found(what: &str) -> XrpcError {
    XrpcError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{what} not found"),
    )
}

/// A DID, or a handle hosted here, as a DID (text that is neither names no account here).
pub(super) async fn account_did(state: &AppState, who: &str) -> Result<Did, XrpcError> {
    let who = who.trim().trim_start_matches('@');
    let did = if who.starts_with("did:") {
        who.to_owned()
    } else {
        match state.pds.local_handle(&who.to_ascii_lowercase()).await? {
            Some((did, _)) => did,
            None => return Err(not_found("Account")),
        }
    };
    local_did(&did)
}

/// A DID from stored or given text; text that is no DID names no account here.
fn local_did(did: &str) -> Result<Did, XrpcError> {
    Did::parse(did).map_err(|_| not_found("Account"))
}

fn status_name(status: AccountStatus) -> &'static str {
    status.as_status().unwrap_or("active")
}

/// An account as the console lists it.
fn account_json(account: &AdminAccount, admin: bool) -> Value {
    let mut out = json!({
        "did": account.did,
        "handle": account.handle,
        "createdAt": account.created_at,
        "status": status_name(account.status),
        "admin": admin,
        "invitesDisabled": account.invites_disabled,
    });
    for (field, value) in [
        ("email", &account.email),
        ("emailConfirmedAt", &account.email_confirmed_at),
        ("deactivatedAt", &account.deactivated_at),
        ("takedownRef", &account.takedown_ref),
        ("suspendedUntil", &account.suspended_until),
        ("inviteCode", &account.invite_code),
    ] {
        if let Some(value) = value {
            out[field] = json!(value);
        }
    }
    out
}

/// GET `blue.skyhold.admin.getRole`: whether the caller's session carries admin powers (any
/// signed-in member may ask; the console shows its link only to admins).
pub async fn get_role(
    State(state): State<AppState>,
    AccessAuth(account): AccessAuth,
) -> Result<Json<Value>, XrpcError> {
    let role = state.pds.has_admin_role(&account.did).await?;
    Ok(Json(json!({
        "admin": role && (account.scope == crate::pds::AccessScope::Full),
        // An admin signed in with an app password: the role is there, its powers are not.
        "roleWithoutPowers": role && (account.scope != crate::pds::AccessScope::Full),
    })))
}

#[derive(Deserialize)]
pub struct ListAccountsParams {
    q: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn parse_status(status: Option<&str>) -> Result<Option<AccountStatus>, XrpcError> {
    Ok(match status.filter(|s| !s.is_empty() && *s != "all") {
        None => None,
        Some("active") => Some(AccountStatus::Active),
        Some("deactivated") => Some(AccountStatus::Deactivated),
        Some("takendown") => Some(AccountStatus::Takendown),
        Some("suspended") => Some(AccountStatus::Suspended),
        Some(other) => {
            return Err(XrpcError::invalid_request(format!(
                "status must be active, deactivated, takendown, suspended or all, not {other}"
            )));
        }
    })
}

/// GET `blue.skyhold.admin.listAccounts`: accounts by DID, matching `q` (handle, email or DID) and
/// `status`.
pub async fn list_accounts(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<ListAccountsParams>,
) -> Result<Json<Value>, XrpcError> {
    let status = parse_status(params.status.as_deref())?;
    let limit = params.limit.unwrap_or(50).clamp(1, 100);
    let (accounts, cursor) = state
        .pds
        .search_accounts(
            params.q.as_deref().map(str::trim),
            status,
            limit,
            params.cursor.as_deref().filter(|c| !c.is_empty()),
        )
        .await?;
    let admins: Vec<String> = state
        .pds
        .admin_members()
        .await?
        .into_iter()
        .map(|a| a.did)
        .collect();
    let views: Vec<Value> = accounts
        .iter()
        .map(|a| account_json(a, admins.contains(&a.did)))
        .collect();
    Ok(with_cursor(json!({"accounts": views}), cursor))
}

#[derive(Deserialize)]
pub struct AccountParams {
    did: String,
}

/// GET `blue.skyhold.admin.getAccount`: one account with its invites, the open reports about it
/// and the admin actions taken on it.
pub async fn get_account(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<AccountParams>,
) -> Result<Json<Value>, XrpcError> {
    let did = account_did(&state, &params.did).await?;
    let account = state
        .pds
        .admin_account(&did)
        .await?
        .ok_or_else(|| not_found("Account"))?;
    let admin = state.pds.has_admin_role(&did).await?;
    let mut out = account_json(&account, admin);
    let invites: Vec<Value> = state
        .pds
        .account_invite_codes(did.as_str(), true)
        .await?
        .iter()
        .map(invite_json)
        .collect();
    out["invites"] = json!(invites);
    if let Some(code) = &account.invite_code
        && let Some(info) = state.pds.invite_code(code).await?
    {
        if let Some(handle) = handles(&state, vec![info.created_by.clone()])
            .await
            .remove(&info.created_by)
        {
            out["invitedByHandle"] = json!(handle);
        }
        out["invitedBy"] = json!(info.created_by);
    }
    let filter = ReportFilter {
        state: Some(ReportState::Open),
        subject: Some(did.to_string()),
        reported_by: None,
    };
    let (reports, _) = state.pds.list_reports(filter, 20, None).await?;
    out["openReports"] = json!(reports.iter().map(admin_json).collect::<Vec<_>>());
    let (entries, _) = state
        .pds
        .audit_log(20, None, Some(did.to_string()), None)
        .await?;
    out["audit"] = json!(entries.iter().map(audit_entry_json).collect::<Vec<_>>());
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct SuspendInput {
    /// A DID or a handle hosted here.
    account: String,
    /// How long, in days (or `until`).
    days: Option<u32>,
    until: Option<String>,
    /// What the member reads when signing in.
    reason: Option<String>,
}

/// The end of a suspension: `until` (stored in the server's own datetime form, so it compares as
/// text with the clock), or `days` from `now` (the PDS's clock, which lifts suspensions).
fn suspension_end(now: i64, days: Option<u32>, until: Option<&str>) -> Result<String, XrpcError> {
    let micros = match (days, until) {
        (Some(days), None) => {
            if !(1..=MAX_SUSPENSION_DAYS).contains(&days) {
                return Err(XrpcError::invalid_request(format!(
                    "days must be 1 to {MAX_SUSPENSION_DAYS}"
                )));
            }
            now + i64::from(days) * 86_400_000_000
        }
        (None, Some(until)) => Datetime::parse(until)
            .map_err(|e| XrpcError::invalid_request(format!("until must be a datetime: {e}")))?
            .to_unix_micros(),
        _ => return Err(XrpcError::invalid_request("Give days or until")),
    };
    if micros <= now {
        return Err(XrpcError::invalid_request(
            "A suspension must end in the future",
        ));
    }
    Datetime::from_unix_millis(micros / 1000)
        .map(|d| d.as_str().to_owned())
        .map_err(|e| XrpcError::invalid_request(e.to_string()))
}

/// Suspends an account here until `until` (the server's own datetime form), with the audit entry.
pub async fn suspend(
    state: &AppState,
    actor: &Actor,
    did: &Did,
    until: String,
    reason: Option<String>,
) -> Result<(), XrpcError> {
    state
        .pds
        .admin_account(did)
        .await?
        .ok_or_else(|| not_found("Account"))?;
    state
        .pds
        .moderate_account(
            did,
            Moderation::Suspend {
                reference: reason.clone().unwrap_or_else(|| "suspension".into()),
                until: until.clone(),
            },
        )
        .await?;
    let detail = match reason {
        Some(reason) => format!("until {until}: {reason}"),
        None => format!("until {until}"),
    };
    audit::record(
        &state.pds,
        actor,
        "account.suspend",
        Some(did.to_string()),
        Some(detail),
    )
    .await;
    Ok(())
}

/// POST `blue.skyhold.admin.suspendAccount`: a takedown that ends by itself (lifted early with
/// `com.atproto.admin.updateSubjectStatus`).
pub async fn suspend_account(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<SuspendInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = account_did(&state, &input.account).await?;
    let now = state.pds.clock().now_micros();
    let until = suspension_end(now, input.days, input.until.as_deref())?;
    suspend(
        &state,
        &actor,
        &did,
        until.clone(),
        audit::reason(input.reason.as_deref()),
    )
    .await?;
    Ok(Json(json!({"did": did.as_str(), "suspendedUntil": until})))
}

/// Handles of the local accounts among `dids` (others are left out).
async fn handles(state: &AppState, dids: Vec<String>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for did in dids {
        if out.contains_key(&did) {
            continue;
        }
        let Ok(parsed) = Did::parse(&did) else {
            continue;
        };
        if let Ok(Some(account)) = state.pds.admin_account(&parsed).await {
            out.insert(did, account.handle);
        }
    }
    out
}

/// A report with what the admin needs to decide: who filed it, and what it is about (the
/// account's handle and state; the record's text, even when taken down).
async fn report_view(
    state: &AppState,
    report: &ReportRow,
    names: &HashMap<String, String>,
) -> Value {
    let mut out = admin_json(report);
    put_some(&mut out, "reportedByHandle", names.get(&report.reported_by));
    let mut subject = json!({});
    match &report.subject {
        ReportSubject::Repo { did } => {
            let account = match Did::parse(did) {
                Ok(did) => state.pds.admin_account(&did).await,
                Err(_) => Ok(None),
            };
            if let Ok(Some(account)) = account {
                subject["handle"] = json!(account.handle);
                subject["status"] = json!(status_name(account.status));
                subject["local"] = json!(true);
            } else {
                subject["local"] = json!(false);
            }
        }
        ReportSubject::Record { uri, .. } => {
            let mut parts = uri.trim_start_matches("at://").splitn(3, '/');
            let (did, collection, rkey) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let did = Did::parse(did).ok();
            let account = match &did {
                Some(did) => state.pds.admin_account(did).await,
                None => Ok(None),
            };
            match (did, account) {
                (Some(did), Ok(Some(account))) => {
                    subject["handle"] = json!(account.handle);
                    subject["status"] = json!(status_name(account.status));
                    subject["local"] = json!(true);
                    if let Ok(Some((record, takedown))) =
                        state.pds.admin_record(&did, collection, rkey).await
                    {
                        if let Some(text) = record.value.get("text").and_then(|v| v.as_str()) {
                            subject["text"] = json!(text.chars().take(1000).collect::<String>());
                        }
                        subject["takenDown"] = json!(takedown.is_some());
                        subject["exists"] = json!(true);
                    } else {
                        subject["exists"] = json!(false);
                    }
                }
                _ => subject["local"] = json!(false),
            }
        }
    }
    out["subjectView"] = subject;
    out
}

/// GET `blue.skyhold.admin.listReports`: the inbox (newest first; `state` open, resolved or all).
pub async fn list_reports(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<ListReportsParams>,
) -> Result<Json<Value>, XrpcError> {
    let (reports, next) = report_page(&state, params).await?;
    let reporters: Vec<String> = reports.iter().map(|r| r.reported_by.clone()).collect();
    let names = handles(&state, reporters).await;
    let mut views = Vec::new();
    for report in &reports {
        views.push(report_view(&state, report, &names).await);
    }
    Ok(with_cursor(json!({"reports": views}), next))
}

#[derive(Deserialize)]
pub struct ReportParams {
    id: String,
}

/// GET `blue.skyhold.admin.getReport`.
pub async fn get_report(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<ReportParams>,
) -> Result<Json<Value>, XrpcError> {
    let id = parse_id(&params.id)?;
    let report = state
        .pds
        .report(id)
        .await?
        .ok_or_else(|| not_found("Report"))?;
    let names = handles(&state, vec![report.reported_by.clone()]).await;
    Ok(Json(report_view(&state, &report, &names).await))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveReportInput {
    id: serde_json::Value,
    /// `dismiss`, `takedownRecord`, `takedownAccount` or `suspendAccount`.
    action: String,
    /// The admin's reason (shown to the member for account actions) and note.
    reason: Option<String>,
    /// For `suspendAccount`.
    days: Option<u32>,
}

/// The DID a report's subject belongs to.
fn subject_did(subject: &ReportSubject) -> String {
    match subject {
        ReportSubject::Repo { did } => did.clone(),
        ReportSubject::Record { uri, .. } => uri
            .trim_start_matches("at://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// POST `blue.skyhold.admin.resolveReport`: acts on a report and resolves it, with every other
/// open report about the same subject. Actions: `dismiss` (nothing is done), `takedownRecord`
/// (the reported record disappears for everyone), `takedownAccount` (the reported account, or
/// the record's author), `suspendAccount` (the same, for `days`).
pub async fn resolve_report(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<ResolveReportInput>,
) -> Result<Json<Value>, XrpcError> {
    let id = match &input.id {
        Value::Number(n) => n.as_u64().ok_or_else(|| XrpcError::invalid_request("id"))?,
        Value::String(s) => parse_id(s)?,
        _ => return Err(XrpcError::invalid_request("id must be a report id")),
    };
    let report = state
        .pds
        .report(id)
        .await?
        .ok_or_else(|| not_found("Report"))?;
    let reason = audit::reason(input.reason.as_deref());
    let did = subject_did(&report.subject);
    let outcome = match input.action.as_str() {
        "dismiss" => "dismissed".to_owned(),
        "takedownRecord" => {
            let ReportSubject::Record { uri, cid } = &report.subject else {
                return Err(XrpcError::invalid_request(
                    "This report is about an account, not a record",
                ));
            };
            let subject = json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid});
            let change = UpdateSubjectStatusInput::takedown(subject, true, reason.clone());
            change_subject_status(&state, &actor, change).await?;
            "record taken down".to_owned()
        }
        "takedownAccount" => {
            let subject = json!({"$type": "com.atproto.admin.defs#repoRef", "did": did});
            let change = UpdateSubjectStatusInput::takedown(subject, true, reason.clone());
            change_subject_status(&state, &actor, change).await?;
            "account taken down".to_owned()
        }
        "suspendAccount" => {
            let now = state.pds.clock().now_micros();
            let until = suspension_end(now, Some(input.days.unwrap_or(7)), None)?;
            let did = local_did(&did)?;
            suspend(&state, &actor, &did, until.clone(), reason.clone()).await?;
            format!("account suspended until {until}")
        }
        other => {
            return Err(XrpcError::invalid_request(format!(
                "action must be dismiss, takedownRecord, takedownAccount or suspendAccount, not {other}"
            )));
        }
    };
    let note = match &reason {
        Some(reason) => format!("{outcome}: {reason}"),
        None => outcome,
    };
    // Every open report about the subject is answered by the same decision.
    let filter = ReportFilter {
        state: Some(ReportState::Open),
        subject: Some(report.subject.key().to_owned()),
        reported_by: None,
    };
    let (others, _) = state.pds.list_reports(filter, 100, None).await?;
    let mut resolved = vec![id];
    resolved.extend(others.iter().map(|r| r.id).filter(|other| *other != id));
    for report_id in &resolved {
        state
            .pds
            .resolve_report(*report_id, Some(note.clone()))
            .await?;
        audit::record(
            &state.pds,
            &actor,
            "report.resolve",
            Some(report_id.to_string()),
            Some(note.clone()),
        )
        .await;
    }
    let report = state
        .pds
        .report(id)
        .await?
        .ok_or_else(|| not_found("Report"))?;
    let names = handles(&state, vec![report.reported_by.clone()]).await;
    Ok(Json(json!({
        "report": report_view(&state, &report, &names).await,
        "resolved": resolved,
    })))
}

#[derive(Deserialize)]
pub struct AuditParams {
    limit: Option<usize>,
    cursor: Option<String>,
    subject: Option<String>,
    actor: Option<String>,
}

fn audit_entry_json(entry: &crate::pds::AuditEntry) -> Value {
    let mut out = json!({
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
    });
    put_some(&mut out, "subject", entry.subject.as_ref());
    put_some(&mut out, "detail", entry.detail.as_ref());
    out
}

/// GET `blue.skyhold.admin.getAuditLog`: admin actions, newest first, with the handles of the
/// accounts they name.
pub async fn get_audit_log(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<AuditParams>,
) -> Result<Json<Value>, XrpcError> {
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<u64>()
                .map_err(|_| XrpcError::invalid_request("malformed cursor"))?,
        ),
        None => None,
    };
    let limit = params
        .limit
        .unwrap_or(50)
        .clamp(1, crate::pds::MAX_AUDIT_PAGE);
    let (entries, next) = state
        .pds
        .audit_log(limit, before, params.subject, params.actor)
        .await?;
    let mut named = Vec::new();
    for entry in &entries {
        named.push(entry.actor.clone());
        if let Some(subject) = &entry.subject {
            let did = subject
                .strip_prefix("at://")
                .map_or(subject.as_str(), |rest| {
                    rest.split('/').next().unwrap_or_default()
                });
            named.push(did.to_owned());
        }
    }
    let names = handles(&state, named).await;
    let entries: Vec<Value> = entries.iter().map(audit_entry_json).collect();
    let out = json!({"entries": entries, "handles": names});
    Ok(with_cursor(out, next.map(|next| next.to_string())))
}

/// GET `blue.skyhold.admin.listAdmins`.
pub async fn list_admins(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let admins: Vec<Value> = state
        .pds
        .admin_members()
        .await?
        .into_iter()
        .map(|a| {
            json!({"did": a.did, "handle": a.handle, "grantedAt": a.granted_at,
                   "status": status_name(a.status)})
        })
        .collect();
    Ok(Json(json!({"admins": admins})))
}

#[derive(Deserialize)]
pub struct UpdateRoleInput {
    /// A DID or a handle hosted here.
    account: String,
    admin: bool,
}

/// POST `blue.skyhold.admin.updateRole`: grants or revokes the admin role. The admin password
/// only: a member's session, even an admin's, can never make admins.
pub async fn update_role(
    State(state): State<AppState>,
    _admin: PasswordAdmin,
    XrpcJson(input): XrpcJson<UpdateRoleInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = account_did(&state, &input.account).await?;
    let changed = if input.admin {
        state.pds.grant_admin(&did).await?
    } else {
        state.pds.revoke_admin(&did).await?
    };
    if changed {
        let action = if input.admin {
            "role.grant"
        } else {
            "role.revoke"
        };
        audit::record(
            &state.pds,
            &Actor::Password,
            action,
            Some(did.to_string()),
            Some("admin".into()),
        )
        .await;
    }
    Ok(Json(
        json!({"did": did.as_str(), "admin": input.admin, "changed": changed}),
    ))
}

/// GET `blue.skyhold.admin.listPendingCodes` and `/admin/codes`: one-time codes not yet used or
/// expired, waiting for members on a node without mail (the admin passes them on).
pub async fn list_pending_codes(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let codes = state.pds.pending_codes().await?;
    let dids: Vec<String> = codes.iter().map(|c| c.did.clone()).collect();
    let names = handles(&state, dids).await;
    let codes: Vec<Value> = codes
        .into_iter()
        .map(|c| {
            let expires = Datetime::from_unix_micros(c.expires_at.saturating_mul(1_000_000))
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default();
            json!({"did": c.did, "handle": names.get(&c.did), "purpose": c.purpose,
                   "token": c.token, "expiresAt": expires})
        })
        .collect();
    Ok(Json(json!({"codes": codes})))
}

/// GET `blue.skyhold.admin.listHosts`: the hosts the relay follows (and bans), with their state,
/// and the size of the set of accounts it carries from hosts followed in part.
pub async fn list_hosts(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let Some(relay) = &state.relay else {
        return Ok(Json(json!({"relay": false, "hosts": []})));
    };
    let (hosts, _) = relay.list_hosts(1000, None).await?;
    let scoped = relay.scoped_hosts();
    let hosts: Vec<Value> = hosts
        .into_iter()
        .map(|h| {
            // `scoped`: followed only for the accounts members follow there, not all of them.
            json!({"scoped": scoped.contains(&h.hostname), "hostname": h.hostname,
                   "status": h.status, "seq": h.seq, "accountCount": h.account_count})
        })
        .collect();
    let size = relay.scope_size();
    let counters = relay.counters();
    Ok(Json(json!({
        "relay": true,
        "hosts": hosts,
        "carried": {"total": size.carried, "memberFollows": size.members,
                    "operator": size.operator, "releasing": size.releasing},
        "accepted": counters.accepted.load(Ordering::Relaxed),
        "dropped": counters.dropped(),
    })))
}

#[derive(Deserialize)]
pub struct HostInput {
    hostname: String,
}

fn relay(state: &AppState) -> Result<&crate::relay::Relay, XrpcError> {
    state.relay.as_ref().ok_or_else(|| {
        XrpcError::new(
            StatusCode::BAD_REQUEST,
            "RelayOff",
            "The relay is not running on this node (--relay-listen)",
        )
    })
}

/// What an admin does to a host the relay knows, with its audit action.
#[derive(Clone, Copy)]
pub enum HostChange {
    /// The relay checks the host answers as an atproto server, then follows it.
    Add,
    /// Stops following the host and refuses its crawl requests.
    Ban,
    Unban,
}

/// Applies `change` to `host` and writes the audit entry: for the console's methods here and the
/// relay listener's `/admin/hosts/{host}/…` routes.
pub async fn change_host(
    relay: &crate::relay::Relay,
    pds: &crate::pds::Pds,
    actor: &Actor,
    host: &str,
    change: HostChange,
) -> Result<(), XrpcError> {
    let action = match change {
        HostChange::Add => relay.request_crawl(host).await.map(|()| "host.add"),
        HostChange::Ban => relay.ban_host(host).await.map(|()| "host.ban"),
        HostChange::Unban => relay.unban_host(host).await.map(|()| "host.unban"),
    }?;
    audit::record(pds, actor, action, Some(host.trim().to_owned()), None).await;
    Ok(())
}

/// POST `blue.skyhold.admin.addHost`.
pub async fn add_host(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<HostInput>,
) -> Result<(), XrpcError> {
    change_host(
        relay(&state)?,
        &state.pds,
        &actor,
        &input.hostname,
        HostChange::Add,
    )
    .await
}

/// POST `blue.skyhold.admin.banHost`.
pub async fn ban_host(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<HostInput>,
) -> Result<(), XrpcError> {
    change_host(
        relay(&state)?,
        &state.pds,
        &actor,
        &input.hostname,
        HostChange::Ban,
    )
    .await
}

/// POST `blue.skyhold.admin.unbanHost`.
pub async fn unban_host(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<HostInput>,
) -> Result<(), XrpcError> {
    change_host(
        relay(&state)?,
        &state.pds,
        &actor,
        &input.hostname,
        HostChange::Unban,
    )
    .await
}

#[derive(Deserialize)]
pub struct CrawlInput {
    /// A relay's host name or URL.
    relay: String,
}

/// POST `blue.skyhold.admin.requestCrawl`: asks a relay to crawl this node.
pub async fn request_crawl(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<CrawlInput>,
) -> Result<(), XrpcError> {
    state.pds.request_crawl_from(&input.relay).await?;
    audit::record(
        &state.pds,
        &actor,
        "crawl.request",
        Some(input.relay.trim().to_owned()),
        None,
    )
    .await;
    Ok(())
}

/// `micros` since the epoch as an atproto datetime.
fn datetime_of(micros: i64) -> Option<String> {
    Datetime::from_unix_millis(micros / 1000)
        .ok()
        .map(|d| d.as_str().to_owned())
}

/// A configured crawler as the console and `skyhold doctor` show it.
fn crawler_json(crawler: &CrawlerStatus) -> Value {
    let state = match &crawler.last_outcome {
        None => "pending",
        Some(outcome) if outcome.is_accepted() => "ok",
        Some(_) => "failing",
    };
    let mut out = json!({
        "url": crawler.url,
        "state": state,
        "failures": crawler.failures,
        "inFlight": crawler.in_flight,
        // Without news the crawler is asked again only after new events.
        "waitingForEvents": crawler.next_attempt.is_none() && !crawler.in_flight,
    });
    let times = [
        ("lastAttemptAt", crawler.last_attempt),
        ("lastSuccessAt", crawler.last_success),
        ("nextAttemptAt", crawler.next_attempt),
        ("notBefore", crawler.not_before),
    ];
    for (field, micros) in times {
        if let Some(at) = micros.and_then(datetime_of) {
            out[field] = json!(at);
        }
    }
    if let Some(outcome) = &crawler.last_outcome {
        if let Some(status) = outcome.status() {
            out["status"] = json!(status);
        }
        if let Some(error) = outcome.error() {
            out["error"] = json!(error);
        }
    }
    out
}

/// GET `blue.skyhold.admin.listCrawlers`: the relays this node asks to crawl it (`--crawlers`),
/// when each was last asked, what it answered, and when it is asked next.
pub async fn list_crawlers(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let crawlers = state.pds.crawler_statuses().await?;
    Ok(Json(json!({
        "hostname": state.pds.config().hostname,
        "crawlers": crawlers.iter().map(crawler_json).collect::<Vec<_>>(),
    })))
}

/// GET `blue.skyhold.admin.getTlsStatus` and `/admin/tls`: every certificate, when it renews, and
/// any failing renewal (the server keeps serving the current certificate while renewal fails).
pub async fn get_tls_status(State(state): State<AppState>, _admin: AdminAuth) -> Json<Value> {
    match &state.tls {
        Some(tls) => Json(serde_json::to_value(tls.status()).unwrap_or(Value::Null)),
        None => Json(json!({"mode": "off"})),
    }
}

#[derive(Deserialize)]
pub struct TestEmailInput {
    to: String,
}

/// POST `blue.skyhold.admin.sendTestEmail` and `/admin/email/test`: a test message through the
/// configured SMTP server.
pub async fn send_test_email(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<TestEmailInput>,
) -> Result<(), XrpcError> {
    state.pds.send_test_email(input.to.trim()).await?;
    audit::record(
        &state.pds,
        &actor,
        "email.test",
        Some(input.to.trim().to_owned()),
        None,
    )
    .await;
    Ok(())
}

fn rates_json(minutes: i64) -> Value {
    match crate::metrics::global().rates(minutes) {
        Some(r) => json!({
            "minutes": r.minutes,
            "pdsEvents": r.pds_events,
            "relayEvents": r.relay_events,
            "writes": r.writes,
            "requests": r.requests,
            "serverErrors": r.errors,
        }),
        None => Value::Null,
    }
}

/// GET `blue.skyhold.admin.getServerStatus`: health (disk, database, blobs, last backup, mail),
/// accounts and reports, federation (who subscribes to the firehose, event and write rates), the
/// relay and the App View. The figures `/metrics` serves.
pub async fn get_server_status(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let usage = state.usage.get(&state).await;
    let counts: serde_json::Map<String, Value> = state
        .pds
        .account_counts()
        .await?
        .into_iter()
        .map(|(status, n)| (status_name(status).to_owned(), json!(n)))
        .collect();
    let last_backup = state.pds.last_audit("backup").await?.map(|e| e.at);
    let subscribers: Vec<Value> = crate::metrics::global()
        .subscribers()
        .into_iter()
        .map(|s| {
            let since = Datetime::from_unix_millis(s.since * 1000)
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default();
            json!({"stream": s.stream, "peer": s.peer, "userAgent": s.user_agent, "since": since})
        })
        .collect();
    let (pds_oldest, pds_seq) = state.pds.events().bounds().await.unwrap_or((0, 0));
    let (head, cursor) = super::metrics::appview_position(&state).await;
    let relay = match &state.relay {
        Some(relay) => {
            let (hosts, _) = relay.list_hosts(1000, None).await?;
            let seq = relay.events().bounds().await.map(|b| b.1).unwrap_or(0);
            json!({
                "enabled": true,
                "hosts": hosts.len(),
                "activeHosts": hosts.iter().filter(|h| h.status == "active").count(),
                "seq": seq,
                "accepted": relay.counters().accepted.load(Ordering::Relaxed),
                "dropped": relay.counters().dropped(),
            })
        }
        None => json!({"enabled": false}),
    };
    let tls = match &state.tls {
        Some(tls) => {
            let status = tls.status();
            let next_expiry = status
                .certificates
                .iter()
                .map(|c| c.not_after.clone())
                .min();
            json!({
                "mode": status.mode,
                "certificates": status.certificates.len(),
                "failing": status.failing.len() + status.certificates.iter().filter(|c| c.renewal_failure.is_some()).count(),
                "nextExpiry": next_expiry,
            })
        }
        None => json!({"mode": "off"}),
    };
    let crawlers = state.pds.crawler_statuses().await?;
    let failing_crawlers = crawlers
        .iter()
        .filter(|c| c.last_outcome.as_ref().is_some_and(|o| !o.is_accepted()))
        .count();
    let (requests, errors) = crate::metrics::global().request_totals();
    let config = state.pds.config();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": crate::metrics::uptime_seconds(),
        "hostname": config.hostname,
        "publicUrl": config.public_url,
        "inviteRequired": config.invite_required,
        "mailConfigured": config.smtp.is_some(),
        "accounts": counts,
        "openReports": state.pds.open_report_count().await?,
        "storage": {
            "databaseBytes": usage.database_bytes,
            "blobBytes": usage.blob_bytes,
            "blobFiles": usage.blob_files,
            "diskFreeBytes": usage.disk_free,
            "diskSizeBytes": usage.disk_total,
        },
        "lastBackup": last_backup,
        "federation": {
            "subscribers": subscribers,
            "subscriptionsSinceStart": crate::metrics::global().subscriptions(),
            "pdsSeq": pds_seq,
            "pdsOldestSeq": pds_oldest,
            "crawlers": crawlers.len(),
            "failingCrawlers": failing_crawlers,
            "rates": {"lastMinute": rates_json(1), "last10Minutes": rates_json(10), "lastHour": rates_json(60)},
        },
        "requests": {"total": requests, "serverErrors": errors},
        "relay": relay,
        "appview": {"cursor": cursor, "head": head, "lag": head.saturating_sub(cursor)},
        "tls": tls,
        "rateLimited": crate::metrics::global().rate_limited_counts(),
    })))
}

#[cfg(test)]
mod tests {
    use super::suspension_end;

    #[test]
    fn suspensions_end_in_the_future_within_bounds() {
        let now = crate::core::syntax::Datetime::parse("2030-06-01T12:00:00Z")
            .unwrap()
            .to_unix_micros();
        // Days count from the clock given (the PDS's), not from the system's.
        assert_eq!(
            suspension_end(now, Some(7), None).unwrap(),
            "2030-06-08T12:00:00.000Z"
        );
        assert!(suspension_end(now, Some(0), None).is_err());
        assert!(suspension_end(now, Some(99_999), None).is_err());
        assert!(suspension_end(now, None, Some("2030-06-01T11:59:59Z")).is_err());
        assert!(suspension_end(now, None, Some("2999-01-01T00:00:00Z")).is_ok());
        assert!(suspension_end(now, None, None).is_err());
        assert!(suspension_end(now, Some(1), Some("2999-01-01T00:00:00Z")).is_err());
        let until = suspension_end(now, None, Some("2999-01-01T00:00:00+02:00")).unwrap();
        assert_eq!(until, "2998-12-31T22:00:00.000Z");
    }
}
