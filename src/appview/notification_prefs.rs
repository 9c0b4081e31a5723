//! Notification preferences: `app.bsky.notification.getPreferences` / `putPreferencesV2` (per
//! category: shown in the list or not, pushed or not, from everyone or only from accounts the
//! recipient follows) and the legacy `putPreferences` (`priority`: only notifications from
//! followed accounts, by default).
//!
//! As in the reference App View (`packages/bsky/src/api/app/bsky/notification/`): missing
//! preferences read as everything from everyone; a V2 put replaces the categories it names and
//! keeps the others; `chat` is deprecated and always reads as its default; an `include` value
//! other than `follows` reads as `all`; the stored `priority` is what listNotifications and
//! getUnreadCount use when the caller does not say. Where skyhold goes further: it applies `list`
//! and `include` when listing and counting notifications, which the open-source reference stores
//! but leaves to Bluesky's private services (docs/BEHAVIORS.md). Pushes are never sent, so `push`
//! is only kept.
//!
//! Lexicons: `app.bsky.notification.defs`, `getPreferences`, `putPreferences`, `putPreferencesV2`.

use redb::ReadableTable;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::index::Index;
use super::read::Tables;
use super::rows::{self, FilterablePref, NotificationPrefsRow, Reason, SimplePref};
use super::{Appview, AppviewError};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutPriorityInput {
    pub priority: bool,
}

/// The stored preferences of an account, or the defaults.
pub fn load(t: &Tables, actor: u64) -> Result<NotificationPrefsRow, AppviewError> {
    Ok(t.notification_prefs
        .table()?
        .get(actor)?
        .map(|v| rows::decode(v.value()))
        .transpose()?
        .unwrap_or_default())
}

/// The category of a notification reason skyhold produces.
pub fn category(prefs: &NotificationPrefsRow, reason: Reason) -> FilterablePref {
    match reason {
        Reason::Like => prefs.like,
        Reason::Repost => prefs.repost,
        Reason::Follow => prefs.follow,
        Reason::Mention => prefs.mention,
        Reason::Reply => prefs.reply,
        Reason::Quote => prefs.quote,
    }
}

fn filterable_json(p: FilterablePref) -> Json {
    json!({
        "include": if p.follows_only { "follows" } else { "all" },
        "list": p.list,
        "push": p.push,
    })
}

fn simple_json(p: SimplePref) -> Json {
    json!({"list": p.list, "push": p.push})
}

/// `app.bsky.notification.defs#preferences`.
pub fn preferences_json(p: &NotificationPrefsRow) -> Json {
    json!({
        "chat": {"include": "all", "push": true},
        "follow": filterable_json(p.follow),
        "like": filterable_json(p.like),
        "likeViaRepost": filterable_json(p.like_via_repost),
        "mention": filterable_json(p.mention),
        "quote": filterable_json(p.quote),
        "reply": filterable_json(p.reply),
        "repost": filterable_json(p.repost),
        "repostViaRepost": filterable_json(p.repost_via_repost),
        "starterpackJoined": simple_json(p.starterpack_joined),
        "subscribedPost": simple_json(p.subscribed_post),
        "unverified": simple_json(p.unverified),
        "verified": simple_json(p.verified),
    })
}

fn bad(message: String) -> AppviewError {
    AppviewError::InvalidRequest(message)
}

/// One object of the input, with its required fields typed as the lexicon says.
fn object<'a>(
    input: &'a Map<String, Json>,
    name: &str,
) -> Result<Option<&'a Map<String, Json>>, AppviewError> {
    match input.get(name) {
        None => Ok(None),
        Some(Json::Object(o)) => Ok(Some(o)),
        Some(_) => Err(bad(format!("Input/{name} must be an object"))),
    }
}

fn boolean(o: &Map<String, Json>, object: &str, field: &str) -> Result<bool, AppviewError> {
    match o.get(field) {
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("Input/{object}/{field} must be a boolean"))),
        None => Err(bad(format!(
            "Input/{object} must have the property \"{field}\""
        ))),
    }
}

fn string<'a>(
    o: &'a Map<String, Json>,
    object: &str,
    field: &str,
) -> Result<&'a str, AppviewError> {
    match o.get(field) {
        Some(Json::String(s)) => Ok(s),
        Some(_) => Err(bad(format!("Input/{object}/{field} must be a string"))),
        None => Err(bad(format!(
            "Input/{object} must have the property \"{field}\""
        ))),
    }
}

fn put_filterable(
    input: &Map<String, Json>,
    name: &str,
    slot: &mut FilterablePref,
) -> Result<(), AppviewError> {
    if let Some(o) = object(input, name)? {
        *slot = FilterablePref {
            follows_only: string(o, name, "include")? == "follows",
            list: boolean(o, name, "list")?,
            push: boolean(o, name, "push")?,
        };
    }
    Ok(())
}

fn put_simple(
    input: &Map<String, Json>,
    name: &str,
    slot: &mut SimplePref,
) -> Result<(), AppviewError> {
    if let Some(o) = object(input, name)? {
        *slot = SimplePref {
            list: boolean(o, name, "list")?,
            push: boolean(o, name, "push")?,
        };
    }
    Ok(())
}

