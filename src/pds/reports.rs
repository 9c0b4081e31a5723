//! Moderation reports: `com.atproto.moderation.createReport` stores what a member reports (an
//! account or one version of a record), and the admin lists reports and resolves them.
//!
//! The reference PDS forwards createReport to a moderation service (Ozone) through its proxy; a
//! skyhold node is its own moderation service, so reports stay here for the admin (see
//! docs/BEHAVIORS.md). The checks follow Ozone's createReport: the subject may be unknown here
//! (reports about other servers' accounts are kept too), an appeal must come from the subject's
//! own account, a taken-down account may only appeal, and an account has one open appeal per
//! subject at a time.
//!
//! Lexicons: `com.atproto.moderation.createReport`, `com.atproto.moderation.defs`.

use cid::Cid;
use redb::{ReadableTable, TableDefinition};
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

use super::auth::{AccessScope, AuthedAccount};
use super::rows::{self, ReportRow, ReportState, ReportSubject};
use super::{Pds, PdsError};
use crate::core::syntax::{AtUri, Did, Nsid};
use crate::store::{Reads, StoreError};

/// report id → report row (`createReport`): what members reported, for the admin.
const REPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.reports");
/// (state, report id) → (): reports by state (open, resolved), newest last.
const REPORTS_BY_STATE: TableDefinition<(u8, u64), ()> =
    TableDefinition::new("pds.reports_by_state");
/// (subject DID or record URI, report id) → (): reports about one subject.
const REPORTS_BY_SUBJECT: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("pds.reports_by_subject");
/// (reporting DID, report id) → (): reports one account made.
const REPORTS_BY_REPORTER: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("pds.reports_by_reporter");

/// `reason`'s limits in the lexicon.
const MAX_REASON_BYTES: usize = 20_000;
const MAX_REASON_GRAPHEMES: usize = 2_000;
/// Longest `modTool.name` kept.
const MAX_MOD_TOOL_LEN: usize = 256;
/// Most reports one listing page returns.
pub const MAX_REPORTS_PAGE: usize = 100;
/// Most index rows one listing examines (filters that match little stop here).
const MAX_SCAN: usize = 10_000;

/// The reason types that appeal a moderation decision rather than report something.
const APPEAL_REASONS: &[&str] = &[
    "com.atproto.moderation.defs#reasonAppeal",
    "tools.ozone.report.defs#reasonAppeal",
];
const REPO_REF: &str = "com.atproto.admin.defs#repoRef";
const STRONG_REF: &str = "com.atproto.repo.strongRef";

/// Which reports a listing returns (every filter given must match).
#[derive(Clone, Debug, Default)]
pub struct ReportFilter {
    pub state: Option<ReportState>,
    /// A DID or a record URI.
    pub subject: Option<String>,
    pub reported_by: Option<String>,
}

fn bad(message: impl Into<String>) -> PdsError {
    PdsError::InvalidRequest(message.into())
}

/// `reasonType`: a reference to a token, `<nsid>#<name>` (the lexicon's list of known values is
/// open, so new reason types are accepted as Ozone does when its profile declares none).
fn parse_reason_type(value: Option<&Value>) -> Result<String, PdsError> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Input must have the property \"reasonType\""))?;
    let valid = text.split_once('#').is_some_and(|(nsid, name)| {
        Nsid::parse(nsid).is_ok()
            && !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if !valid {
        return Err(bad(format!("Invalid reason type: {text}")));
    }
    Ok(text.to_owned())
}

fn parse_reason(value: Option<&Value>) -> Result<Option<String>, PdsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| bad("Input/reason must be a string"))?;
    if text.len() > MAX_REASON_BYTES {
        return Err(bad(format!(
            "Input/reason must not be longer than {MAX_REASON_BYTES} characters"
        )));
    }
    if text.len() > MAX_REASON_GRAPHEMES && text.graphemes(true).count() > MAX_REASON_GRAPHEMES {
        return Err(bad(format!(
            "Input/reason must not be longer than {MAX_REASON_GRAPHEMES} graphemes"
        )));
    }
    Ok(Some(text.to_owned()))
}

