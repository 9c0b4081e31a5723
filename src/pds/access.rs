//! Which credential may call which method: the one place that decides it, for every route that
//! takes an access token (the HTTP extractors ask [`Pds::authorize`] with the method called).
//!
//! Follows the reference PDS's verifiers (bluesky-social/atproto `packages/pds/src/auth-verifier.ts`
//! and the `auth:` of each route): by default a method takes a full session or an app password,
//! privileged or not (`ACCESS_STANDARD`); [`RULES`] lists the exceptions. Email, password, account
//! deletion, app-password management and PLC operations need a full session, so an app password
//! cannot take an account over. The takendown scope (a taken-down account logged in with
//! `allowTakendown`) reaches only the methods that list it in the reference: what an account needs
//! to leave (deactivate, export its repo and blobs, PLC operations with an emailed code, service
//! auth for `createAccount` elsewhere, its preferences) and to appeal (`createReport`). Any other
//! credential still needs an account that is not taken down, suspended or deleted.
//!
//! Admin powers (an account's admin role, `pds::admin_roles`) are one more gate on top, in the
//! `AdminAuth` extractor: only a full session carries them, never an app password.
//!
//! OAuth tokens (DPoP-bound, granular permissions) are decided by [`Pds::authorize_oauth`]: the
//! method's need (`oauth_need`) against the token's grant, and each record write and blob upload
//! by [`Pds::require_writes`] and [`Pds::require`] in their handlers.

use super::auth::{AccessScope, AuthedAccount};
use super::repo_write::WriteOp;
use super::service_auth::is_privileged;
use super::{Pds, PdsError};
use crate::core::lexicon::RepoAction;
use crate::core::oauth::dpop::DpopProof;
use crate::core::oauth::grant::Need;
use crate::core::oauth::scope::{AccountAction, AccountAttr, IdentityAttr};

/// Which session kinds a method takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sessions {
    /// Full sessions and app passwords (the reference's `ACCESS_STANDARD`).
    Standard,
    /// Full sessions and privileged app passwords (`ACCESS_PRIVILEGED`).
    Privileged,
    /// Full sessions only (`ACCESS_FULL`).
    Full,
}

/// Who may call a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    sessions: Sessions,
    /// Whether the takendown scope may call it too.
    takendown: bool,
}

const STANDARD: Rule = Rule {
    sessions: Sessions::Standard,
    takendown: false,
};
const STANDARD_OR_TAKENDOWN: Rule = Rule {
    sessions: Sessions::Standard,
    takendown: true,
};
const FULL: Rule = Rule {
    sessions: Sessions::Full,
    takendown: false,
};
const FULL_OR_TAKENDOWN: Rule = Rule {
    sessions: Sessions::Full,
    takendown: true,
};

/// The methods whose rule is not [`STANDARD`].
const RULES: &[(&str, Rule)] = &[
    // Account settings: a full session only.
    ("com.atproto.server.activateAccount", FULL),
    ("com.atproto.server.deactivateAccount", FULL_OR_TAKENDOWN),
    ("com.atproto.server.requestAccountDelete", FULL),
    ("com.atproto.server.requestEmailUpdate", FULL),
    ("com.atproto.server.updateEmail", FULL),
    ("com.atproto.server.createAppPassword", FULL),
    ("com.atproto.server.getAccountInviteCodes", FULL),
    ("com.atproto.repo.importRepo", FULL),
    // The apps a member authorized: never another app's business.
    ("blue.skyhold.oauth.listApps", FULL),
    ("blue.skyhold.oauth.revokeApp", FULL),
    // PLC operations: a full session (and an emailed code to sign).
    (
        "com.atproto.identity.requestPlcOperationSignature",
        FULL_OR_TAKENDOWN,
    ),
    ("com.atproto.identity.signPlcOperation", FULL_OR_TAKENDOWN),
    ("com.atproto.identity.submitPlcOperation", FULL),
    // What a taken-down account may still do: leave, and appeal.
    ("com.atproto.server.getServiceAuth", STANDARD_OR_TAKENDOWN),
    ("com.atproto.moderation.createReport", STANDARD_OR_TAKENDOWN),
    ("app.bsky.actor.getPreferences", STANDARD_OR_TAKENDOWN),
    ("com.atproto.sync.getRepo", STANDARD_OR_TAKENDOWN),
    ("com.atproto.sync.getBlob", STANDARD_OR_TAKENDOWN),
    ("com.atproto.sync.listBlobs", STANDARD_OR_TAKENDOWN),
];