/// Applies a putPreferencesV2 input to `prefs`: the categories it names replace the stored ones.
pub fn apply_v2(prefs: &mut NotificationPrefsRow, input: &Json) -> Result<(), AppviewError> {
    let input = input
        .as_object()
        .ok_or_else(|| bad("Input must be an object".into()))?;
    // Deprecated and never stored, but still checked against its schema.
    if let Some(chat) = object(input, "chat")? {
        string(chat, "chat", "include")?;
        boolean(chat, "chat", "push")?;
    }
    put_filterable(input, "follow", &mut prefs.follow)?;
    put_filterable(input, "like", &mut prefs.like)?;
    put_filterable(input, "likeViaRepost", &mut prefs.like_via_repost)?;
    put_filterable(input, "mention", &mut prefs.mention)?;
    put_filterable(input, "quote", &mut prefs.quote)?;
    put_filterable(input, "reply", &mut prefs.reply)?;
    put_filterable(input, "repost", &mut prefs.repost)?;
    put_filterable(input, "repostViaRepost", &mut prefs.repost_via_repost)?;
    put_simple(input, "starterpackJoined", &mut prefs.starterpack_joined)?;
    put_simple(input, "subscribedPost", &mut prefs.subscribed_post)?;
    put_simple(input, "unverified", &mut prefs.unverified)?;
    put_simple(input, "verified", &mut prefs.verified)?;
    Ok(())
}

impl Appview {
    pub async fn notification_preferences(&self, viewer: String) -> Result<Json, AppviewError> {
        self.read_view(move |t| {
            let prefs = match super::read::actor_id(t, &viewer)? {
                Some(me) => load(t, me)?,
                None => NotificationPrefsRow::default(),
            };
            Ok(json!({"preferences": preferences_json(&prefs)}))
        })
        .await
    }

    /// Changes the viewer's stored preferences with `change`, and returns them.
    async fn update_notification_prefs(
        &self,
        viewer: String,
        change: impl FnOnce(&mut NotificationPrefsRow) -> Result<(), AppviewError> + Send + 'static,
    ) -> Result<NotificationPrefsRow, AppviewError> {
        let now = u64::try_from(crate::clock::now_micros()).unwrap_or(0);
        self.store()
            .write(move |txn| {
                let mut ix = Index::open(txn, now)?;
                let me = ix.actor_id(&viewer)?;
                let mut prefs: NotificationPrefsRow =
                    ix.t.notification_prefs
                        .table()?
                        .get(me)?
                        .map(|v| rows::decode(v.value()))
                        .transpose()?
                        .unwrap_or_default();
                if let Err(e) = change(&mut prefs) {
                    return Ok(Err(e));
                }
                ix.t.notification_prefs
                    .table_mut()?
                    .insert(me, rows::encode(&prefs)?.as_slice())?;
                Ok(Ok(prefs))
            })
            .await
    }

    /// putPreferencesV2: returns the preferences as they now are.
    pub async fn put_notification_preferences(
        &self,
        viewer: String,
        input: Json,
    ) -> Result<Json, AppviewError> {
        // Checked before the write job, so a bad input never queues one.
        apply_v2(&mut NotificationPrefsRow::default(), &input)?;
        let prefs = self
            .update_notification_prefs(viewer, move |prefs| apply_v2(prefs, &input))
            .await?;
        Ok(json!({"preferences": preferences_json(&prefs)}))
    }

    /// The legacy putPreferences: the default of `priority` when listing and counting.
    pub async fn put_notification_priority(
        &self,
        viewer: String,
        input: PutPriorityInput,
    ) -> Result<(), AppviewError> {
        self.update_notification_prefs(viewer, move |prefs| {
            prefs.priority = input.priority;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_everything_from_everyone() {
        let out = preferences_json(&NotificationPrefsRow::default());
        assert_eq!(
            out["like"],
            json!({"include": "all", "list": true, "push": true})
        );
        assert_eq!(out["verified"], json!({"list": true, "push": true}));
        assert_eq!(out["chat"], json!({"include": "all", "push": true}));
    }

    #[test]
    fn a_put_replaces_the_categories_it_names() {
        let mut prefs = NotificationPrefsRow::default();
        apply_v2(
            &mut prefs,
            &json!({"like": {"include": "follows", "list": false, "push": true}}),
        )
        .unwrap();
        apply_v2(
            &mut prefs,
            &json!({"reply": {"include": "something-new", "list": true, "push": false},
                    "chat": {"include": "accepted", "push": false}}),
        )
        .unwrap();
        let out = preferences_json(&prefs);
        assert_eq!(
            out["like"],
            json!({"include": "follows", "list": false, "push": true})
        );
        assert_eq!(
            out["reply"],
            json!({"include": "all", "list": true, "push": false})
        );
        assert_eq!(
            out["chat"],
            json!({"include": "all", "push": true}),
            "chat does not stick"
        );
        assert_eq!(category(&prefs, Reason::Like), prefs.like);
    }

    #[test]
    fn inputs_are_checked_against_the_lexicon() {
        for bad in [
            json!([]),
            json!({"like": true}),
            json!({"like": {"include": "all", "list": true}}),
            json!({"like": {"include": 1, "list": true, "push": true}}),
            json!({"verified": {"list": "yes", "push": true}}),
            json!({"chat": {"include": "all"}}),
        ] {
            let mut prefs = NotificationPrefsRow::default();
            assert!(apply_v2(&mut prefs, &bad).is_err(), "{bad} was accepted");
            assert_eq!(prefs.like, FilterablePref::default());
        }
    }
}
