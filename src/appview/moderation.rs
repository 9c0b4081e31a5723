//! Takedowns by the operator: `com.atproto.admin.updateSubjectStatus` and `getSubjectStatus` on
//! the App View, as the reference App View receives them from its moderation service. A taken-down
//! account disappears from every view (and getProfile answers `AccountTakedown`); a taken-down
//! record (post, list, feed generator, starter pack) disappears wherever it would be shown.
//! Reversing the takedown brings the content back; nothing is deleted.
//!
//! Lexicons: `com.atproto.admin.updateSubjectStatus`, `com.atproto.admin.getSubjectStatus`,
//! `com.atproto.admin.defs#repoRef`, `com.atproto.repo.strongRef`.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::index::Index;
use super::read;
use super::records::{self, UriParts};
use super::{Appview, AppviewError};
use crate::core::syntax::Did;

#[derive(Debug, Deserialize)]
pub struct SubjectStatusInput {
    pub subject: Json,
    pub takedown: Option<StatusAttr>,
}

#[derive(Debug, Deserialize)]
pub struct StatusAttr {
    pub applied: bool,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubjectStatusParams {
    pub did: Option<String>,
    pub uri: Option<String>,
}

/// What a subject names: an account, or a record.
enum Subject {
    Account(String),
    Record(String),
}

fn subject_of(subject: &Json) -> Result<Subject, AppviewError> {
    match subject["$type"].as_str() {
        Some("com.atproto.admin.defs#repoRef") => {
            let did = subject["did"].as_str().unwrap_or_default();
            Did::parse(did)
                .map_err(|e| AppviewError::InvalidRequest(format!("invalid did: {e}")))?;
            Ok(Subject::Account(did.to_owned()))
        }
        Some("com.atproto.repo.strongRef") => {
            let uri = subject["uri"].as_str().unwrap_or_default();
            UriParts::parse(uri).ok_or_else(|| {
                AppviewError::InvalidRequest(format!("invalid record uri: {uri}"))
            })?;
            Ok(Subject::Record(uri.to_owned()))
        }
        _ => Err(AppviewError::InvalidRequest(
            "subject must be a com.atproto.admin.defs#repoRef or a com.atproto.repo.strongRef"
                .into(),
        )),
    }
}

impl Appview {
    pub async fn update_subject_status(
        &self,
        input: SubjectStatusInput,
    ) -> Result<Json, AppviewError> {
        let subject = subject_of(&input.subject)?;
        let Some(takedown) = input.takedown else {
            return Ok(json!({"subject": input.subject}));
        };
        let reference = takedown.applied.then(|| {
            takedown
                .reference
                .clone()
                .unwrap_or_else(|| "takedown".into())
        });
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                match &subject {
                    Subject::Account(did) => ix.set_actor_takedown(did, reference.as_deref())?,
                    Subject::Record(uri) => ix.set_record_takedown(uri, reference.as_deref())?,
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await?;
        let mut status = json!({"applied": takedown.applied});
        if let Some(r) = &takedown.reference {
            status["ref"] = json!(r);
        }
        Ok(json!({"subject": input.subject, "takedown": status}))
    }

    pub async fn get_subject_status(
        &self,
        params: SubjectStatusParams,
    ) -> Result<Json, AppviewError> {
        if params.uri.is_none() && params.did.is_none() {
            return Err(AppviewError::InvalidRequest(
                "Must provide did or uri".into(),
            ));
        }
        self.read_view(move |t| {
            let (subject, key) = match (&params.did, &params.uri) {
                (_, Some(uri)) => {
                    let not_found = || AppviewError::InvalidRequest(format!("Record not found: {uri}"));
                    let (collection, record) = read::resolve_uri(t, uri)?.ok_or_else(not_found)?;
                    if collection != records::POST {
                        return Err(not_found());
                    }
                    let row = read::post_row(t, &record)?.ok_or_else(not_found)?;
                    (
                        json!({"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": row.cid.to_string()}),
                        uri.clone(),
                    )
                }
                (Some(did), None) => {
                    Did::parse(did)
                        .map_err(|e| AppviewError::InvalidRequest(format!("invalid did: {e}")))?;
                    (json!({"$type": "com.atproto.admin.defs#repoRef", "did": did}), did.clone())
                }
                (None, None) => return Err(AppviewError::InvalidRequest("Must provide did or uri".into())),
            };
            let mut out = json!({"subject": subject});
            out["takedown"] = match t.takedowns.table()?.get(key.as_str())? {
                Some(r) => json!({"applied": true, "ref": r.value()}),
                None => json!({"applied": false}),
            };
            Ok(out)
        })
        .await
    }
}
