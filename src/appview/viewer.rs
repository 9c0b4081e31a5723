//! The authenticated viewer of one request and its relationships to other accounts: follows,
//! blocks (direct, and through moderation lists in either direction), and mutes (private, direct
//! or through muted lists). Each relationship is looked up once per account per request.
//!
//! The viewer's own list subscriptions (lists it blocks or mutes through, lists it is a member
//! of) are read once per request: they are bounded by what one account did, never by the size of
//! the community.

use std::cell::RefCell;
use std::collections::HashMap;

use super::AppviewError;
use super::index::RKEY_MAX;
use super::read::{self, Tables};
use super::records;
use super::rows::{self, MuteRow, RefRow};

/// How the viewer relates to one account.
#[derive(Clone, Debug, Default)]
pub struct Relationship {
    /// The viewer's follow record URI.
    pub following: Option<String>,
    /// The account's follow of the viewer.
    pub followed_by: Option<String>,
    /// The viewer's block record URI.
    pub blocking: Option<String>,
    /// A moderation list the viewer blocks through, holding the account.
    pub blocking_by_list: Option<RefRow>,
    pub blocked_by: bool,
    pub muted: bool,
    pub muted_by_list: Option<RefRow>,
    pub muted_only_reposts: bool,
    pub muted_only_quoteposts: bool,
}

impl Relationship {
    pub fn block_exists(&self) -> bool {
        self.blocking.is_some() || self.blocking_by_list.is_some() || self.blocked_by
    }

    pub fn mute_exists(&self) -> bool {
        self.muted || self.muted_by_list.is_some()
    }
}

/// The viewer of a request.
pub struct Viewer {
    pub id: u64,
    pub did: String,
    /// Lists the viewer blocks through.
    block_lists: Vec<RefRow>,
    /// Lists the viewer mutes.
    mute_lists: Vec<RefRow>,
    /// Lists the viewer is on (someone blocking through one blocks the viewer).
    member_of: Vec<RefRow>,
    cache: RefCell<HashMap<u64, Relationship>>,
}

fn list_refs<I, E>(rows: I) -> Result<Vec<RefRow>, AppviewError>
where
    I: Iterator<Item = Result<(u64, String), E>>,
    AppviewError: From<E>,
{
    let mut out = Vec::new();
    for row in rows {
        let (actor, rkey) = row?;
        out.push(RefRow { actor, rkey });
    }
    Ok(out)
}

impl Viewer {
    /// The viewer `did`, or `None` when the App View has never seen the account (it then has no
    /// relationships, and is treated as an unknown but authenticated caller).
    pub fn load(t: &Tables, did: &str) -> Result<Option<Viewer>, AppviewError> {
        let Some(id) = read::actor_id(t, did)? else {
            return Ok(None);
        };
        let block_lists = list_refs(
            t.actor_list_blocks
                .table()?
                .range((id, 0, "")..=(id, u64::MAX, RKEY_MAX))?
                .map(|r| r.map(|(k, _)| (k.value().1, k.value().2.to_owned()))),
        )?;
        let mute_lists = list_refs(
            t.list_mutes
                .table()?
                .range((id, 0, "")..=(id, u64::MAX, RKEY_MAX))?
                .map(|r| r.map(|(k, _)| (k.value().1, k.value().2.to_owned()))),
        )?;
        let member_of = list_refs(
            t.member_of
                .table()?
                .range((id, 0, "")..=(id, u64::MAX, RKEY_MAX))?
                .map(|r| r.map(|(k, _)| (k.value().1, k.value().2.to_owned()))),
        )?;
        Ok(Some(Viewer {
            id,
            did: did.to_owned(),
            block_lists,
            mute_lists,
            member_of,
            cache: RefCell::new(HashMap::new()),
        }))
    }

    fn in_list(t: &Tables, list: &RefRow, actor: u64) -> Result<bool, AppviewError> {
        Ok(t.list_membership
            .table()?
            .get((list.actor, list.rkey.as_str(), actor))?
            .is_some())
    }

    /// How the viewer relates to `actor` (nothing for the viewer itself).
    pub fn relationship(&self, t: &Tables, actor: u64) -> Result<Relationship, AppviewError> {
        if actor == self.id {
            return Ok(Relationship::default());
        }
        if let Some(found) = self.cache.borrow().get(&actor) {
            return Ok(found.clone());
        }
        let uri =
            |did: &str, collection: &str, rkey: &str| format!("at://{did}/{collection}/{rkey}");
        let mut rel = Relationship::default();
        if let Some(rkey) = t.follow_edge.table()?.get((self.id, actor))? {
            rel.following = Some(uri(&self.did, records::FOLLOW, rkey.value()));
        }
        if let Some(rkey) = t.follow_edge.table()?.get((actor, self.id))?
            && let Some(did) = read::did_of(t, actor)?
        {
            rel.followed_by = Some(uri(&did, records::FOLLOW, rkey.value()));
        }
        if let Some(rkey) = t.block_edge.table()?.get((self.id, actor))? {
            rel.blocking = Some(uri(&self.did, records::BLOCK, rkey.value()));
        }
        for list in &self.block_lists {
            if Self::in_list(t, list, actor)? {
                rel.blocking_by_list = Some(list.clone());
                break;
            }
        }
        rel.blocked_by = t.block_edge.table()?.get((actor, self.id))?.is_some();
        if !rel.blocked_by {
            for list in &self.member_of {
                if t.list_blockers
                    .table()?
                    .get((list.actor, list.rkey.as_str(), actor))?
                    .is_some()
                {
                    rel.blocked_by = true;
                    break;
                }
            }
        }
        if let Some(mute) = t.mutes.table()?.get((self.id, actor))? {
            let mute: MuteRow = rows::decode(mute.value())?;
            if mute.only_reposts || mute.only_quoteposts {
                rel.muted_only_reposts = mute.only_reposts;
                rel.muted_only_quoteposts = mute.only_quoteposts;
            } else {
                rel.muted = true;
            }
        }
        for list in &self.mute_lists {
            if Self::in_list(t, list, actor)? {
                rel.muted_by_list = Some(list.clone());
                break;
            }
        }
        self.cache.borrow_mut().insert(actor, rel.clone());
        Ok(rel)
    }

    pub fn blocks(&self, t: &Tables, actor: u64) -> Result<bool, AppviewError> {
        Ok(self.relationship(t, actor)?.block_exists())
    }

    pub fn mutes(&self, t: &Tables, actor: u64) -> Result<bool, AppviewError> {
        Ok(self.relationship(t, actor)?.mute_exists())
    }
}

/// Whether two accounts block each other (either way, directly): used for replies whose author
/// and parent author block one another ("third-party" blocks).
pub fn block_between(t: &Tables, a: u64, b: u64) -> Result<bool, AppviewError> {
    if a == b {
        return Ok(false);
    }
    Ok(
        t.block_edge.table()?.get((a, b))?.is_some()
            || t.block_edge.table()?.get((b, a))?.is_some(),
    )
}
