//! What an OAuth session may do: the granted scope string read into permissions, the
//! transitional scopes' documented meaning, matching a request against them, and the expansion of
//! `include:` permission sets (with the namespace authority rule).
//!
//! Owns matching only. Which request needs which permission is decided by the PDS's access rules.
//!
//! Spec: <https://atproto.com/specs/permission>, <https://atproto.com/specs/oauth#authorization-scopes>.
//! The transitional scopes follow the reference `ScopePermissionsTransition`
//! (bluesky-social/atproto `packages/oauth/oauth-scopes`).

use crate::core::lexicon::{Lxm, PermissionSetDef, RepoAction, RpcAudience};
use crate::core::syntax::Nsid;

use super::scope::{
    AccountAction, AccountAttr, Audience, Collection, IdentityAttr, Method, Permission,
};

/// The scope every atproto OAuth session has.
pub const ATPROTO: &str = "atproto";
pub const TRANSITION_GENERIC: &str = "transition:generic";
pub const TRANSITION_CHAT: &str = "transition:chat.bsky";
pub const TRANSITION_EMAIL: &str = "transition:email";

/// Whether a scope token is one this server understands (others are dropped from requests).
pub fn is_known_scope(token: &str) -> bool {
    matches!(
        token,
        ATPROTO | TRANSITION_GENERIC | TRANSITION_CHAT | TRANSITION_EMAIL
    ) || Permission::parse(token).is_ok()
}

/// Something a request needs permission for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need<'a> {
    /// One record write.
    Repo {
        collection: &'a str,
        action: RepoAction,
    },
    /// A blob upload of this MIME type.
    Blob {
        mime: &'a str,
    },
    /// A call to another service (or to this node acting as one): method and `did#service`.
    /// `lxm` is `*` for a service token without a method.
    Rpc {
        lxm: &'a str,
        aud: &'a str,
    },
    Account {
        attr: AccountAttr,
        action: AccountAction,
    },
    Identity {
        attr: IdentityAttr,
    },
}

impl Need<'_> {
    /// The scope string that would grant this need (named in refusals).
    pub fn scope(&self) -> String {
        let nsid = |s: &str| Nsid::parse(s).ok();
        match *self {
            Need::Repo { collection, action } => match nsid(collection) {
                Some(n) => Permission::Repo {
                    collections: vec![Collection::Nsid(n)],
                    actions: vec![action],
                }
                .to_string(),
                None => format!("repo:{collection}?action={}", action.as_str()),
            },
            Need::Blob { mime } => Permission::Blob {
                accept: vec![mime.to_ascii_lowercase()],
            }
            .to_string(),
            Need::Rpc { lxm, aud } => Permission::Rpc {
                methods: vec![nsid(lxm).map_or(Method::Any, Method::Nsid)],
                audience: if aud == "*" {
                    Audience::Any
                } else {
                    Audience::Service(aud.to_owned())
                },
            }
            .to_string(),
            Need::Account { attr, action } => Permission::Account { attr, action }.to_string(),
            Need::Identity { attr } => Permission::Identity { attr }.to_string(),
        }
    }
}

/// The permissions of a session, read from its granted scope string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub atproto: bool,
    pub generic: bool,
    pub chat: bool,
    pub email: bool,
    /// Granular permissions (never `include:`, which is expanded before a grant is made).
    pub permissions: Vec<Permission>,
}

impl Grant {
    /// Reads a space-separated scope string; tokens that do not parse are ignored, as the spec
    /// asks (a newer permission this server does not know grants nothing).
    pub fn parse(scope: &str) -> Grant {
        let mut grant = Grant::default();
        for token in scope.split(' ').filter(|t| !t.is_empty()) {
            match token {
                ATPROTO => grant.atproto = true,
                TRANSITION_GENERIC => grant.generic = true,
                TRANSITION_CHAT => grant.chat = true,
                TRANSITION_EMAIL => grant.email = true,
                other => {
                    if let Ok(p) = Permission::parse(other)
                        && !matches!(p, Permission::Include { .. })
                    {
                        grant.permissions.push(p);
                    }
                }
            }
        }
        grant
    }

    /// Whether the grant covers `need`.
    pub fn allows(&self, need: &Need<'_>) -> bool {
        if !self.atproto {
            return false;
        }
        match *need {
            Need::Repo { .. } | Need::Blob { .. } if self.generic => return true,
            Need::Rpc { lxm, .. } => {
                let chat = lxm.starts_with("chat.bsky.");
                if (self.generic && !chat) || (self.chat && chat) {
                    return true;
                }
            }
            Need::Account {
                attr: AccountAttr::Email,
                action: AccountAction::Read,
            } if self.email => return true,
            _ => {}
        }
        self.permissions.iter().any(|p| covers(p, need))
    }
}

