//! Requested permissions said in words, for the consent page: one line per permission, the
//! transitional scopes as their documented meaning, permission sets by their title and each of
//! their permissions.
//!
//! Spec: <https://atproto.com/specs/permission> (permission sets' `title` and `detail`).

use crate::core::lexicon::PermissionSetDef;

use super::grant::{TRANSITION_CHAT, TRANSITION_EMAIL, TRANSITION_GENERIC, expand_include};
use super::scope::{
    AccountAction, AccountAttr, Audience, Collection, IdentityAttr, Method, Permission,
};

fn list(items: Vec<String>) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        _ => format!(
            "{} and {}",
            items[..items.len() - 1].join(", "),
            items[items.len() - 1]
        ),
    }
}

/// One permission in words.
pub fn permission(p: &Permission) -> String {
    match p {
        Permission::Repo {
            collections,
            actions,
        } => {
            let what = if collections.contains(&Collection::Any) {
                "any kind of record".to_owned()
            } else {
                list(
                    collections
                        .iter()
                        .map(|c| match c {
                            Collection::Nsid(n) => n.to_string(),
                            Collection::Any => "*".into(),
                        })
                        .collect(),
                ) + " records"
            };
            let verbs: Vec<String> = actions.iter().map(|a| a.as_str().to_owned()).collect();
            format!("{} {what} in your repository", capitalise(&list(verbs)))
        }
        Permission::Rpc { methods, audience } => {
            let what = if methods.contains(&Method::Any) {
                "any method".to_owned()
            } else {
                list(
                    methods
                        .iter()
                        .map(|m| match m {
                            Method::Nsid(n) => n.to_string(),
                            Method::Any => "*".into(),
                        })
                        .collect(),
                )
            };
            let whom = match audience {
                Audience::Any => "any service".to_owned(),
                Audience::Service(s) => s.clone(),
            };
            format!("Call {what} on {whom} in your name")
        }
        Permission::Blob { accept } => {
            if accept.iter().any(|a| a == "*/*") {
                "Upload files of any type".to_owned()
            } else {
                format!("Upload files of type {}", list(accept.clone()))
            }
        }
        Permission::Account { attr, action } => match (attr, action) {
            (AccountAttr::Email, AccountAction::Read) => "See your email address".into(),
            (AccountAttr::Email, AccountAction::Manage) => {
                "See and change your email address".into()
            }
            (AccountAttr::Repo, AccountAction::Read) => "See your repository's status".into(),
            (AccountAttr::Repo, AccountAction::Manage) => {
                "Import or replace your whole repository".into()
            }
        },
        Permission::Identity { attr } => match attr {
            IdentityAttr::Handle => "Change your handle".into(),
            IdentityAttr::Any => "Change your handle and your whole identity (DID document)".into(),
        },
        Permission::Include { nsid, .. } => format!("The permission set {nsid}"),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every token of a scope string in words (`atproto` itself says nothing; unknown tokens are
/// skipped, as they grant nothing). `resolve` finds a permission set by NSID.
pub fn describe(scope: &str, resolve: &dyn Fn(&str) -> Option<PermissionSetDef>) -> Vec<String> {
    let mut out = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        match token {
            TRANSITION_GENERIC => out.push(
                "Full access to your account's data: read and write every kind of record, upload \
                 files, and call other services in your name (not direct messages, email or \
                 account settings)"
                    .into(),
            ),
            TRANSITION_CHAT => out.push("Read and send your direct messages".into()),
            TRANSITION_EMAIL => out.push("See your email address".into()),
            _ => match Permission::parse(token) {
                Ok(Permission::Include { nsid, audience }) => match resolve(nsid.as_str()) {
                    Some(set) => {
                        let title = set.title.clone().unwrap_or_else(|| nsid.to_string());
                        let inner: Vec<String> = expand_include(&nsid, audience.as_deref(), &set)
                            .iter()
                            .map(permission)
                            .collect();
                        out.push(format!("{title}: {}", inner.join("; ")));
                    }
                    None => out.push(format!(
                        "The permission set {nsid} (unknown here: it grants nothing)"
                    )),
                },
                Ok(p) => out.push(permission(&p)),
                Err(_) => {}
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_in_words() {
        let lines = describe(
            "atproto repo:app.bsky.feed.like blob:image/* account:email transition:generic nonsense:x",
            &|_| None,
        );
        assert_eq!(
            lines[0],
            "Create, update and delete app.bsky.feed.like records in your repository"
        );
        assert_eq!(lines[1], "Upload files of type image/*");
        assert_eq!(lines[2], "See your email address");
        assert!(lines[3].starts_with("Full access"));
        assert_eq!(lines.len(), 4);
    }
}
