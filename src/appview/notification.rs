//! `app.bsky.notification.*`: listNotifications, getUnreadCount, updateSeen, and registerPush /
//! unregisterPush (tokens are kept; skyhold sends no pushes).
//!
//! Notifications are written at indexing time (`index/`): likes and reposts of the recipient's
//! records, follows, mentions, replies to the recipient's posts (parent and root authors), and
//! quotes. Reading them leaves out those from accounts the viewer blocks or mutes, from hidden
//! accounts, and posts in threads the viewer muted, as the reference does, and those the
//! recipient's preferences leave out (`notification_prefs`: `priority`, and per category `list`
//! and `include`). `isRead` compares the notification time with the last `updateSeen` time.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::hydrate::{Ctx, datetime, self_labels};
use super::index::{Index, RKEY_MAX};
use super::kind::{NOTIF_POST, notif_collection};
use super::notification_prefs;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, NotificationPrefsRow, NotificationRow, Reason, RefRow};
use super::{Appview, AppviewError, cursor};
use crate::core::data;
use crate::core::syntax::Datetime;

/// Most notifications examined for one page or one unread count.
const MAX_SCAN: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListNotificationsParams {
    #[serde(default)]
    pub reasons: Vec<String>,
    pub limit: Option<u32>,
    pub priority: Option<bool>,
    pub cursor: Option<String>,
    pub seen_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCountParams {
    pub priority: Option<bool>,
    pub seen_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSeenInput {
    pub seen_at: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushInput {
    pub service_did: String,
    pub token: String,
    pub platform: String,
    pub app_id: String,
}

/// One stored notification.
struct Stored {
    sort_at: u64,
    author: u64,
    code: u8,
    rkey: String,
    row: NotificationRow,
}

fn seen_micros(t: &Tables, me: u64, given: Option<&str>) -> Result<Option<u64>, AppviewError> {
    if let Some(text) = given {
        let parsed = Datetime::parse(text)
            .map_err(|e| AppviewError::InvalidRequest(format!("invalid seenAt: {e}")))?;
        return Ok(Some(u64::try_from(parsed.to_unix_micros()).unwrap_or(0)));
    }
    Ok(t.notification_seen.table()?.get(me)?.map(|v| v.value()))
}

/// What the recipient asked to see: `priority` (only from followed accounts) and the per-category
/// preferences.
struct Wanted {
    priority: bool,
    prefs: NotificationPrefsRow,
}

/// Whether a notification is left out for its recipient.
fn skipped(ctx: &Ctx<'_>, n: &Stored, wanted: &Wanted) -> Result<bool, AppviewError> {
    let Some(viewer) = &ctx.viewer else {
        return Ok(true);
    };
    let Some(reason) = Reason::from_byte(n.row.reason) else {
        return Ok(true);
    };
    let pref = notification_prefs::category(&wanted.prefs, reason);
    if !pref.list {
        return Ok(true);
    }
    if ctx.visible_actor(n.author)?.is_none() {
        return Ok(true);
    }
    let rel = viewer.relationship(ctx.t, n.author)?;
    if rel.block_exists() || rel.mute_exists() {
        return Ok(true);
    }
    if (wanted.priority || pref.follows_only) && rel.following.is_none() {
        return Ok(true);
    }
    // A notification about a post that is gone (deleted, taken down, hidden) goes with it.
    if let Some(subject) = &n.row.reason_subject
        && let Some((collection, post)) = read::ref_of_uri(ctx.t, subject)?
        && collection == records::POST
        && ctx.post_view(&post, 2)?.is_none()
    {
        return Ok(true);
    }
    if n.code == NOTIF_POST {
        let post = RefRow {
            actor: n.author,
            rkey: n.rkey.clone(),
        };
        let Some(row) = read::post_row(ctx.t, &post)? else {
            return Ok(true);
        };
        let root = read::root_of(&post, &row);
        if ctx
            .t
            .thread_mutes
            .table()?
            .get((viewer.id, root.actor, root.rkey.as_str()))?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Appview {
    pub async fn list_notifications(
        &self,
        viewer: String,
        params: ListNotificationsParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok(json!({"notifications": []}));
            };
            let reasons: Vec<Reason> = params
                .reasons
                .iter()
                .filter_map(|r| Reason::parse(r))
                .collect();
            let prefs = notification_prefs::load(t, me)?;
            let wanted = Wanted {
                priority: params.priority.unwrap_or(prefs.priority),
                prefs,
            };
            let priority = wanted.priority;
            let seen = seen_micros(t, me, params.seen_at.as_deref())?;
            let limit = cursor::limit(params.limit, 50);
            let before = cursor::parse::<3>(params.cursor.as_deref())?;
            let upper = match &before {
                Some(([sort_at, author, code], rkey)) => (
                    me,
                    *sort_at,
                    *author,
                    u8::try_from(*code).unwrap_or(u8::MAX),
                    rkey.clone(),
                ),
                None => (me, u64::MAX, u64::MAX, u8::MAX, RKEY_MAX.to_owned()),
            };
            let mut out = Vec::new();
            let mut next = None;
            for row in t
                .notifications
                .table()?
                .range((me, 0, 0, 0, "")..(upper.0, upper.1, upper.2, upper.3, upper.4.as_str()))?
                .rev()
                .take(MAX_SCAN)
            {
                let (k, v) = row?;
                let (_, sort_at, author, code, rkey) = k.value();
                next = Some(cursor::encode(&[sort_at, author, u64::from(code)], rkey));
                let stored = Stored {
                    sort_at,
                    author,
                    code,
                    rkey: rkey.to_owned(),
                    row: rows::decode(v.value())?,
                };
                let Some(reason) = Reason::from_byte(stored.row.reason) else {
                    continue;
                };
                if !reasons.is_empty() && !reasons.contains(&reason) {
                    continue;
                }
                if skipped(&ctx, &stored, &wanted)? {
                    continue;
                }
                if let Some(view) = notification_view(&ctx, &stored, reason, seen)? {
                    out.push(view);
                }
                if out.len() >= limit {
                    break;
                }
            }
            if out.len() < limit {
                next = None;
            }
            let mut body = json!({"notifications": out, "priority": priority});
            if let Some(n) = next {
                body["cursor"] = json!(n);
            }
            if let Some(seen) = t.notification_seen.table()?.get(me)? {
                body["seenAt"] = json!(datetime(seen.value()));
            }
            Ok(body)
        })
        .await
    }

    pub async fn unread_count(
        &self,
        viewer: String,
        params: UnreadCountParams,
    ) -> Result<Json, AppviewError> {
        let config = self.config().clone();
        self.read_view(move |t| {
            let ctx = Ctx::new(t, &config, Some(&viewer))?;
            let Some(me) = ctx.viewer_id() else {
                return Ok(json!({"count": 0}));
            };
            let seen = seen_micros(t, me, params.seen_at.as_deref())?.unwrap_or(0);
            let prefs = notification_prefs::load(t, me)?;
            let wanted = Wanted {
                priority: params.priority.unwrap_or(prefs.priority),
                prefs,
            };
            let mut count = 0u64;
            for row in t
                .notifications
                .table()?
                .range(
                    (me, seen.saturating_add(1), 0, 0, "")
                        ..=(me, u64::MAX, u64::MAX, u8::MAX, RKEY_MAX),
                )?
                .rev()
                .take(MAX_SCAN)
            {
                let (k, v) = row?;
                let (_, sort_at, author, code, rkey) = k.value();
                let stored = Stored {
                    sort_at,
                    author,
                    code,
                    rkey: rkey.to_owned(),
                    row: rows::decode(v.value())?,
                };
                if !skipped(&ctx, &stored, &wanted)? {
                    count += 1;
                }
            }
            Ok(json!({"count": count}))
        })
        .await
    }

    pub async fn update_seen(
        &self,
        viewer: String,
        input: UpdateSeenInput,
    ) -> Result<(), AppviewError> {
        let seen = Datetime::parse(&input.seen_at)
            .map_err(|e| AppviewError::InvalidRequest(format!("invalid seenAt: {e}")))?;
        let seen = u64::try_from(seen.to_unix_micros()).unwrap_or(0);
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                ix.t.notification_seen.table_mut()?.insert(me, seen)?;
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }

    /// registerPush (`register == true`) and unregisterPush: the token is kept per account.
    pub async fn set_push_token(
        &self,
        viewer: String,
        input: PushInput,
        register: bool,
    ) -> Result<(), AppviewError> {
        if !matches!(input.platform.as_str(), "ios" | "android" | "web") {
            return Err(AppviewError::InvalidRequest(
                "invalid platform: must be one of ios, android, web".into(),
            ));
        }
        crate::core::syntax::Did::parse(&input.service_did)
            .map_err(|e| AppviewError::InvalidRequest(format!("invalid serviceDid: {e}")))?;
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                let key = (me, input.service_did.as_str(), input.token.as_str());
                if register {
                    let value = format!("{} {}", input.platform, input.app_id);
                    ix.t.push_tokens
                        .table_mut()?
                        .insert(key, value.as_bytes())?;
                } else {
                    ix.t.push_tokens.table_mut()?.remove(key)?;
                }
                Ok(Ok::<_, AppviewError>(()))
            })
            .await
    }
}

