//! `com.atproto.repo.*` handlers: record writes and reads, describeRepo, uploadBlob.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::Extensions;
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AccessAuth;
use super::limits;
use super::params;
use super::xrpc::{XrpcError, XrpcJson, XrpcQuery, put_some, with_cursor};
use crate::core::data::{self, Cid};
use crate::core::syntax::{Did, Nsid, RecordKey};
use crate::pds::{
    AuthedAccount, CommitResult, MAX_BLOB_SIZE, MAX_LIST_LIMIT, WriteAction, WriteOp, WriteResult,
};

fn parse_cid(text: &str, field: &str) -> Result<Cid, XrpcError> {
    data::parse_cid(text).map_err(|e| XrpcError::invalid_request(format!("Invalid {field}: {e}")))
}

fn optional_cid(text: Option<&str>, field: &str) -> Result<Option<Cid>, XrpcError> {
    text.map(|t| parse_cid(t, field)).transpose()
}

fn record_value(json: &Value) -> Result<data::Value, XrpcError> {
    if !json.is_object() {
        return Err(XrpcError::invalid_request(
            "Invalid record: must be an object",
        ));
    }
    data::from_json(json).map_err(|e| XrpcError::invalid_request(format!("Invalid record: {e}")))
}

/// The start of every record write: the caller's write budget (spent before anything is parsed),
/// then the repo it names, which must be the caller's own.
async fn writable_repo(
    state: &AppState,
    auth: &AuthedAccount,
    extensions: &Extensions,
    points: u32,
    repo: &str,
) -> Result<Did, XrpcError> {
    limits::spend_for_writes(state, extensions, auth.did.as_str(), points)?;
    let repo = params::write_repo(repo)?;
    Ok(state.pds.repo_did_for_write(&repo, &auth.did).await?)
}

/// The end of every record write: the commit swap, the caller's scopes, then the commit.
async fn commit(
    state: &AppState,
    auth: &AuthedAccount,
    did: &Did,
    ops: Vec<WriteOp>,
    swap_commit: Option<&str>,
    validate: Option<bool>,
) -> Result<CommitResult, XrpcError> {
    let swap = optional_cid(swap_commit, "swapCommit")?;
    state.pds.require_writes(auth, &ops)?;
    Ok(state.pds.apply_writes(did, ops, swap, validate).await?)
}

fn commit_json(commit: &CommitResult) -> Option<Value> {
    commit
        .commit
        .as_ref()
        .map(|(cid, rev)| json!({"cid": cid.to_string(), "rev": rev}))
}