/// What a request is calling, as far as access goes.
#[derive(Clone, Copy, Debug)]
pub enum Call<'a> {
    /// An XRPC method this server implements.
    Xrpc(&'a str),
    /// A call proxied to another service (`atproto-proxy`, or the configured App View): the
    /// default rule, or a privileged session for the methods that need one (chat), whatever
    /// this server's own rule for a method of that name.
    Proxied(&'a str),
}

/// What the caller presents.
#[derive(Clone, Copy, Debug)]
pub enum Credential {
    /// A legacy session token (password or app-password login).
    Session(AccessScope),
}

fn rule(call: Call<'_>) -> Rule {
    match call {
        Call::Proxied(nsid) if is_privileged(nsid) => Rule {
            sessions: Sessions::Privileged,
            takendown: false,
        },
        Call::Proxied(_) => STANDARD,
        Call::Xrpc(nsid) => RULES
            .iter()
            .find(|(name, _)| *name == nsid)
            .map_or(STANDARD, |(_, rule)| *rule),
    }
}

/// Whether `credential` may call `method` (the account's status is checked separately).
pub fn allows(call: Call<'_>, credential: Credential) -> bool {
    let rule = rule(call);
    let Credential::Session(scope) = credential;
    match scope {
        AccessScope::Full => true,
        AccessScope::AppPasswordPrivileged => rule.sessions != Sessions::Full,
        AccessScope::AppPassword => rule.sessions == Sessions::Standard,
        AccessScope::Takendown => rule.takendown,
        // OAuth tokens are decided by their grant, in `authorize_oauth`.
        AccessScope::OAuth => false,
    }
}

/// What an OAuth token needs to call a method, beyond `atproto`: `Ok(None)` for methods any
/// session may call (record and blob writes are checked per write by [`Pds::require`]), an
/// error for account settings no OAuth permission grants. Follows the reference's scope checks
/// (`packages/pds/src/auth-verifier.ts` and the routes' `permissions`).
fn oauth_need<'a>(call: Call<'a>, aud: Option<&'a str>) -> Result<Option<Need<'a>>, PdsError> {
    let nsid = match call {
        Call::Proxied(nsid) => {
            return Ok(Some(Need::Rpc {
                lxm: nsid,
                aud: aud.unwrap_or("*"),
            }));
        }
        Call::Xrpc(nsid) => nsid,
    };
    let email = |action| Need::Account {
        attr: AccountAttr::Email,
        action,
    };
    Ok(match nsid {
        "com.atproto.server.updateEmail" | "com.atproto.server.requestEmailUpdate" => {
            Some(email(AccountAction::Manage))
        }
        "com.atproto.server.requestEmailConfirmation" | "com.atproto.server.confirmEmail" => {
            Some(email(AccountAction::Manage))
        }
        "com.atproto.repo.importRepo" => Some(Need::Account {
            attr: AccountAttr::Repo,
            action: AccountAction::Manage,
        }),
        "com.atproto.identity.updateHandle" => Some(Need::Identity {
            attr: IdentityAttr::Handle,
        }),
        "com.atproto.identity.requestPlcOperationSignature"
        | "com.atproto.identity.signPlcOperation"
        | "com.atproto.identity.submitPlcOperation" => Some(Need::Identity {
            attr: IdentityAttr::Any,
        }),
        // App passwords are a credential of their own: like the reference, no OAuth app may
        // list or revoke them either (creating one takes a full session anyway).
        "com.atproto.server.listAppPasswords" | "com.atproto.server.revokeAppPassword" => {
            return Err(not_for_apps(nsid));
        }
        _ if rule(call).sessions == Sessions::Full => return Err(not_for_apps(nsid)),
        _ => None,
    })
}

/// The refusal of a method no OAuth permission grants.
fn not_for_apps(nsid: &str) -> PdsError {
    PdsError::InsufficientScope(format!("{nsid} is not available to OAuth apps"))
}

/// The refusal of a call a grant does not cover, naming the missing permission.
fn missing_scope(need: &Need<'_>) -> PdsError {
    PdsError::InsufficientScope(format!("Missing required scope \"{}\"", need.scope()))
}

impl Pds {
    /// The caller of `call` with a DPoP-bound OAuth access token (its proof already checked):
    /// a live session, a grant that covers the call, an account that is not taken down.
    /// `aud` is the service a proxied call goes to (`did#service`).
    pub async fn authorize_oauth(
        &self,
        token: &str,
        dpop: &DpopProof,
        call: Call<'_>,
        aud: Option<&str>,
    ) -> Result<AuthedAccount, PdsError> {
        let caller = self.verify_oauth_access(token, dpop).await?;
        if !caller.grant.atproto {
            return Err(PdsError::InsufficientScope(
                "Missing required scope \"atproto\"".into(),
            ));
        }
        if let Some(need) = oauth_need(call, aud)?
            && !caller.grant.allows(&need)
        {
            return Err(missing_scope(&need));
        }
        self.check_not_taken_down(&caller.did).await?;
        Ok(AuthedAccount {
            did: caller.did,
            scope: AccessScope::OAuth,
            grant: Some(std::sync::Arc::new(caller.grant)),
        })
    }

    /// Checks one need of a call against the caller's grant (session tokens need nothing more).
    pub fn require(&self, caller: &AuthedAccount, need: &Need<'_>) -> Result<(), PdsError> {
        match &caller.grant {
            Some(grant) if !grant.allows(need) => Err(missing_scope(need)),
            _ => Ok(()),
        }
    }

    /// Checks every write of a repo call against the caller's grant.
    pub fn require_writes(&self, caller: &AuthedAccount, ops: &[WriteOp]) -> Result<(), PdsError> {
        if caller.grant.is_none() {
            return Ok(());
        }
        for op in ops {
            let (collection, actions): (&str, &[RepoAction]) = match op {
                WriteOp::Create { collection, .. } => (collection.as_str(), &[RepoAction::Create]),
                // A put creates the record when it does not exist.
                WriteOp::Put { collection, .. } => (
                    collection.as_str(),
                    &[RepoAction::Create, RepoAction::Update],
                ),
                WriteOp::Update { collection, .. } => (collection.as_str(), &[RepoAction::Update]),
                WriteOp::Delete { collection, .. } => (collection.as_str(), &[RepoAction::Delete]),
            };
            for action in actions {
                self.require(
                    caller,
                    &Need::Repo {
                        collection,
                        action: *action,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// The caller of `method` with access token `token`, if it may call it: a valid token, a
    /// credential the method takes, and (except for the takendown scope, which exists for taken
    /// down accounts) an account that is not taken down, suspended or deleted.
    pub async fn authorize(&self, token: &str, call: Call<'_>) -> Result<AuthedAccount, PdsError> {
        let account = self.verify_access(token)?;
        if !allows(call, Credential::Session(account.scope)) {
            return Err(PdsError::InvalidToken("Bad token scope".into()));
        }
        // A token outlives a takedown or deletion by up to its lifetime; the account decides.
        if account.scope != AccessScope::Takendown {
            self.check_not_taken_down(&account.did).await?;
        }
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(nsid: &str, full: bool, app: bool, privileged: bool, takendown: bool) {
        let call = Call::Xrpc(nsid);
        let got = [
            AccessScope::Full,
            AccessScope::AppPassword,
            AccessScope::AppPasswordPrivileged,
            AccessScope::Takendown,
        ]
        .map(|scope| allows(call, Credential::Session(scope)));
        assert_eq!(got, [full, app, privileged, takendown], "{nsid}");
    }

    #[test]
    fn app_passwords_cannot_touch_account_settings() {
        for nsid in [
            "com.atproto.server.updateEmail",
            "com.atproto.server.requestEmailUpdate",
            "com.atproto.server.requestAccountDelete",
            "com.atproto.server.createAppPassword",
            "com.atproto.server.activateAccount",
            "com.atproto.identity.submitPlcOperation",
            "com.atproto.repo.importRepo",
        ] {
            check(nsid, true, false, false, false);
        }
        for nsid in [
            "com.atproto.identity.signPlcOperation",
            "com.atproto.identity.requestPlcOperationSignature",
            "com.atproto.server.deactivateAccount",
        ] {
            check(nsid, true, false, false, true);
        }
    }

    #[test]
    fn the_takendown_scope_reaches_only_the_methods_that_list_it() {
        for nsid in [
            "com.atproto.server.getServiceAuth",
            "com.atproto.moderation.createReport",
            "com.atproto.sync.getRepo",
            "app.bsky.actor.getPreferences",
        ] {
            check(nsid, true, true, true, true);
        }
        for nsid in [
            "com.atproto.identity.updateHandle",
            "app.bsky.actor.putPreferences",
            "com.atproto.repo.createRecord",
            "com.atproto.server.getSession",
            "com.atproto.server.confirmEmail",
            "com.atproto.sync.getRecord",
        ] {
            check(nsid, true, true, true, false);
        }
        let proxied = |nsid, scope| allows(Call::Proxied(nsid), Credential::Session(scope));
        assert!(!proxied("com.example.ping", AccessScope::Takendown));
        assert!(proxied("com.example.ping", AccessScope::AppPassword));
        // Chat needs a privileged session.
        assert!(!proxied(
            "chat.bsky.convo.listConvos",
            AccessScope::AppPassword
        ));
        assert!(proxied(
            "chat.bsky.convo.listConvos",
            AccessScope::AppPasswordPrivileged
        ));
        // A proxied call never borrows a local method's rule.
        assert!(!proxied(
            "com.atproto.server.deactivateAccount",
            AccessScope::Takendown
        ));
    }

    #[test]
    fn no_oauth_permission_reaches_what_the_web_ui_asks_the_password_for() {
        for nsid in [
            "com.atproto.server.createAppPassword",
            "com.atproto.server.listAppPasswords",
            "com.atproto.server.revokeAppPassword",
            "com.atproto.server.requestAccountDelete",
            "com.atproto.server.activateAccount",
            "com.atproto.server.deactivateAccount",
            "com.atproto.server.getAccountInviteCodes",
            "blue.skyhold.oauth.listApps",
            "blue.skyhold.oauth.revokeApp",
        ] {
            assert!(
                matches!(
                    oauth_need(Call::Xrpc(nsid), None),
                    Err(PdsError::InsufficientScope(_))
                ),
                "{nsid}"
            );
        }
        // What the web UI's scope does cover.
        for (nsid, scope) in [
            (
                "com.atproto.server.updateEmail",
                "account:email?action=manage",
            ),
            ("com.atproto.repo.importRepo", "account:repo?action=manage"),
            ("com.atproto.identity.signPlcOperation", "identity:*"),
            ("com.atproto.identity.updateHandle", "identity:handle"),
        ] {
            let need = oauth_need(Call::Xrpc(nsid), None).unwrap().unwrap();
            assert_eq!(need.scope(), scope, "{nsid}");
        }
    }
}
