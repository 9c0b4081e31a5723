//! Rows of the App View's tables: DRISL-encoded structs for records, and fixed-width counters that
//! are rewritten on every like, repost, reply or follow.

use cid::Cid;
use serde::{Deserialize, Serialize};

pub use crate::store::rows::{decode, encode};

/// A record named by (actor id, rkey); its collection is known from the table it sits in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RefRow {
    #[serde(rename = "a")]
    pub actor: u64,
    #[serde(rename = "r")]
    pub rkey: String,
}

/// What the App View knows of an account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ActorRow {
    pub did: String,
    /// The handle, once verified in both directions.
    pub handle: Option<String>,
    /// The PDS endpoint its DID document names (image URLs point at its `getBlob`).
    pub pds: Option<String>,
    /// The upstream status when the account is not active (`deactivated`, `takendown`, ...).
    pub status: Option<String>,
    /// The App View's own takedown, set through `com.atproto.admin.updateSubjectStatus`.
    pub takedown: Option<String>,
    pub profile: Option<ProfileRow>,
    /// When the account was first seen.
    pub indexed_at: u64,
}

/// The `app.bsky.actor.profile` fields that views show.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileRow {
    pub cid: Cid,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub pronouns: Option<String>,
    pub website: Option<String>,
    pub avatar: Option<Cid>,
    pub banner: Option<Cid>,
    pub created_at: Option<String>,
    /// (uri, cid)
    pub pinned_post: Option<(String, String)>,
    /// (uri, cid)
    pub joined_via: Option<(String, String)>,
    pub self_labels: Vec<String>,
    pub indexed_at: u64,
}

/// Post flags.
pub const FLAG_IMAGES: u8 = 1;
pub const FLAG_VIDEO: u8 = 2;
pub const FLAG_EXTERNAL: u8 = 4;
pub const FLAG_REPLY: u8 = 8;
/// A reply whose thread root is the author's own post (author threads).
pub const FLAG_SELF_THREAD: u8 = 16;
pub const FLAG_VIOLATES_THREADGATE: u8 = 32;
pub const FLAG_VIOLATES_EMBEDDING: u8 = 64;
/// The reply's root and parent do not belong to one thread.
pub const FLAG_INVALID_REPLY: u8 = 128;

/// The record a post embeds (a quote, or a feed, list, starter pack or labeler card).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmbedRow {
    #[serde(rename = "c")]
    pub collection: String,
    #[serde(rename = "t")]
    pub target: RefRow,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PostRow {
    #[serde(rename = "c")]
    pub cid: Cid,
    #[serde(with = "serde_bytes")]
    #[serde(rename = "v")]
    pub record: Vec<u8>,
    #[serde(rename = "t")]
    pub sort_at: u64,
    #[serde(rename = "rr")]
    pub reply_root: Option<RefRow>,
    #[serde(rename = "rp")]
    pub reply_parent: Option<RefRow>,
    #[serde(rename = "e")]
    pub embed: Option<EmbedRow>,
    #[serde(rename = "f")]
    pub flags: u8,
    /// Who was notified about this post (to remove the notifications with it).
    #[serde(rename = "n")]
    pub notified: Vec<u64>,
}

/// A like or repost.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InteractionRow {
    #[serde(rename = "k")]
    pub kind: u8,
    #[serde(rename = "s")]
    pub subject: RefRow,
    #[serde(rename = "c")]
    pub cid: Cid,
    #[serde(rename = "t")]
    pub sort_at: u64,
}

