//! The `subscribeRepos` message types.
//!
//! Spec: <https://atproto.com/specs/sync#firehose> and the `com.atproto.sync.subscribeRepos` lexicon.
//! `#commit` names the account `repo`; every other message names it `did`. The deprecated `#commit`
//! fields `rebase`, `tooBig` and `blobs` are still written, as the lexicon still requires them.

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::FrameError;
use crate::core::data;

/// One record operation of a `#commit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitOp {
    /// `create`, `update` or `delete`.
    pub action: String,
    /// `collection/rkey`.
    pub path: String,
    /// The new record CID; `null` for deletes.
    pub cid: Option<Cid>,
    /// The previous record CID, for updates and deletes (sync 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Cid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitMessage {
    pub seq: i64,
    pub rebase: bool,
    pub too_big: bool,
    pub repo: String,
    pub commit: Cid,
    pub rev: String,
    pub since: Option<String>,
    #[serde(with = "serde_bytes")]
    pub blocks: Vec<u8>,
    pub ops: Vec<CommitOp>,
    /// Deprecated; some hosts send `null`, read here as empty.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub blobs: Vec<Cid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_data: Option<Cid>,
    pub time: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Cid>, D::Error> {
    Ok(Option::<Vec<Cid>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMessage {
    pub seq: i64,
    pub did: String,
    #[serde(with = "serde_bytes")]
    pub blocks: Vec<u8>,
    pub rev: String,
    pub time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityMessage {
    pub seq: i64,
    pub did: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMessage {
    pub seq: i64,
    pub did: String,
    pub time: String,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoMessage {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A `subscribeRepos` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Commit(Box<CommitMessage>),
    Sync(SyncMessage),
    Identity(IdentityMessage),
    Account(AccountMessage),
    Info(InfoMessage),
}

impl Message {
    /// The header `t` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Commit(_) => "#commit",
            Message::Sync(_) => "#sync",
            Message::Identity(_) => "#identity",
            Message::Account(_) => "#account",
            Message::Info(_) => "#info",
        }
    }

    /// The sequence number (`#info` has none).
    pub fn seq(&self) -> Option<i64> {
        match self {
            Message::Commit(m) => Some(m.seq),
            Message::Sync(m) => Some(m.seq),
            Message::Identity(m) => Some(m.seq),
            Message::Account(m) => Some(m.seq),
            Message::Info(_) => None,
        }
    }

    /// Replaces the sequence number (a relay re-sequences what it passes on).
    pub fn set_seq(&mut self, seq: i64) {
        match self {
            Message::Commit(m) => m.seq = seq,
            Message::Sync(m) => m.seq = seq,
            Message::Identity(m) => m.seq = seq,
            Message::Account(m) => m.seq = seq,
            Message::Info(_) => {}
        }
    }

    /// When the event happened (`#info` has no time).
    pub fn time(&self) -> Option<&str> {
        match self {
            Message::Commit(m) => Some(&m.time),
            Message::Sync(m) => Some(&m.time),
            Message::Identity(m) => Some(&m.time),
            Message::Account(m) => Some(&m.time),
            Message::Info(_) => None,
        }
    }

    /// The account the message is about.
    pub fn did(&self) -> Option<&str> {
        match self {
            Message::Commit(m) => Some(&m.repo),
            Message::Sync(m) => Some(&m.did),
            Message::Identity(m) => Some(&m.did),
            Message::Account(m) => Some(&m.did),
            Message::Info(_) => None,
        }
    }

    pub fn encode_body(&self) -> Result<Vec<u8>, FrameError> {
        Ok(match self {
            Message::Commit(m) => data::encode(m)?,
            Message::Sync(m) => data::encode(m)?,
            Message::Identity(m) => data::encode(m)?,
            Message::Account(m) => data::encode(m)?,
            Message::Info(m) => data::encode(m)?,
        })
    }

    /// Decodes a body of type `t`; `None` for a type this implementation does not know.
    pub fn decode_body(t: &str, body: &[u8]) -> Result<Option<Message>, FrameError> {
        Ok(Some(match t {
            "#commit" => Message::Commit(Box::new(data::decode(body)?)),
            "#sync" => Message::Sync(data::decode(body)?),
            "#identity" => Message::Identity(data::decode(body)?),
            "#account" => Message::Account(data::decode(body)?),
            "#info" => Message::Info(data::decode(body)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::firehose::{Frame, decode_frame, encode_error_frame, encode_frame};

    #[test]
    fn frames_round_trip() {
        let message = Message::Account(AccountMessage {
            seq: 7,
            did: "did:plc:abc".into(),
            time: "2024-01-01T00:00:00.000Z".into(),
            active: false,
            status: Some("deactivated".into()),
        });
        let bytes = encode_frame(&message).unwrap();
        assert_eq!(decode_frame(&bytes).unwrap(), Frame::Message(message));
        let error = encode_error_frame("FutureCursor", Some("cursor in the future")).unwrap();
        match decode_frame(&error).unwrap() {
            Frame::Error(e) => assert_eq!(e.error, "FutureCursor"),
            other => panic!("{other:?}"),
        }
        assert!(decode_frame(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_frame(b"").is_err());
    }
}
