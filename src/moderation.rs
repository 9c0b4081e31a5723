//! The admin's moderation across services (`com.atproto.admin.updateSubjectStatus` and
//! `getSubjectStatus`): a status change of an account, record or blob is applied where the subject
//! lives, one transaction per service: the PDS for its own accounts' data, the App View for what it
//! shows (which includes other servers' content). The services never call each other; this sits
//! above them and below `http`, which only parses the request and renders the answer.
//!
//! Lexicons: `com.atproto.admin.updateSubjectStatus`, `com.atproto.admin.getSubjectStatus`.

use cid::Cid;
use serde_json::Value;

use crate::appview::{Appview, AppviewError, AppviewStatusAttr, SubjectStatusInput};
use crate::pds::{Pds, PdsError, Subject};

/// Why a moderation call failed.
#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error(transparent)]
    Pds(#[from] PdsError),
    #[error(transparent)]
    Appview(#[from] AppviewError),
    /// 404 NotFound: the subject is not here.
    #[error("{0}")]
    NotFound(&'static str),
}

/// A takedown applied with its reference, or lifted.
#[derive(Clone, Debug)]
pub struct Takedown {
    pub applied: bool,
    pub reference: Option<String>,
}

/// The admin's status change of one subject.
pub struct StatusChange {
    pub subject: Subject,
    /// The subject as the request gave it (the App View reads its own kinds of subject).
    pub subject_json: Value,
    pub takedown: Option<Takedown>,
    /// Deactivated (`true`) or activated again (`false`); accounts only.
    pub deactivated: Option<bool>,
}

/// Where a change was applied.
pub enum Applied {
    /// The subject is not this PDS's: the App View's answer.
    Elsewhere(Value),
    /// On this PDS (and, for takedowns, in the App View).
    Here,
}

/// A subject's status as the admin sees it.
pub enum SubjectStatus {
    /// Content from another PDS: the App View's view of it.
    Elsewhere(Value),
    Repo {
        takedown: Option<String>,
        deactivated: bool,
    },
    Record {
        cid: Cid,
        takedown: Option<String>,
    },
    Blob {
        takedown: Option<String>,
    },
}

/// Applies `change` in the services that hold its subject.
pub async fn update_subject_status(
    pds: &Pds,
    appview: &Appview,
    change: StatusChange,
) -> Result<Applied, ModerationError> {
    let blob = matches!(change.subject, Subject::Blob { .. });
    let appview_input = || SubjectStatusInput {
        subject: change.subject_json.clone(),
        takedown: change.takedown.as_ref().map(|t| AppviewStatusAttr {
            applied: t.applied,
            reference: t.reference.clone(),
        }),
    };
    if pds.admin_account(change.subject.did()).await?.is_none() {
        // Content from another PDS: only the App View shows it here, so only it takes it down.
        if blob || change.deactivated.is_some() {
            return Err(ModerationError::NotFound("Account not found"));
        }
        let answer = appview.update_subject_status(appview_input()).await?;
        return Ok(Applied::Elsewhere(answer));
    }
    if change.deactivated.is_some() && !matches!(change.subject, Subject::Repo(_)) {
        let message = "Only accounts can be deactivated";
        return Err(PdsError::InvalidRequest(message.into()).into());
    }
    if change.takedown.is_some() && !blob {
        // The App View hides it at once, not only when the relay passes the account's new status on
        // (records taken down at the PDS produce no event at all).
        appview.update_subject_status(appview_input()).await?;
    }
    let takedown = change.takedown.map(|t| {
        t.applied
            .then(|| t.reference.unwrap_or_else(|| "takedown".into()))
    });
    pds.update_subject_status(&change.subject, takedown, change.deactivated)
        .await?;
    Ok(Applied::Here)
}

/// `subject`'s status: the PDS's for its own accounts' data, the App View's otherwise.
pub async fn subject_status(
    pds: &Pds,
    appview: &Appview,
    subject: &Subject,
    elsewhere: crate::appview::SubjectStatusParams,
) -> Result<SubjectStatus, ModerationError> {
    let account = pds.admin_account(subject.did()).await?;
    if account.is_none() && !matches!(subject, Subject::Blob { .. }) {
        // Content from another PDS: its status here is the App View's.
        let answer = appview.get_subject_status(elsewhere).await?;
        return Ok(SubjectStatus::Elsewhere(answer));
    }
    const MISSING: &str = "Subject not found";
    Ok(match subject {
        Subject::Repo(_) => {
            let account = account.ok_or(ModerationError::NotFound("Account not found"))?;
            SubjectStatus::Repo {
                takedown: account.takedown_ref,
                deactivated: account.deactivated_at.is_some(),
            }
        }
        Subject::Record { did, path } => SubjectStatus::Record {
            cid: pds
                .record_cid(did, path)
                .await?
                .ok_or(ModerationError::NotFound(MISSING))?,
            takedown: pds.record_takedown(did, path).await?,
        },
        Subject::Blob { did, cid } => SubjectStatus::Blob {
            takedown: pds
                .blob_takedown(did, cid)
                .await
                .map_err(|_| ModerationError::NotFound(MISSING))?,
        },
    })
}