/// A follow or block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EdgeRow {
    #[serde(rename = "s")]
    pub subject: u64,
    #[serde(rename = "c")]
    pub cid: Cid,
    #[serde(rename = "t")]
    pub sort_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListRow {
    pub cid: Cid,
    #[serde(with = "serde_bytes")]
    pub record: Vec<u8>,
    pub name: String,
    pub purpose: String,
    pub sort_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListItemRow {
    #[serde(rename = "l")]
    pub list: RefRow,
    #[serde(rename = "s")]
    pub subject: u64,
    #[serde(rename = "t")]
    pub sort_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListBlockRow {
    pub list: RefRow,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GeneratorRow {
    pub cid: Cid,
    #[serde(with = "serde_bytes")]
    pub record: Vec<u8>,
    /// The feed generator service's DID (the record's `did`).
    pub service: String,
    pub sort_at: u64,
}

/// A record kept whole: threadgates, postgates, labeler services.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordRow {
    pub cid: Cid,
    #[serde(with = "serde_bytes")]
    pub record: Vec<u8>,
    pub sort_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StarterPackRow {
    pub cid: Cid,
    #[serde(with = "serde_bytes")]
    pub record: Vec<u8>,
    pub list: RefRow,
    pub sort_at: u64,
}

/// Notification reasons (stored as a byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Like = 0,
    Repost = 1,
    Follow = 2,
    Mention = 3,
    Reply = 4,
    Quote = 5,
}

impl Reason {
    pub fn from_byte(b: u8) -> Option<Reason> {
        Some(match b {
            0 => Reason::Like,
            1 => Reason::Repost,
            2 => Reason::Follow,
            3 => Reason::Mention,
            4 => Reason::Reply,
            5 => Reason::Quote,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Reason::Like => "like",
            Reason::Repost => "repost",
            Reason::Follow => "follow",
            Reason::Mention => "mention",
            Reason::Reply => "reply",
            Reason::Quote => "quote",
        }
    }

    pub fn parse(name: &str) -> Option<Reason> {
        [
            Reason::Like,
            Reason::Repost,
            Reason::Follow,
            Reason::Mention,
            Reason::Reply,
            Reason::Quote,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotificationRow {
    #[serde(rename = "r")]
    pub reason: u8,
    #[serde(rename = "s")]
    pub reason_subject: Option<String>,
    #[serde(rename = "c")]
    pub cid: Cid,
    /// The record (likes, reposts, follows); posts are read from `POSTS`.
    #[serde(with = "serde_bytes")]
    #[serde(rename = "v")]
    pub record: Vec<u8>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MuteRow {
    pub created_at: u64,
    pub only_reposts: bool,
    pub only_quoteposts: bool,
}

/// A private bookmark of a post (`app.bsky.bookmark.defs#bookmark`): the strong ref given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookmarkRow {
    #[serde(rename = "u")]
    pub uri: String,
    #[serde(rename = "c")]
    pub cid: String,
}

/// A notification category that can be limited to accounts the recipient follows
/// (`app.bsky.notification.defs#filterablePreference`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterablePref {
    /// `include: "follows"` (otherwise `"all"`).
    #[serde(rename = "f")]
    pub follows_only: bool,
    /// Shown in the notification list.
    #[serde(rename = "l")]
    pub list: bool,
    #[serde(rename = "p")]
    pub push: bool,
}

impl Default for FilterablePref {
    fn default() -> Self {
        FilterablePref {
            follows_only: false,
            list: true,
            push: true,
        }
    }
}

/// `app.bsky.notification.defs#preference`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimplePref {
    #[serde(rename = "l")]
    pub list: bool,
    #[serde(rename = "p")]
    pub push: bool,
}

impl Default for SimplePref {
    fn default() -> Self {
        SimplePref {
            list: true,
            push: true,
        }
    }
}

/// An account's notification preferences: the legacy `priority` switch and the per-category
/// preferences of `putPreferencesV2`. Defaults are the reference's: everything, from everyone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationPrefsRow {
    pub priority: bool,
    pub follow: FilterablePref,
    pub like: FilterablePref,
    pub like_via_repost: FilterablePref,
    pub mention: FilterablePref,
    pub quote: FilterablePref,
    pub reply: FilterablePref,
    pub repost: FilterablePref,
    pub repost_via_repost: FilterablePref,
    pub starterpack_joined: SimplePref,
    pub subscribed_post: SimplePref,
    pub unverified: SimplePref,
    pub verified: SimplePref,
}

/// A label from a configured labeler (`com.atproto.label.defs#label`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRow {
    pub ver: Option<i64>,
    pub cid: Option<String>,
    pub neg: bool,
    pub cts: String,
    pub exp: Option<String>,
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

/// Fixed-width `u32` counters stored big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters<const N: usize>(pub [u32; N]);

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Counters([0; N])
    }
}

impl<const N: usize> Counters<N> {
    pub fn read(bytes: Option<&[u8]>) -> Counters<N> {
        let mut out = [0u32; N];
        if let Some(bytes) = bytes {
            for (i, slot) in out.iter_mut().enumerate() {
                if let Some(chunk) = bytes.get(i * 4..i * 4 + 4) {
                    *slot = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
        }
        Counters(out)
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|n| n.to_be_bytes()).collect()
    }

    pub fn add(&mut self, field: usize, delta: i64) {
        if let Some(slot) = self.0.get_mut(field) {
            let next = i64::from(*slot).saturating_add(delta).max(0);
            *slot = u32::try_from(next).unwrap_or(u32::MAX);
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// Profile counters: [`FOLLOWERS`], [`FOLLOWS`], [`POSTS`], [`LISTS`], [`FEEDGENS`], [`STARTER_PACKS`].
pub type ActorCounts = Counters<6>;
pub const FOLLOWERS: usize = 0;
pub const FOLLOWS: usize = 1;
pub const POSTS: usize = 2;
pub const LISTS: usize = 3;
pub const FEEDGENS: usize = 4;
pub const STARTER_PACKS: usize = 5;

/// Subject counters: [`LIKES`], [`REPOSTS`], [`REPLIES`], [`QUOTES`]; a list's items in `LIKES`'s
/// slot is [`LIST_ITEMS`].
pub type SubjectCounts = Counters<4>;
pub const LIKES: usize = 0;
pub const REPOSTS: usize = 1;
pub const REPLIES: usize = 2;
pub const QUOTES: usize = 3;
pub const LIST_ITEMS: usize = 0;

/// Feed item kinds (the third key field of `FEED_ITEMS`).
pub const ITEM_POST: u8 = 0;
pub const ITEM_REPOST: u8 = 1;

/// A feed item's value: post flags, and for a repost the reposted post.
pub fn feed_item_value(flags: u8, subject: Option<&RefRow>) -> Vec<u8> {
    let mut out = vec![flags];
    if let Some(s) = subject {
        out.extend_from_slice(&s.actor.to_be_bytes());
        out.extend_from_slice(s.rkey.as_bytes());
    }
    out
}

/// Reads a feed item value back: (flags, reposted post).
pub fn read_feed_item(bytes: &[u8]) -> (u8, Option<RefRow>) {
    let flags = bytes.first().copied().unwrap_or(0);
    let subject = bytes.get(1..9).map(|a| RefRow {
        actor: u64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]),
        rkey: String::from_utf8_lossy(bytes.get(9..).unwrap_or_default()).into_owned(),
    });
    (flags, subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_and_never_go_negative() {
        let mut c = SubjectCounts::default();
        c.add(LIKES, 3);
        c.add(QUOTES, -5);
        let back = SubjectCounts::read(Some(&c.bytes()));
        assert_eq!(back.0, [3, 0, 0, 0]);
        assert_eq!(SubjectCounts::read(None), SubjectCounts::default());
    }

    #[test]
    fn feed_items_round_trip() {
        let subject = RefRow {
            actor: 7,
            rkey: "3k2a".into(),
        };
        let v = feed_item_value(FLAG_REPLY, Some(&subject));
        assert_eq!(read_feed_item(&v), (FLAG_REPLY, Some(subject)));
        assert_eq!(read_feed_item(&feed_item_value(0, None)), (0, None));
    }

    #[test]
    fn reasons() {
        for r in 0..6 {
            let reason = Reason::from_byte(r).unwrap();
            assert_eq!(Reason::parse(reason.name()), Some(reason));
        }
        assert!(Reason::from_byte(9).is_none());
    }
}
