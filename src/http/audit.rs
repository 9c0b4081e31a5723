//! Writes an admin action to the audit log (`pds::audit`) after it succeeded. Every handler that
//! changes something on the admin's say-so calls [`record`] with the actor its `AdminAuth` found.

use crate::pds::{Actor, Pds};

/// Records `action` on `subject`. The action already happened: a failure to record it is logged
/// loudly rather than turned into an error the admin would read as "not done".
pub async fn record(
    pds: &Pds,
    actor: &Actor,
    action: &str,
    subject: Option<String>,
    detail: Option<String>,
) {
    if let Err(error) = pds
        .record_audit(actor, action, subject.clone(), detail)
        .await
    {
        tracing::error!(%error, action, subject = ?subject, actor = actor.as_str(), "the audit log could not record an admin action");
    }
}

/// A reason given with an action: trimmed, empty as none.
pub fn reason(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