fn parse_subject(value: Option<&Value>) -> Result<ReportSubject, PdsError> {
    let subject = value
        .and_then(Value::as_object)
        .ok_or_else(|| bad("Input must have the property \"subject\""))?;
    let field = |name: &str| subject.get(name).and_then(Value::as_str);
    match subject.get("$type").and_then(Value::as_str) {
        Some(REPO_REF) => {
            let did =
                field("did").ok_or_else(|| bad("Input/subject must have the property \"did\""))?;
            Did::parse(did).map_err(|e| bad(format!("Input/subject/did must be a DID: {e}")))?;
            Ok(ReportSubject::Repo {
                did: did.to_owned(),
            })
        }
        Some(STRONG_REF) => {
            let uri =
                field("uri").ok_or_else(|| bad("Input/subject must have the property \"uri\""))?;
            let cid =
                field("cid").ok_or_else(|| bad("Input/subject must have the property \"cid\""))?;
            let parsed = AtUri::parse(uri)
                .map_err(|e| bad(format!("Input/subject/uri must be an at-uri: {e}")))?;
            if Did::parse(parsed.authority_str()).is_err()
                || parsed.collection_str().is_none()
                || parsed.rkey_str().is_none()
            {
                return Err(bad(
                    "Input/subject/uri must name a record by its author's DID",
                ));
            }
            Cid::try_from(cid).map_err(|e| bad(format!("Input/subject/cid must be a CID: {e}")))?;
            Ok(ReportSubject::Record {
                uri: uri.to_owned(),
                cid: cid.to_owned(),
            })
        }
        _ => Err(bad(format!(
            "Invalid subject: expected a {REPO_REF} or a {STRONG_REF}"
        ))),
    }
}

fn parse_mod_tool(value: Option<&Value>) -> Result<Option<String>, PdsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Input/modTool must have the property \"name\""))?;
    Ok(Some(name.chars().take(MAX_MOD_TOOL_LEN).collect()))
}

