//! What the indexer reads out of `app.bsky.*` records: a small typed summary of each record kind,
//! taken from the decoded data-model value. Pure functions; a record that lacks a required field
//! is refused (`None`) and is not indexed, as the reference App View skips records that fail its
//! lexicon parse.
//!
//! Lexicons: `app.bsky.feed.post`, `app.bsky.feed.like`, `app.bsky.feed.repost`,
//! `app.bsky.graph.follow`, `app.bsky.graph.block`, `app.bsky.graph.list`, `app.bsky.graph.listitem`,
//! `app.bsky.graph.listblock`, `app.bsky.graph.starterpack`, `app.bsky.feed.generator`,
//! `app.bsky.feed.threadgate`, `app.bsky.feed.postgate`, `app.bsky.actor.profile`,
//! `app.bsky.labeler.service`, `app.bsky.richtext.facet` (in `../shared/lexicons/app/bsky/`).

use cid::Cid;

use crate::core::data::{BlobRef, Value};
use crate::core::syntax::{AtUri, Datetime, Did};

pub const POST: &str = "app.bsky.feed.post";
pub const LIKE: &str = "app.bsky.feed.like";
pub const REPOST: &str = "app.bsky.feed.repost";
pub const FOLLOW: &str = "app.bsky.graph.follow";
pub const BLOCK: &str = "app.bsky.graph.block";
pub const LIST: &str = "app.bsky.graph.list";
pub const LIST_ITEM: &str = "app.bsky.graph.listitem";
pub const LIST_BLOCK: &str = "app.bsky.graph.listblock";
pub const STARTER_PACK: &str = "app.bsky.graph.starterpack";
pub const GENERATOR: &str = "app.bsky.feed.generator";
pub const THREADGATE: &str = "app.bsky.feed.threadgate";
pub const POSTGATE: &str = "app.bsky.feed.postgate";
pub const PROFILE: &str = "app.bsky.actor.profile";
pub const LABELER: &str = "app.bsky.labeler.service";

/// Every collection the App View indexes.
pub const INDEXED: &[&str] = &[
    POST,
    LIKE,
    REPOST,
    FOLLOW,
    BLOCK,
    LIST,
    LIST_ITEM,
    LIST_BLOCK,
    STARTER_PACK,
    GENERATOR,
    THREADGATE,
    POSTGATE,
    PROFILE,
    LABELER,
];

/// A reference to a record by its parts, from an `at://did/collection/rkey` URI.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UriParts {
    pub did: String,
    pub collection: String,
    pub rkey: String,
}

impl UriParts {
    /// The parts of a record URI whose authority is a DID (handles are refused: records must
    /// point at DIDs to be followed reliably).
    pub fn parse(uri: &str) -> Option<UriParts> {
        let parsed = AtUri::parse(uri).ok()?;
        let did = parsed.authority_str();
        Did::parse(did).ok()?;
        Some(UriParts {
            did: did.to_owned(),
            collection: parsed.collection_str()?.to_owned(),
            rkey: parsed.rkey_str()?.to_owned(),
        })
    }

    pub fn uri(&self) -> String {
        format!("at://{}/{}/{}", self.did, self.collection, self.rkey)
    }
}

/// A `com.atproto.repo.strongRef`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrongRef {
    pub uri: UriParts,
    pub cid: String,
}

fn strong_ref(value: Option<&Value>) -> Option<StrongRef> {
    let value = value?;
    let uri = UriParts::parse(value.get("uri")?.as_str()?)?;
    let cid = value.get("cid")?.as_str()?.to_owned();
    Some(StrongRef { uri, cid })
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn datetime_micros(value: &Value, key: &str) -> Option<i64> {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| Datetime::parse(s).ok())
        .map(|d| d.to_unix_micros())
}

fn blob_cid(value: Option<&Value>) -> Option<Cid> {
    value
        .and_then(|v| BlobRef::from_value(v).ok())
        .map(|b| b.cid)
}

fn did(value: &Value, key: &str) -> Option<String> {
    let text = value.get(key)?.as_str()?;
    Did::parse(text).ok().map(|d| d.as_str().to_owned())
}