fn write_json(result: &WriteResult, commit: Option<Value>) -> Value {
    let mut out = json!({"uri": result.uri});
    if let Some(cid) = result.cid {
        out["cid"] = json!(cid.to_string());
    }
    if let Some(commit) = commit {
        out["commit"] = commit;
    }
    put_some(&mut out, "validationStatus", result.validation_status);
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRecordInput {
    repo: String,
    collection: Nsid,
    rkey: Option<RecordKey>,
    validate: Option<bool>,
    record: Value,
    swap_commit: Option<String>,
}

pub async fn create_record(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    extensions: Extensions,
    XrpcJson(input): XrpcJson<CreateRecordInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = writable_repo(
        &state,
        &auth,
        &extensions,
        limits::CREATE_POINTS,
        &input.repo,
    )
    .await?;
    let op = WriteOp::Create {
        collection: input.collection,
        rkey: input.rkey,
        record: record_value(&input.record)?,
    };
    let swap = input.swap_commit.as_deref();
    let result = commit(&state, &auth, &did, vec![op], swap, input.validate).await?;
    let first = result
        .results
        .first()
        .ok_or_else(|| XrpcError::internal("no write result"))?;
    Ok(Json(write_json(first, commit_json(&result))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRecordInput {
    repo: String,
    collection: Nsid,
    rkey: RecordKey,
    validate: Option<bool>,
    record: Value,
    /// `null` means "must not exist"; absent means no check.
    #[serde(default, deserialize_with = "present_or_null")]
    swap_record: Option<Option<String>>,
    swap_commit: Option<String>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

pub async fn put_record(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    extensions: Extensions,
    XrpcJson(input): XrpcJson<PutRecordInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = writable_repo(
        &state,
        &auth,
        &extensions,
        limits::UPDATE_POINTS,
        &input.repo,
    )
    .await?;
    let swap_record = match input.swap_record {
        None => None,
        Some(None) => Some(None),
        Some(Some(cid)) => Some(Some(parse_cid(&cid, "swapRecord")?)),
    };
    let op = WriteOp::Put {
        collection: input.collection,
        rkey: input.rkey,
        record: record_value(&input.record)?,
        swap_record,
    };
    let swap = input.swap_commit.as_deref();
    let result = commit(&state, &auth, &did, vec![op], swap, input.validate).await?;
    let first = result
        .results
        .first()
        .ok_or_else(|| XrpcError::internal("no write result"))?;
    Ok(Json(write_json(first, commit_json(&result))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRecordInput {
    repo: String,
    collection: Nsid,
    rkey: RecordKey,
    swap_record: Option<String>,
    swap_commit: Option<String>,
}

pub async fn delete_record(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    extensions: Extensions,
    XrpcJson(input): XrpcJson<DeleteRecordInput>,
) -> Result<Json<Value>, XrpcError> {
    let did = writable_repo(
        &state,
        &auth,
        &extensions,
        limits::DELETE_POINTS,
        &input.repo,
    )
    .await?;
    let op = WriteOp::Delete {
        collection: input.collection,
        rkey: input.rkey,
        swap_record: optional_cid(input.swap_record.as_deref(), "swapRecord")?,
        must_exist: false,
    };
    let swap = input.swap_commit.as_deref();
    let result = commit(&state, &auth, &did, vec![op], swap, None).await?;
    let mut out = json!({});
    if let Some(commit) = commit_json(&result) {
        out["commit"] = commit;
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(tag = "$type")]
pub enum ApplyWrite {
    #[serde(rename = "com.atproto.repo.applyWrites#create")]
    Create {
        collection: Nsid,
        rkey: Option<RecordKey>,
        value: Value,
    },
    #[serde(rename = "com.atproto.repo.applyWrites#update")]
    Update {
        collection: Nsid,
        rkey: RecordKey,
        value: Value,
    },
    #[serde(rename = "com.atproto.repo.applyWrites#delete")]
    Delete { collection: Nsid, rkey: RecordKey },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyWritesInput {
    repo: String,
    validate: Option<bool>,
    writes: Vec<ApplyWrite>,
    swap_commit: Option<String>,
}

pub async fn apply_writes(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    extensions: Extensions,
    XrpcJson(input): XrpcJson<ApplyWritesInput>,
) -> Result<Json<Value>, XrpcError> {
    let points = input
        .writes
        .iter()
        .map(|w| match w {
            ApplyWrite::Create { .. } => limits::CREATE_POINTS,
            ApplyWrite::Update { .. } => limits::UPDATE_POINTS,
            ApplyWrite::Delete { .. } => limits::DELETE_POINTS,
        })
        .fold(0u32, u32::saturating_add);
    let did = writable_repo(&state, &auth, &extensions, points, &input.repo).await?;
    let ops = input
        .writes
        .into_iter()
        .map(|w| {
            Ok(match w {
                ApplyWrite::Create {
                    collection,
                    rkey,
                    value,
                } => WriteOp::Create {
                    collection,
                    rkey,
                    record: record_value(&value)?,
                },
                ApplyWrite::Update {
                    collection,
                    rkey,
                    value,
                } => WriteOp::Update {
                    collection,
                    rkey,
                    record: record_value(&value)?,
                },
                ApplyWrite::Delete { collection, rkey } => WriteOp::Delete {
                    collection,
                    rkey,
                    swap_record: None,
                    must_exist: true,
                },
            })
        })
        .collect::<Result<Vec<_>, XrpcError>>()?;
    let swap = input.swap_commit.as_deref();
    let result = commit(&state, &auth, &did, ops, swap, input.validate).await?;
    let results: Vec<Value> = result
        .results
        .iter()
        .map(|r| {
            let kind = format!("com.atproto.repo.applyWrites#{}Result", r.action.as_str());
            let mut out = if r.action == WriteAction::Delete {
                json!({})
            } else {
                write_json(r, None)
            };
            out["$type"] = json!(kind);
            out
        })
        .collect();
    let mut out = json!({"results": results});
    if let Some(commit) = commit_json(&result) {
        out["commit"] = commit;
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct GetRecordParams {
    repo: String,
    collection: Nsid,
    rkey: RecordKey,
    cid: Option<String>,
}

pub async fn get_record(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<GetRecordParams>,
) -> Result<Json<Value>, XrpcError> {
    let cid = optional_cid(params.cid.as_deref(), "cid")?;
    let view = state
        .pds
        .get_record(
            &params::read_repo(&params.repo)?,
            &params.collection,
            &params.rkey,
            cid,
        )
        .await
        .map_err(|e| params::as_written(e, &params.repo))?;
    Ok(Json(json!({
        "uri": view.uri,
        "cid": view.cid.to_string(),
        "value": data::to_json(&view.value),
    })))
}

#[derive(Deserialize)]
pub struct ListRecordsParams {
    repo: String,
    collection: Nsid,
    limit: Option<usize>,
    cursor: Option<String>,
    #[serde(default)]
    reverse: bool,
}

pub async fn list_records(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<ListRecordsParams>,
) -> Result<Json<Value>, XrpcError> {
    let limit = params::limit(params.limit, 50, MAX_LIST_LIMIT)?;
    let (records, cursor) = state
        .pds
        .list_records(
            &params::read_repo(&params.repo)?,
            &params.collection,
            limit,
            params.cursor,
            params.reverse,
        )
        .await
        .map_err(|e| params::as_written(e, &params.repo))?;
    let records: Vec<Value> = records
        .iter()
        .map(|r| json!({"uri": r.uri, "cid": r.cid.to_string(), "value": data::to_json(&r.value)}))
        .collect();
    Ok(with_cursor(json!({"records": records}), cursor))
}

#[derive(Deserialize)]
pub struct DescribeRepoParams {
    repo: String,
}

pub async fn describe_repo(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<DescribeRepoParams>,
) -> Result<Json<Value>, XrpcError> {
    let description = state
        .pds
        .describe_repo(&params::described_repo(&params.repo)?)
        .await
        .map_err(|e| params::as_written(e, &params.repo))?;
    let doc = state
        .pds
        .did_document(&description.did)
        .await
        .ok_or_else(|| {
            XrpcError::invalid_request(format!("Could not resolve DID: {}", description.did))
        })?;
    let handle_is_correct = doc.handle() == Some(description.handle.as_str());
    Ok(Json(json!({
        "handle": description.handle,
        "did": description.did,
        "didDoc": serde_json::to_value(&doc).unwrap_or_default(),
        "collections": description.collections,
        "handleIsCorrect": handle_is_correct,
    })))
}

pub async fn upload_blob(
    State(state): State<AppState>,
    AccessAuth(auth): AccessAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, XrpcError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            XrpcError::invalid_request("Request encoding (Content-Type) required but not provided")
        })?;
    let too_large = || {
        XrpcError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request entity too large",
        )
    };
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > MAX_BLOB_SIZE
    {
        return Err(too_large());
    }
    state.pds.require(
        &auth,
        &crate::core::oauth::grant::Need::Blob { mime: &declared },
    )?;
    state.pds.check_not_taken_down(&auth.did).await?;
    let mut upload = state.pds.start_upload()?;
    let mut head = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| XrpcError::invalid_request(format!("Reading the body failed: {e}")))?;
        if head.len() < 64 {
            head.extend_from_slice(&chunk[..chunk.len().min(64 - head.len())]);
        }
        if upload.size() + chunk.len() as u64 > MAX_BLOB_SIZE {
            return Err(too_large());
        }
        upload.write(&chunk).map_err(XrpcError::internal)?;
    }
    let blob = state
        .pds
        .finish_upload(&auth.did, upload, head, &declared)
        .await?;
    Ok(Json(json!({"blob": {
        "$type": "blob",
        "ref": {"$link": blob.cid.to_string()},
        "mimeType": blob.mime_type,
        "size": blob.size,
    }})))
}
