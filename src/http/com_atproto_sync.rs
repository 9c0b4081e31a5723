//! `com.atproto.sync.*` read handlers (the event stream lives with the firehose).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::io::ReaderStream;

use super::AppState;
use super::auth::SyncReader;
use super::params;
use super::xrpc::{XrpcError, XrpcQuery, put_some, with_cursor};
use crate::core::data::{self, Cid};
use crate::core::syntax::{Nsid, RecordKey};

const CAR_MIME: &str = "application/vnd.ipld.car";

fn car_response(body: Body) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CAR_MIME));
    response
}

#[derive(Deserialize)]
pub struct GetRepoParams {
    did: String,
    since: Option<String>,
}

pub async fn get_repo(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<GetRepoParams>,
) -> Result<Response, XrpcError> {
    let stream = state
        .pds
        .export_repo(
            &params::sync_did(&params.did)?,
            params::since(params.since.as_deref())?.as_ref(),
            auth.reader(),
        )
        .await?;
    Ok(car_response(Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(stream),
    )))
}

#[derive(Deserialize)]
pub struct DidParams {
    did: String,
}

pub async fn get_latest_commit(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<DidParams>,
) -> Result<Json<Value>, XrpcError> {
    let (cid, rev) = state
        .pds
        .latest_commit(&params::sync_did(&params.did)?, auth.reader())
        .await?;
    Ok(Json(json!({"cid": cid.to_string(), "rev": rev})))
}

pub async fn get_repo_status(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<DidParams>,
) -> Result<Json<Value>, XrpcError> {
    let status = state
        .pds
        .repo_status(&params::sync_did(&params.did)?)
        .await?;
    let mut out = json!({"did": status.did, "active": status.active});
    put_some(&mut out, "status", status.status);
    if status.active {
        out["rev"] = json!(status.rev);
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct ListReposParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_repos(
    State(state): State<AppState>,
    XrpcQuery(params): XrpcQuery<ListReposParams>,
) -> Result<Json<Value>, XrpcError> {
    let limit = params::limit(params.limit, 500, 1000)?;
    let (repos, cursor) = state
        .pds
        .list_repos(limit, params.cursor.as_deref())
        .await?;
    let repos: Vec<Value> = repos
        .iter()
        .map(|r| {
            let mut out =
                json!({"did": r.did, "head": r.head.to_string(), "rev": r.rev, "active": r.active});
            put_some(&mut out, "status", r.status);
            out
        })
        .collect();
    Ok(with_cursor(json!({"repos": repos}), cursor))
}

#[derive(Deserialize)]
pub struct GetBlobParams {
    did: String,
    cid: String,
}

pub async fn get_blob(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<GetBlobParams>,
) -> Result<Response, XrpcError> {
    let cid = data::parse_cid(&params.cid)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid cid: {e}")))?;
    let blob = state
        .pds
        .blob_file(&params::sync_did(&params.did)?, &cid, auth.reader())
        .await?;
    let file = tokio::fs::File::open(&blob.path)
        .await
        .map_err(|_| XrpcError::invalid_request("Blob not found"))?;
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, &blob.mime_type);
    set(headers, header::CONTENT_LENGTH, &blob.size.to_string());
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    set(
        headers,
        header::CONTENT_DISPOSITION,
        &format!("attachment; filename=\"{cid}\""),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct SyncGetRecordParams {
    did: String,
    collection: String,
    rkey: String,
}

pub async fn get_record(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<SyncGetRecordParams>,
) -> Result<Response, XrpcError> {
    let collection = Nsid::parse(&params.collection)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid collection: {e}")))?;
    let rkey = RecordKey::parse(&params.rkey)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid rkey: {e}")))?;
    let car = state
        .pds
        .record_proof(
            &params::sync_did(&params.did)?,
            &collection,
            &rkey,
            auth.reader(),
        )
        .await?;
    Ok(car_response(Body::from(car)))
}

#[derive(Deserialize)]
pub struct GetBlocksParams {
    did: String,
    #[serde(default)]
    cids: Vec<String>,
}

pub async fn get_blocks(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<GetBlocksParams>,
) -> Result<Response, XrpcError> {
    let cids = params
        .cids
        .iter()
        .map(|c| {
            data::parse_cid(c)
                .map_err(|e| XrpcError::invalid_request(format!("Invalid cid {c}: {e}")))
        })
        .collect::<Result<Vec<Cid>, _>>()?;
    let car = state
        .pds
        .get_blocks(&params::sync_did(&params.did)?, cids, auth.reader())
        .await?;
    Ok(car_response(Body::from(car)))
}

#[derive(Deserialize)]
pub struct ListBlobsParams {
    did: String,
    since: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub async fn list_blobs(
    State(state): State<AppState>,
    auth: SyncReader,
    XrpcQuery(params): XrpcQuery<ListBlobsParams>,
) -> Result<Json<Value>, XrpcError> {
    let limit = params::limit(params.limit, 500, 1000)?;
    let (cids, cursor) = state
        .pds
        .list_blobs(
            &params::sync_did(&params.did)?,
            params::since(params.since.as_deref())?.as_ref(),
            limit,
            params.cursor.as_deref(),
            auth.reader(),
        )
        .await?;
    Ok(with_cursor(json!({"cids": cids}), cursor))
}