/// `app.bsky.notification.listNotifications#notification`.
fn notification_view(
    ctx: &Ctx<'_>,
    n: &Stored,
    reason: Reason,
    seen: Option<u64>,
) -> Result<Option<Json>, AppviewError> {
    let Some(author) = ctx.profile_view(n.author)? else {
        return Ok(None);
    };
    let Some(did) = read::did_of(ctx.t, n.author)? else {
        return Ok(None);
    };
    let collection = notif_collection(n.code);
    let uri = format!("at://{did}/{collection}/{}", n.rkey);
    let (record, cid) = if n.code == NOTIF_POST {
        let Some(row) = read::post_row(
            ctx.t,
            &RefRow {
                actor: n.author,
                rkey: n.rkey.clone(),
            },
        )?
        else {
            return Ok(None);
        };
        (row.record, row.cid)
    } else {
        (n.row.record.clone(), n.row.cid)
    };
    let Ok(value) = data::decode_value(&record) else {
        return Ok(None);
    };
    let mut labels = ctx.labels_on(&uri)?;
    if ctx.record_taken_down(&uri, &labels)? {
        return Ok(None);
    }
    let cts = value
        .get("createdAt")
        .and_then(|v| v.as_str())
        .unwrap_or("1970-01-01T00:00:00.000Z")
        .to_owned();
    labels.extend(self_labels(
        &did,
        &uri,
        &cid,
        &records::self_labels(&value),
        &cts,
    ));
    let mut out = json!({
        "uri": uri,
        "cid": cid.to_string(),
        "author": author,
        "reason": reason.name(),
        "record": data::to_json(&value),
        "isRead": seen.is_some_and(|s| s > n.sort_at),
        "indexedAt": datetime(n.sort_at),
        "labels": labels,
    });
    if let Some(subject) = &n.row.reason_subject {
        out["reasonSubject"] = json!(subject);
    }
    Ok(Some(out))
}