/// The self-label values of a record (`labels: com.atproto.label.defs#selfLabels`).
pub fn self_labels(record: &Value) -> Vec<String> {
    let Some(labels) = record.get("labels") else {
        return Vec::new();
    };
    if labels.type_name() != Some("com.atproto.label.defs#selfLabels") {
        return Vec::new();
    }
    labels
        .get("values")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.get("val").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The record an embed points at (`app.bsky.embed.record`, or the record half of
/// `recordWithMedia`).
fn embedded_record(embed: &Value) -> Option<StrongRef> {
    match embed.type_name()? {
        "app.bsky.embed.record" => strong_ref(embed.get("record")),
        "app.bsky.embed.recordWithMedia" => strong_ref(embed.get("record")?.get("record")),
        _ => None,
    }
}

/// The media part of an embed (the embed itself, or the media half of `recordWithMedia`).
fn embedded_media(embed: &Value) -> Option<&Value> {
    match embed.type_name()? {
        "app.bsky.embed.recordWithMedia" => embed.get("media"),
        "app.bsky.embed.record" => None,
        _ => Some(embed),
    }
}

/// Media kinds a post carries, for author-feed filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Media {
    pub images: bool,
    pub video: bool,
    pub external: bool,
}

/// What indexing needs from a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub created_at: i64,
    pub reply_root: Option<StrongRef>,
    pub reply_parent: Option<StrongRef>,
    /// The record an `app.bsky.embed.record` (or recordWithMedia) embeds.
    pub embed_record: Option<StrongRef>,
    pub media: Media,
    /// DIDs named by mention facets, in order, without duplicates.
    pub mentions: Vec<String>,
    /// URIs of link facets and external embeds.
    pub links: Vec<String>,
    /// Tags from tag facets and the `tags` field, lowercased.
    pub tags: Vec<String>,
    pub langs: Vec<String>,
}

pub fn post(record: &Value) -> Option<Post> {
    let text = string(record, "text")?;
    let created_at = datetime_micros(record, "createdAt")?;
    let (reply_root, reply_parent) = match record.get("reply") {
        Some(reply) => (
            Some(strong_ref(reply.get("root"))?),
            Some(strong_ref(reply.get("parent"))?),
        ),
        None => (None, None),
    };
    let embed = record.get("embed");
    let embed_record = embed.and_then(embedded_record);
    let mut media = Media::default();
    let mut links = Vec::new();
    if let Some(m) = embed.and_then(embedded_media) {
        match m.type_name() {
            Some("app.bsky.embed.images" | "app.bsky.embed.gallery") => media.images = true,
            Some("app.bsky.embed.video") => media.video = true,
            Some("app.bsky.embed.external") => {
                media.external = true;
                if let Some(uri) = m
                    .get("external")
                    .and_then(|e| e.get("uri"))
                    .and_then(Value::as_str)
                {
                    links.push(uri.to_owned());
                }
            }
            _ => {}
        }
    }
    let mut mentions: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for facet in record
        .get("facets")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        for feature in facet
            .get("features")
            .and_then(Value::as_list)
            .unwrap_or_default()
        {
            match feature.type_name() {
                Some("app.bsky.richtext.facet#mention") => {
                    if let Some(d) = did(feature, "did")
                        && !mentions.contains(&d)
                    {
                        mentions.push(d);
                    }
                }
                Some("app.bsky.richtext.facet#link") => {
                    if let Some(uri) = string(feature, "uri") {
                        links.push(uri);
                    }
                }
                Some("app.bsky.richtext.facet#tag") => {
                    if let Some(tag) = string(feature, "tag") {
                        tags.push(tag.to_lowercase());
                    }
                }
                _ => {}
            }
        }
    }
    for tag in record
        .get("tags")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        if let Some(tag) = tag.as_str() {
            tags.push(tag.to_lowercase());
        }
    }
    tags.sort();
    tags.dedup();
    let langs = record
        .get("langs")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.as_str().map(str::to_owned))
        .collect();
    Some(Post {
        text,
        created_at,
        reply_root,
        reply_parent,
        embed_record,
        media,
        mentions,
        links,
        tags,
        langs,
    })
}

/// A like or a repost: its subject and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub subject: StrongRef,
    pub created_at: i64,
}