fn covers(permission: &Permission, need: &Need<'_>) -> bool {
    match (permission, *need) {
        (
            Permission::Repo {
                collections,
                actions,
            },
            Need::Repo { collection, action },
        ) => {
            actions.contains(&action)
                && collections.iter().any(|c| match c {
                    Collection::Any => true,
                    Collection::Nsid(n) => n.as_str() == collection,
                })
        }
        (Permission::Rpc { methods, audience }, Need::Rpc { lxm, aud }) => {
            let audience_ok = match audience {
                Audience::Any => true,
                Audience::Service(s) => s == aud,
            };
            audience_ok
                && methods.iter().any(|m| match m {
                    Method::Any => true,
                    Method::Nsid(n) => n.as_str() == lxm,
                })
        }
        (Permission::Blob { accept }, Need::Blob { mime }) => {
            accept.iter().any(|a| mime_matches(a, mime))
        }
        (
            Permission::Account { attr, action },
            Need::Account {
                attr: need_attr,
                action: need_action,
            },
        ) => *attr == need_attr && (*action == AccountAction::Manage || *action == need_action),
        (Permission::Identity { attr }, Need::Identity { attr: need_attr }) => {
            *attr == IdentityAttr::Any || *attr == need_attr
        }
        _ => false,
    }
}

/// Whether a MIME type (as sent, parameters dropped, case folded) matches an accept pattern.
pub fn mime_matches(accept: &str, mime: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = mime.split_once('/') else {
        return false;
    };
    if kind.is_empty() || sub.is_empty() || mime.contains('*') || sub.contains('/') {
        return false;
    }
    if accept == "*/*" {
        return true;
    }
    match accept.strip_suffix("/*") {
        Some(prefix) => prefix == kind,
        None => accept == mime,
    }
}

/// Whether a permission set named `set` may grant access to `other` (a collection or method):
/// only names in the set's own NSID group or below it (`app.example.authFull` reaches
/// `app.example.*` and deeper, never `app.other.*` or `app.*`).
pub fn within_authority(set: &Nsid, other: &Nsid) -> bool {
    let group = set.authority();
    other
        .as_str()
        .strip_prefix(group)
        .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
}

