//! The `permission` entries of a `permission-set` definition.
//!
//! Owns the model of the two resources the spec allows in a permission set (`repo` and `rpc`),
//! already checked, and keeps any other resource as given. The spec says services must ignore
//! resources and fields they do not support (`blob`, `account` and `identity` are named as not
//! supported in a permission set); they are kept here, not refused, so a schema that carries
//! them still loads, and [`Permission::Other`] tells access control to skip them.
//!
//! Does not do: scope strings, `include:` resolution or granting (see the OAuth layer).
//!
//! Spec: <https://atproto.com/specs/lexicon#permission>, <https://atproto.com/specs/permission>

use std::collections::BTreeMap;

use crate::core::syntax::Nsid;

/// One permission of a permission set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permission {
    Repo(RepoPermission),
    Rpc(RpcPermission),
    /// A resource this implementation does not grant from a permission set; the fields are kept
    /// as given (each a string, integer, boolean, or an array of those).
    Other {
        resource: String,
        fields: BTreeMap<String, serde_json::Value>,
    },
}

/// `repo`: writes to the listed collections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoPermission {
    /// At least one, no duplicates, no wildcard.
    pub collections: Vec<Nsid>,
    /// The allowed operations; all three when the schema does not limit them.
    pub actions: Vec<RepoAction>,
}

/// A record operation a `repo` permission can allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoAction {
    Create,
    Update,
    Delete,
}

impl RepoAction {
    pub const ALL: [RepoAction; 3] = [Self::Create, Self::Update, Self::Delete];

    /// The action as schemas write it (case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// `rpc`: calls to the listed XRPC methods through a proxy or a service token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcPermission {
    /// At least one.
    pub lxm: Vec<Lxm>,
    pub audience: RpcAudience,
}

/// One `lxm` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lxm {
    /// `*`: any method (never together with a wildcard audience).
    Any,
    Method(Nsid),
}

/// The service an `rpc` permission may call: in a permission set either any (`aud: "*"`) or the
/// one the scope is requested for (`inheritAud: true`); a fixed service DID is not allowed there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcAudience {
    Any,
    Inherit,
}