pub fn interaction(record: &Value) -> Option<Interaction> {
    Some(Interaction {
        subject: strong_ref(record.get("subject"))?,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// A follow or a block: the subject DID and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub subject: String,
    pub created_at: i64,
}

pub fn edge(record: &Value) -> Option<Edge> {
    Some(Edge {
        subject: did(record, "subject")?,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// An `app.bsky.graph.list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    pub name: String,
    pub purpose: String,
    pub created_at: i64,
}

pub fn list(record: &Value) -> Option<List> {
    Some(List {
        name: string(record, "name")?,
        purpose: string(record, "purpose")?,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// An `app.bsky.graph.listitem`: who is added to which list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    pub subject: String,
    pub list: UriParts,
    pub created_at: i64,
}

pub fn list_item(record: &Value) -> Option<ListItem> {
    let list = UriParts::parse(record.get("list")?.as_str()?)?;
    (list.collection == LIST).then_some(())?;
    Some(ListItem {
        subject: did(record, "subject")?,
        list,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// An `app.bsky.graph.listblock`: subscribing to a moderation list as a block.
pub fn list_block(record: &Value) -> Option<(UriParts, i64)> {
    let list = UriParts::parse(record.get("subject")?.as_str()?)?;
    (list.collection == LIST).then_some(())?;
    Some((list, datetime_micros(record, "createdAt")?))
}

/// An `app.bsky.graph.starterpack`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StarterPack {
    pub name: String,
    pub list: UriParts,
    pub created_at: i64,
}

pub fn starter_pack(record: &Value) -> Option<StarterPack> {
    Some(StarterPack {
        name: string(record, "name")?,
        list: UriParts::parse(record.get("list")?.as_str()?)?,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// An `app.bsky.feed.generator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    pub did: String,
    pub display_name: String,
    pub created_at: i64,
}

pub fn generator(record: &Value) -> Option<Generator> {
    Some(Generator {
        did: did(record, "did")?,
        display_name: string(record, "displayName")?,
        created_at: datetime_micros(record, "createdAt")?,
    })
}

/// Who may reply under an `app.bsky.feed.threadgate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Threadgate {
    pub post: Option<UriParts>,
    /// `None`: no `allow` field (anyone may reply); `Some(empty)`: nobody but the author.
    pub allow: Option<Vec<GateRule>>,
    pub hidden_replies: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateRule {
    Mention,
    Follower,
    Following,
    List(UriParts),
}

pub fn threadgate(record: &Value) -> Option<Threadgate> {
    let post = UriParts::parse(record.get("post")?.as_str()?)?;
    datetime_micros(record, "createdAt")?;
    let allow = record.get("allow").and_then(Value::as_list).map(|rules| {
        rules
            .iter()
            .filter_map(|rule| match rule.type_name()? {
                "app.bsky.feed.threadgate#mentionRule" => Some(GateRule::Mention),
                "app.bsky.feed.threadgate#followerRule" => Some(GateRule::Follower),
                "app.bsky.feed.threadgate#followingRule" => Some(GateRule::Following),
                "app.bsky.feed.threadgate#listRule" => rule
                    .get("list")
                    .and_then(Value::as_str)
                    .and_then(UriParts::parse)
                    .map(GateRule::List),
                _ => None,
            })
            .collect()
    });
    let hidden_replies = record
        .get("hiddenReplies")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Some(Threadgate {
        post: Some(post),
        allow,
        hidden_replies,
    })
}

/// Who may quote a post under an `app.bsky.feed.postgate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Postgate {
    pub embedding_disabled: bool,
    pub detached: Vec<String>,
}

pub fn postgate(record: &Value) -> Option<Postgate> {
    UriParts::parse(record.get("post")?.as_str()?)?;
    datetime_micros(record, "createdAt")?;
    let embedding_disabled = record
        .get("embeddingRules")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .any(|r| r.type_name() == Some("app.bsky.feed.postgate#disableRule"));
    let detached = record
        .get("detachedEmbeddingUris")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Some(Postgate {
        embedding_disabled,
        detached,
    })
}

/// The fields of an `app.bsky.actor.profile` that views show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub pronouns: Option<String>,
    pub website: Option<String>,
    pub avatar: Option<Cid>,
    pub banner: Option<Cid>,
    pub created_at: Option<i64>,
    pub created_at_text: Option<String>,
    pub pinned_post: Option<StrongRef>,
    pub joined_via_starter_pack: Option<StrongRef>,
    pub self_labels: Vec<String>,
}

pub fn profile(record: &Value) -> Option<Profile> {
    record.as_map()?;
    let created_at_text = record
        .get("createdAt")
        .and_then(Value::as_str)
        .filter(|s| Datetime::parse(s).is_ok())
        .map(str::to_owned);
    Some(Profile {
        display_name: string(record, "displayName"),
        description: string(record, "description"),
        pronouns: string(record, "pronouns"),
        website: string(record, "website"),
        avatar: blob_cid(record.get("avatar")),
        banner: blob_cid(record.get("banner")),
        created_at: datetime_micros(record, "createdAt"),
        created_at_text,
        pinned_post: strong_ref(record.get("pinnedPost")),
        joined_via_starter_pack: strong_ref(record.get("joinedViaStarterPack")),
        self_labels: self_labels(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::from_json;
    use serde_json::json;

    fn value(j: serde_json::Value) -> Value {
        from_json(&j).unwrap()
    }

    const ALICE: &str = "did:plc:alice00000000000000000000";
    const BOB: &str = "did:plc:bob0000000000000000000000";

    #[test]
    fn a_reply_with_facets_and_a_quote() {
        let root = format!("at://{ALICE}/app.bsky.feed.post/3k2a");
        let quoted = format!("at://{BOB}/app.bsky.feed.post/3k2b");
        let record = value(json!({
            "$type": "app.bsky.feed.post",
            "text": "hi @bob #Rust",
            "createdAt": "2024-01-01T00:00:00.000Z",
            "reply": {"root": {"uri": root, "cid": "bafyrei"}, "parent": {"uri": root, "cid": "bafyrei"}},
            "facets": [
                {"index": {"byteStart": 3, "byteEnd": 7}, "features": [
                    {"$type": "app.bsky.richtext.facet#mention", "did": BOB},
                    {"$type": "app.bsky.richtext.facet#mention", "did": BOB}]},
                {"index": {"byteStart": 8, "byteEnd": 13}, "features": [
                    {"$type": "app.bsky.richtext.facet#tag", "tag": "Rust"}]},
                {"index": {"byteStart": 0, "byteEnd": 2}, "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/x"}]}
            ],
            "embed": {"$type": "app.bsky.embed.recordWithMedia",
                "record": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafyreib"}},
                "media": {"$type": "app.bsky.embed.images", "images": []}},
            "langs": ["en"],
            "tags": ["rust", "atproto"]
        }));
        let post = post(&record).unwrap();
        assert_eq!(post.reply_root.as_ref().unwrap().uri.did, ALICE);
        assert_eq!(post.reply_parent.as_ref().unwrap().uri.rkey, "3k2a");
        assert_eq!(post.embed_record.as_ref().unwrap().uri.did, BOB);
        assert!(post.media.images && !post.media.video);
        assert_eq!(post.mentions, vec![BOB.to_owned()]);
        assert_eq!(post.links, vec!["https://example.com/x".to_owned()]);
        assert_eq!(post.tags, vec!["atproto".to_owned(), "rust".to_owned()]);
        assert_eq!(post.langs, vec!["en".to_owned()]);
        assert_eq!(post.created_at, 1_704_067_200_000_000);
    }

    #[test]
    fn records_missing_required_fields_are_refused() {
        assert!(post(&value(json!({"text": "x"}))).is_none());
        assert!(post(&value(json!({"text": "x", "createdAt": "yesterday"}))).is_none());
        assert!(
            post(&value(
                json!({"text": "x", "createdAt": "2024-01-01T00:00:00Z",
            "reply": {"root": {"uri": "at://a/b/c", "cid": "x"}}})
            ))
            .is_none()
        );
        assert!(
            edge(&value(
                json!({"subject": "bob", "createdAt": "2024-01-01T00:00:00Z"})
            ))
            .is_none()
        );
        assert!(
            interaction(&value(
                json!({"subject": {"uri": "https://x"}, "createdAt": "2024-01-01T00:00:00Z"})
            ))
            .is_none()
        );
    }

    #[test]
    fn gates() {
        let post_uri = format!("at://{ALICE}/app.bsky.feed.post/3k2a");
        let list_uri = format!("at://{ALICE}/app.bsky.graph.list/3k2l");
        let gate = threadgate(&value(json!({
            "post": post_uri, "createdAt": "2024-01-01T00:00:00Z",
            "allow": [{"$type": "app.bsky.feed.threadgate#followingRule"},
                      {"$type": "app.bsky.feed.threadgate#listRule", "list": list_uri}],
            "hiddenReplies": ["at://x/app.bsky.feed.post/1"]
        })))
        .unwrap();
        assert_eq!(gate.allow.as_ref().unwrap().len(), 2);
        assert_eq!(gate.hidden_replies.len(), 1);
        let open = threadgate(&value(
            json!({"post": post_uri, "createdAt": "2024-01-01T00:00:00Z"}),
        ))
        .unwrap();
        assert!(open.allow.is_none());
        let pg = postgate(&value(json!({
            "post": post_uri, "createdAt": "2024-01-01T00:00:00Z",
            "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}]
        })))
        .unwrap();
        assert!(pg.embedding_disabled);
    }

    #[test]
    fn profiles_and_self_labels() {
        let p = profile(&value(json!({
            "$type": "app.bsky.actor.profile",
            "displayName": "Alice",
            "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]},
            "createdAt": "2024-01-01T00:00:00.000Z"
        })))
        .unwrap();
        assert_eq!(p.display_name.as_deref(), Some("Alice"));
        assert_eq!(p.self_labels, vec!["nudity".to_owned()]);
        assert!(p.avatar.is_none());
    }
}