/// The granular permissions an `include:` of the permission set `def` (named `nsid`) grants:
/// `repo` and `rpc` entries within the set's namespace authority, `rpc` audiences inherited from
/// `audience` where the set says so. Entries that break a rule, or whose `inheritAud` has no
/// audience to inherit, are dropped, as the spec says.
pub fn expand_include(
    nsid: &Nsid,
    audience: Option<&str>,
    def: &PermissionSetDef,
) -> Vec<Permission> {
    use crate::core::lexicon::Permission as SetPermission;
    let mut out = Vec::new();
    for entry in &def.permissions {
        match entry {
            SetPermission::Repo(repo) => {
                if !repo.collections.iter().all(|c| within_authority(nsid, c)) {
                    continue;
                }
                let mut actions = repo.actions.clone();
                actions.sort();
                actions.dedup();
                let mut collections: Vec<Collection> = repo
                    .collections
                    .iter()
                    .cloned()
                    .map(Collection::Nsid)
                    .collect();
                collections.sort();
                out.push(Permission::Repo {
                    collections,
                    actions,
                });
            }
            SetPermission::Rpc(rpc) => {
                let mut methods = Vec::new();
                let mut ok = true;
                for lxm in &rpc.lxm {
                    match lxm {
                        Lxm::Method(m) if within_authority(nsid, m) => {
                            methods.push(Method::Nsid(m.clone()));
                        }
                        _ => ok = false,
                    }
                }
                let audience = match (rpc.audience, audience) {
                    (RpcAudience::Any, _) => Audience::Any,
                    (RpcAudience::Inherit, Some(aud)) => Audience::Service(aud.to_owned()),
                    (RpcAudience::Inherit, None) => continue,
                };
                if ok && !methods.is_empty() {
                    methods.sort();
                    methods.dedup();
                    out.push(Permission::Rpc { methods, audience });
                }
            }
            SetPermission::Other { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scope: &str) -> Grant {
        Grant::parse(scope)
    }

    fn repo(collection: &str, action: RepoAction) -> Need<'_> {
        Need::Repo { collection, action }
    }

    #[test]
    fn granular_repo_permissions_name_collection_and_action() {
        let g = grant("atproto repo:app.bsky.feed.like");
        assert!(g.allows(&repo("app.bsky.feed.like", RepoAction::Create)));
        assert!(g.allows(&repo("app.bsky.feed.like", RepoAction::Delete)));
        assert!(!g.allows(&repo("app.bsky.feed.post", RepoAction::Create)));
        let g = grant("atproto repo:*?action=delete");
        assert!(g.allows(&repo("app.bsky.feed.post", RepoAction::Delete)));
        assert!(!g.allows(&repo("app.bsky.feed.post", RepoAction::Update)));
        // Without `atproto` nothing is granted.
        assert!(!grant("repo:*").allows(&repo("app.bsky.feed.post", RepoAction::Create)));
        assert_eq!(
            repo("app.bsky.feed.post", RepoAction::Create).scope(),
            "repo:app.bsky.feed.post?action=create"
        );
    }

    #[test]
    fn transitional_scopes_keep_their_documented_meaning() {
        let g = grant("atproto transition:generic");
        assert!(g.allows(&repo("any.thing.here", RepoAction::Update)));
        assert!(g.allows(&Need::Blob { mime: "video/mp4" }));
        let appview = "did:web:api.example.com#bsky_appview";
        assert!(g.allows(&Need::Rpc {
            lxm: "app.bsky.feed.getTimeline",
            aud: appview
        }));
        assert!(g.allows(&Need::Rpc {
            lxm: "*",
            aud: appview
        }));
        let chat = Need::Rpc {
            lxm: "chat.bsky.convo.listConvos",
            aud: "did:web:api.example.com#bsky_chat",
        };
        assert!(!g.allows(&chat));
        assert!(grant("atproto transition:generic transition:chat.bsky").allows(&chat));
        let email = Need::Account {
            attr: AccountAttr::Email,
            action: AccountAction::Read,
        };
        assert!(!g.allows(&email));
        assert!(grant("atproto transition:email").allows(&email));
        // Account management and identity are never transitional.
        assert!(!g.allows(&Need::Identity {
            attr: IdentityAttr::Handle
        }));
        assert!(!g.allows(&Need::Account {
            attr: AccountAttr::Repo,
            action: AccountAction::Manage
        }));
    }

    #[test]
    fn blob_rpc_account_and_identity_match() {
        let g = grant(
            "atproto blob:image/* rpc:app.example.get?aud=did:web:a.example%23svc \
             account:email?action=manage identity:*",
        );
        assert!(g.allows(&Need::Blob { mime: "image/png" }));
        assert!(g.allows(&Need::Blob {
            mime: "Image/PNG; charset=x"
        }));
        assert!(!g.allows(&Need::Blob { mime: "video/mp4" }));
        assert!(!g.allows(&Need::Blob { mime: "image/*" }));
        assert!(g.allows(&Need::Rpc {
            lxm: "app.example.get",
            aud: "did:web:a.example#svc"
        }));
        assert!(!g.allows(&Need::Rpc {
            lxm: "app.example.get",
            aud: "did:web:b.example#svc"
        }));
        assert!(g.allows(&Need::Account {
            attr: AccountAttr::Email,
            action: AccountAction::Read
        }));
        assert!(g.allows(&Need::Identity {
            attr: IdentityAttr::Handle
        }));
        let handle_only = grant("atproto identity:handle");
        assert!(!handle_only.allows(&Need::Identity {
            attr: IdentityAttr::Any
        }));
    }

    #[test]
    fn namespace_authority_is_the_sets_group_and_below() {
        let set = Nsid::parse("app.example.authFull").unwrap_or_else(|e| panic!("{e}"));
        let ok =
            |s: &str| within_authority(&set, &Nsid::parse(s).unwrap_or_else(|e| panic!("{e}")));
        assert!(ok("app.example.post"));
        assert!(ok("app.example.feed.post"));
        assert!(!ok("app.other.post"));
        assert!(!ok("app.examplex.post"));
        let deep = Nsid::parse("app.example.feed.authOnlyPost").unwrap_or_else(|e| panic!("{e}"));
        assert!(!within_authority(
            &deep,
            &Nsid::parse("app.example.actor.profile").unwrap_or_else(|e| panic!("{e}"))
        ));
    }
}
