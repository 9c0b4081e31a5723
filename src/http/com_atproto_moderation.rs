//! `com.atproto.moderation.createReport`, and the admin's view of the reports: `GET /admin/reports`
//! (newest first, filtered by state, subject or reporter, with a cursor), `GET /admin/reports/{id}`
//! and `POST /admin/reports/{id}/resolve`.
//!
//! A report is kept by this node (skyhold is its own moderation service) unless the caller names
//! another service with `atproto-proxy`, which [`super::app_bsky::own_service_gate`] proxies as
//! the reference PDS does.
//!
//! Lexicons: `com.atproto.moderation.createReport`, `com.atproto.moderation.defs`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{AccessAuth, AdminAuth};
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some, with_cursor};
use crate::pds::{ReportFilter, ReportRow, ReportState, ReportSubject};

/// The subject as the lexicon's union member.
fn subject_json(subject: &ReportSubject) -> Value {
    match subject {
        ReportSubject::Repo { did } => {
            json!({"$type": "com.atproto.admin.defs#repoRef", "did": did})
        }
        ReportSubject::Record { uri, cid } => {
            json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid})
        }
    }
}

/// The createReport output: exactly the lexicon's fields.
fn created_json(report: &ReportRow) -> Value {
    let mut out = json!({
        "id": report.id,
        "reasonType": report.reason_type,
        "subject": subject_json(&report.subject),
        "reportedBy": report.reported_by,
        "createdAt": report.created_at,
    });
    put_some(&mut out, "reason", report.reason.as_ref());
    out
}

/// A report as the admin sees it: the createReport fields, the client that filed it, and where it
/// is in the queue.
pub(super) fn admin_json(report: &ReportRow) -> Value {
    let mut out = created_json(report);
    out["state"] = json!(report.state.as_str());
    put_some(&mut out, "modTool", report.mod_tool.as_ref());
    put_some(&mut out, "resolvedAt", report.resolved_at.as_ref());
    put_some(&mut out, "resolution", report.resolution.as_ref());
    out
}

/// Any session, app passwords included, and the takendown scope (a taken-down account may appeal),
/// as the reference PDS accepts.
pub async fn create_report(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    XrpcJson(input): XrpcJson<Value>,
) -> Result<Json<Value>, XrpcError> {
    let report = state.pds.create_report(&auth, &input).await?;
    Ok(Json(created_json(&report)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListReportsParams {
    /// `open`, `resolved`, or `all` (the default).
    state: Option<String>,
    subject: Option<String>,
    reported_by: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /admin/reports`.
pub async fn list_reports(
    State(state): State<AppState>,
    _admin: AdminAuth,
    XrpcQuery(params): XrpcQuery<ListReportsParams>,
) -> Result<Json<Value>, XrpcError> {
    let (reports, next) = report_page(&state, params).await?;
    Ok(with_cursor(
        json!({"reports": reports.iter().map(admin_json).collect::<Vec<_>>()}),
        next,
    ))
}

/// A page of reports for a listing's parameters, and the next page's cursor.
pub(super) async fn report_page(
    state: &AppState,
    params: ListReportsParams,
) -> Result<(Vec<ReportRow>, Option<String>), XrpcError> {
    let report_state = match params.state.as_deref() {
        None | Some("all") => None,
        Some("open") => Some(ReportState::Open),
        Some("resolved") => Some(ReportState::Resolved),
        Some(other) => {
            return Err(XrpcError::invalid_request(format!(
                "state must be open, resolved or all, not {other}"
            )));
        }
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=crate::pds::MAX_REPORTS_PAGE).contains(&limit) {
        return Err(XrpcError::invalid_request(format!(
            "limit must be 1 to {}",
            crate::pds::MAX_REPORTS_PAGE
        )));
    }
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<u64>()
                .map_err(|_| XrpcError::invalid_request("malformed cursor"))?,
        ),
        None => None,
    };
    let filter = ReportFilter {
        state: report_state,
        subject: params.subject,
        reported_by: params.reported_by,
    };
    let (reports, next) = state.pds.list_reports(filter, limit, before).await?;
    Ok((reports, next.map(|n| n.to_string())))
}

pub(super) fn parse_id(id: &str) -> Result<u64, XrpcError> {
    id.parse::<u64>()
        .map_err(|_| XrpcError::invalid_request(format!("not a report id: {id}")))
}

/// `GET /admin/reports/{id}`.
pub async fn get_report(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, XrpcError> {
    let id = parse_id(&id)?;
    match state.pds.report(id).await? {
        Some(report) => Ok(Json(admin_json(&report))),
        None => Err(XrpcError::new(
            axum::http::StatusCode::NOT_FOUND,
            "ReportNotFound",
            format!("Report {id} not found"),
        )),
    }
}

#[derive(Deserialize, Default)]
pub struct ResolveInput {
    /// What was done about it, in the admin's words.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /admin/reports/{id}/resolve`.
pub async fn resolve_report(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(id): Path<String>,
    XrpcJson(input): XrpcJson<ResolveInput>,
) -> Result<Json<Value>, XrpcError> {
    let id = parse_id(&id)?;
    let note = super::audit::reason(input.note.as_deref());
    let report = state.pds.resolve_report(id, note.clone()).await?;
    super::audit::record(
        &state.pds,
        &actor,
        "report.resolve",
        Some(id.to_string()),
        note,
    )
    .await;
    Ok(Json(admin_json(&report)))
}