/// The DID a subject belongs to (an account, or a record's author).
fn subject_did(subject: &ReportSubject) -> &str {
    match subject {
        ReportSubject::Repo { did } => did,
        ReportSubject::Record { uri, .. } => uri
            .strip_prefix("at://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default(),
    }
}

fn decode_report(bytes: &[u8]) -> Result<ReportRow, PdsError> {
    Ok(rows::decode(bytes)?)
}

impl Pds {
    /// `createReport`: checks the input against the lexicon and Ozone's rules, and stores it.
    pub async fn create_report(
        &self,
        reporter: &AuthedAccount,
        input: &Value,
    ) -> Result<ReportRow, PdsError> {
        if !input.is_object() {
            return Err(bad("Input must be an object"));
        }
        let reason_type = parse_reason_type(input.get("reasonType"))?;
        let reason = parse_reason(input.get("reason"))?;
        let subject = parse_subject(input.get("subject"))?;
        let mod_tool = parse_mod_tool(input.get("modTool"))?;
        let appeal = APPEAL_REASONS.contains(&reason_type.as_str());
        if appeal && subject_did(&subject) != reporter.did.as_str() {
            let message = "You cannot appeal this report";
            return Err(PdsError::Forbidden(message.into()));
        }
        if !appeal && reporter.scope == AccessScope::Takendown {
            let message = "Report not accepted from takendown account";
            return Err(PdsError::ReportFromTakendown(message.into()));
        }
        let mut report = ReportRow {
            id: 0,
            reason_type,
            reason,
            subject,
            reported_by: reporter.did.to_string(),
            created_at: self.clock().now_datetime(),
            mod_tool,
            state: ReportState::Open,
            resolved_at: None,
            resolution: None,
        };
        self.store()
            .write(move |txn| {
                let mut reports = txn.open_table(REPORTS)?;
                let mut by_subject = txn.open_table(REPORTS_BY_SUBJECT)?;
                let key = report.subject.key().to_owned();
                if appeal {
                    for row in by_subject.range((key.as_str(), 0)..=(key.as_str(), u64::MAX))? {
                        let (k, _) = row?;
                        let Some(other) = reports.get(k.value().1)? else {
                            continue;
                        };
                        let other: ReportRow = rows::decode(other.value())?;
                        if other.state == ReportState::Open
                            && other.reported_by == report.reported_by
                            && APPEAL_REASONS.contains(&other.reason_type.as_str())
                        {
                            return Ok(Err(PdsError::AlreadyAppealed(
                                "Awaiting decision on previous appeal".into(),
                            )));
                        }
                    }
                }
                report.id = reports.last()?.map_or(1, |(k, _)| k.value() + 1);
                reports.insert(report.id, rows::encode(&report)?.as_slice())?;
                by_subject.insert((key.as_str(), report.id), ())?;
                txn.open_table(REPORTS_BY_REPORTER)?
                    .insert((report.reported_by.as_str(), report.id), ())?;
                txn.open_table(REPORTS_BY_STATE)?
                    .insert((report.state.byte(), report.id), ())?;
                Ok(Ok(report))
            })
            .await
    }

    /// Reports matching `filter`, newest first, before the report id `before`; and the cursor of
    /// the next page.
    pub async fn list_reports(
        &self,
        filter: ReportFilter,
        limit: usize,
        before: Option<u64>,
    ) -> Result<(Vec<ReportRow>, Option<u64>), PdsError> {
        let limit = limit.clamp(1, MAX_REPORTS_PAGE);
        let upper = before.unwrap_or(u64::MAX);
        self.store()
            .read(move |txn| {
                let Some(reports) = txn.table(REPORTS)? else {
                    return Ok((Vec::new(), None));
                };
                // The narrowest index the filter allows; the rest is checked on each report.
                let ids: Vec<u64> = if let Some(subject) = &filter.subject {
                    ids_desc(txn, REPORTS_BY_SUBJECT, subject, upper)?
                } else if let Some(reporter) = &filter.reported_by {
                    ids_desc(txn, REPORTS_BY_REPORTER, reporter, upper)?
                } else if let Some(state) = filter.state {
                    match txn.table(REPORTS_BY_STATE)? {
                        Some(t) => t
                            .range((state.byte(), 0)..(state.byte(), upper))?
                            .rev()
                            .take(MAX_SCAN)
                            .map(|r| r.map(|(k, _)| k.value().1))
                            .collect::<Result<_, _>>()
                            .map_err(StoreError::from)?,
                        None => Vec::new(),
                    }
                } else {
                    reports
                        .range(..upper)?
                        .rev()
                        .take(MAX_SCAN)
                        .map(|r| r.map(|(k, _)| k.value()))
                        .collect::<Result<_, _>>()
                        .map_err(StoreError::from)?
                };
                let mut out = Vec::new();
                for id in ids {
                    let Some(bytes) = reports.get(id)? else {
                        continue;
                    };
                    let report = decode_report(bytes.value())?;
                    let matches = filter.state.is_none_or(|s| s == report.state)
                        && filter
                            .subject
                            .as_deref()
                            .is_none_or(|s| s == report.subject.key())
                        && filter
                            .reported_by
                            .as_deref()
                            .is_none_or(|d| d == report.reported_by);
                    if matches {
                        out.push(report);
                        if out.len() == limit {
                            break;
                        }
                    }
                }
                let next = (out.len() == limit)
                    .then(|| out.last().map(|r| r.id))
                    .flatten();
                Ok::<_, PdsError>((out, next))
            })
            .await
    }

    /// How many reports wait for the admin (counted up to [`MAX_SCAN`]).
    pub async fn open_report_count(&self) -> Result<u64, PdsError> {
        self.store()
            .read(move |txn| {
                let Some(t) = txn.table(REPORTS_BY_STATE)? else {
                    return Ok(0);
                };
                let open = ReportState::Open.byte();
                let count = t
                    .range((open, 0)..=(open, u64::MAX))?
                    .take(MAX_SCAN)
                    .count();
                Ok::<_, PdsError>(count as u64)
            })
            .await
    }

    /// One report.
    pub async fn report(&self, id: u64) -> Result<Option<ReportRow>, PdsError> {
        self.store()
            .read(move |txn| {
                let Some(reports) = txn.table(REPORTS)? else {
                    return Ok(None);
                };
                reports
                    .get(id)?
                    .map(|v| decode_report(v.value()))
                    .transpose()
            })
            .await
    }

    /// Marks a report resolved, with the admin's note of what was done. Resolving a resolved
    /// report changes nothing (a retried request gets the same answer).
    pub async fn resolve_report(
        &self,
        id: u64,
        resolution: Option<String>,
    ) -> Result<ReportRow, PdsError> {
        let resolved_at = self.clock().now_datetime();
        self.store()
            .write(move |txn| {
                let mut reports = txn.open_table(REPORTS)?;
                let Some(bytes) = reports.get(id)? else {
                    return Ok(Err(PdsError::ReportNotFound(format!(
                        "Report {id} not found"
                    ))));
                };
                let mut report: ReportRow = rows::decode(bytes.value())?;
                drop(bytes);
                if report.state == ReportState::Resolved {
                    return Ok(Ok(report));
                }
                let mut by_state = txn.open_table(REPORTS_BY_STATE)?;
                by_state.remove((report.state.byte(), id))?;
                report.state = ReportState::Resolved;
                report.resolved_at = Some(resolved_at);
                report.resolution = resolution;
                by_state.insert((report.state.byte(), id), ())?;
                reports.insert(id, rows::encode(&report)?.as_slice())?;
                Ok(Ok(report))
            })
            .await
    }
}

/// Report ids under `key` in a `(text, id)` index, newest first, below `upper`.
fn ids_desc(
    txn: &impl Reads,
    table: redb::TableDefinition<(&'static str, u64), ()>,
    key: &str,
    upper: u64,
) -> Result<Vec<u64>, PdsError> {
    let Some(t) = txn.table(table)? else {
        return Ok(Vec::new());
    };
    let ids = t
        .range((key, 0)..(key, upper))?
        .rev()
        .take(MAX_SCAN)
        .map(|r| r.map(|(k, _)| k.value().1))
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subjects_follow_the_lexicon_union() {
        let repo = parse_subject(Some(
            &json!({"$type": REPO_REF, "did": "did:plc:abcdefghijklmnopqrstuvwx"}),
        ))
        .unwrap();
        assert_eq!(repo.key(), "did:plc:abcdefghijklmnopqrstuvwx");
        let uri = "at://did:plc:abcdefghijklmnopqrstuvwx/app.bsky.feed.post/3k2a";
        let cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
        let record =
            parse_subject(Some(&json!({"$type": STRONG_REF, "uri": uri, "cid": cid}))).unwrap();
        assert_eq!(record.key(), uri);
        assert_eq!(subject_did(&record), "did:plc:abcdefghijklmnopqrstuvwx");
        for bad in [
            json!({"did": "did:plc:abcdefghijklmnopqrstuvwx"}),
            json!({"$type": REPO_REF, "did": "alice.test"}),
            json!({"$type": STRONG_REF, "uri": uri}),
            json!({"$type": STRONG_REF, "uri": uri, "cid": "nope"}),
            json!({"$type": STRONG_REF, "uri": "at://alice.test/app.bsky.feed.post/3k2a", "cid": cid}),
            json!({"$type": STRONG_REF, "uri": "at://did:plc:abcdefghijklmnopqrstuvwx", "cid": cid}),
            json!({"$type": "chat.bsky.convo.defs#messageRef", "did": "did:plc:x"}),
            json!("did:plc:abcdefghijklmnopqrstuvwx"),
        ] {
            assert!(parse_subject(Some(&bad)).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn reason_types_and_reasons() {
        for ok in [
            "com.atproto.moderation.defs#reasonSpam",
            "tools.ozone.report.defs#reasonMisleadingBot",
        ] {
            assert_eq!(parse_reason_type(Some(&json!(ok))).unwrap(), ok);
        }
        for bad in [
            json!("spam"),
            json!("com.atproto.moderation.defs#"),
            json!(3),
        ] {
            assert!(parse_reason_type(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_reason_type(None).is_err());
        assert_eq!(parse_reason(None).unwrap(), None);
        assert!(parse_reason(Some(&json!("é".repeat(2000)))).is_ok());
        assert!(parse_reason(Some(&json!("é".repeat(2001)))).is_err());
        assert!(parse_reason(Some(&json!("a".repeat(20_001)))).is_err());
        // Many code points, few graphemes: within the limit.
        let family = "👨\u{200d}👩\u{200d}👧";
        assert!(parse_reason(Some(&json!(family.repeat(1000)))).is_ok());
    }
}
