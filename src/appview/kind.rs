//! Short codes for the record collections that appear inside keys: what a like or a count is about
//! (`Kind`), and which collection a notification's record is in (`NOTIF_*`).

use super::records;

/// A likeable or countable subject's collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Post = 0,
    Generator = 1,
    List = 2,
    Labeler = 3,
    StarterPack = 4,
}

impl Kind {
    pub fn from_collection(collection: &str) -> Option<Kind> {
        Some(match collection {
            records::POST => Kind::Post,
            records::GENERATOR => Kind::Generator,
            records::LIST => Kind::List,
            records::LABELER => Kind::Labeler,
            records::STARTER_PACK => Kind::StarterPack,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        self as u8
    }
}

/// The collection of a notification's record, as stored in its key.
pub const NOTIF_POST: u8 = 0;
pub const NOTIF_LIKE: u8 = 1;
pub const NOTIF_REPOST: u8 = 2;
pub const NOTIF_FOLLOW: u8 = 3;

pub fn notif_collection(code: u8) -> &'static str {
    match code {
        NOTIF_LIKE => records::LIKE,
        NOTIF_REPOST => records::REPOST,
        NOTIF_FOLLOW => records::FOLLOW,
        _ => records::POST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_bytes() {
        let bytes: Vec<u8> = [
            records::POST,
            records::GENERATOR,
            records::LIST,
            records::LABELER,
            records::STARTER_PACK,
        ]
        .iter()
        .map(|c| Kind::from_collection(c).unwrap().byte())
        .collect();
        assert_eq!(bytes, vec![0, 1, 2, 3, 4]);
        assert!(Kind::from_collection("app.bsky.feed.like").is_none());
        assert_eq!(notif_collection(NOTIF_FOLLOW), records::FOLLOW);
    }
}
