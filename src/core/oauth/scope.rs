//! Permission scope strings: the generic `resource[:positional][?key=value&…]` syntax and the six
//! resources atproto defines (`repo`, `rpc`, `blob`, `account`, `identity`, `include`).
//!
//! Owns parsing (strict: case-sensitive, unknown parameters refused, every value checked) and the
//! canonical rendering of a [`Permission`] back into a scope string. Does not own sets of
//! permissions, transitional scopes or matching (see `grant`), nor permission-set resolution.
//!
//! Parsing follows indigo's `atproto/auth` package (the fixtures in its `testdata/` are the
//! conformance cases) and the reference `@atproto/oauth-scopes` where the two differ: the
//! positional part is percent-decoded, and an `include:` audience must be a service reference.
//!
//! Spec: <https://atproto.com/specs/permission#scope-string-syntax>

use std::fmt;

use crate::core::lexicon::RepoAction;
use crate::core::syntax::{Did, Nsid};

/// Longest scope string accepted (the longest real ones are a few hundred bytes).
pub const MAX_SCOPE_LEN: usize = 2048;

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Not the generic syntax (non-ASCII, bad percent-encoding, too long).
    #[error("invalid permission syntax: {0}")]
    Syntax(&'static str),
    /// The resource is not one atproto defines.
    #[error("unknown permission resource {0:?}")]
    UnknownResource(String),
    /// The resource is known but its parameters are not valid for it.
    #[error("invalid permission parameters: {0}")]
    Params(String),
}

/// The generic parts of a scope string, decoded: no resource-specific meaning yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericScope {
    pub resource: String,
    /// Empty when the scope has none.
    pub positional: String,
    /// Parameters in the order first seen, each with its values in order.
    pub params: Vec<(String, Vec<String>)>,
}

impl GenericScope {
    /// Splits and decodes a scope string. Every printable ASCII character is allowed; the query
    /// is decoded as `application/x-www-form-urlencoded` (`+` is a space), the positional part
    /// with percent-decoding only.
    pub fn parse(scope: &str) -> Result<GenericScope, ScopeError> {
        if scope.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::Syntax("too long"));
        }
        if !scope.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ScopeError::Syntax(
                "only printable ASCII without spaces is allowed",
            ));
        }
        let (front, query) = scope.split_once('?').unwrap_or((scope, ""));
        let (resource, positional) = front.split_once(':').unwrap_or((front, ""));
        let positional = percent_decode(positional, false)?;
        let mut params: Vec<(String, Vec<String>)> = Vec::new();
        for piece in query.split('&').filter(|p| !p.is_empty()) {
            if piece.contains(';') {
                return Err(ScopeError::Syntax("';' is not a parameter separator"));
            }
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            let key = percent_decode(key, true)?;
            let value = percent_decode(value, true)?;
            match params.iter_mut().find(|(k, _)| *k == key) {
                Some((_, values)) => values.push(value),
                None => params.push((key, vec![value])),
            }
        }
        Ok(GenericScope {
            resource: resource.to_owned(),
            positional,
            params,
        })
    }

    fn values(&self, key: &str) -> Option<&[String]> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    fn only_params(&self, allowed: &[&str]) -> Result<(), ScopeError> {
        match self
            .params
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(params(format!(
                "{:?} is not a parameter of {}",
                k, self.resource
            ))),
            None => Ok(()),
        }
    }

    /// The values of the positional parameter `key`: the positional part or the named parameter,
    /// never both.
    fn positional_or(&self, key: &str) -> Result<Vec<String>, ScopeError> {
        match (self.positional.is_empty(), self.values(key)) {
            (false, Some(_)) => Err(params(format!(
                "{key} is given both positionally and as a parameter"
            ))),
            (false, None) => Ok(vec![self.positional.clone()]),
            (true, Some(values)) => Ok(values.to_vec()),
            (true, None) => Ok(Vec::new()),
        }
    }

    /// A positional parameter that takes exactly one value.
    fn single(&self, key: &str) -> Result<Option<String>, ScopeError> {
        let mut values = self.positional_or(key)?;
        match values.len() {
            0 => Ok(None),
            1 => Ok(values.pop()),
            _ => Err(params(format!("{key} takes one value"))),
        }
    }
}

fn params(message: String) -> ScopeError {
    ScopeError::Params(message)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `text` (and `+` to a space when `form`); the result must be UTF-8 printable
/// ASCII-or-not text without control characters.
fn percent_decode(text: &str, form: bool) -> Result<String, ScopeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(ScopeError::Syntax("bad percent-encoding"));
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if form => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8(out).map_err(|_| ScopeError::Syntax("bad percent-encoding"))?;
    if decoded.chars().any(char::is_control) {
        return Err(ScopeError::Syntax("control characters are not allowed"));
    }
    Ok(decoded)
}

/// Characters written as they are in a rendered scope; everything else is percent-encoded.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'*' | b'@')
}

fn percent_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if is_plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A collection in a `repo` permission: any (`*`), or one record type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Collection {
    Any,
    Nsid(Nsid),
}

/// A method in an `rpc` permission: any (`*`), or one XRPC method.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Any,
    Nsid(Nsid),
}

/// The service an `rpc` permission (or an `include:`) is for: any (`*`), or `did#service_id`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    Any,
    Service(String),
}

impl Audience {
    fn parse(text: &str) -> Result<Audience, ScopeError> {
        if text == "*" {
            return Ok(Audience::Any);
        }
        if is_service_ref(text) {
            Ok(Audience::Service(text.to_owned()))
        } else {
            Err(params(format!(
                "audience {text:?} is not \"*\" or a DID with a #service fragment"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Audience::Any => "*",
            Audience::Service(s) => s,
        }
    }
}

/// Whether `text` is `did#fragment`: a valid DID and a non-empty service id.
pub fn is_service_ref(text: &str) -> bool {
    let mut parts = text.split('#');
    let (Some(did), Some(fragment), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    Did::parse(did).is_ok()
        && !fragment.is_empty()
        && fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// What part of the account an `account` permission is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountAttr {
    Email,
    Repo,
}

impl AccountAttr {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAttr::Email => "email",
            AccountAttr::Repo => "repo",
        }
    }
}

/// How much control an `account` permission gives; `manage` includes `read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountAction {
    Read,
    Manage,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Read => "read",
            AccountAction::Manage => "manage",
        }
    }
}

/// What an `identity` permission controls: the handle, or the whole identity (`*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityAttr {
    Handle,
    Any,
}

impl IdentityAttr {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityAttr::Handle => "handle",
            IdentityAttr::Any => "*",
        }
    }
}

/// One permission, parsed and checked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Writes to records: non-empty collections, non-empty actions (sorted, distinct).
    Repo {
        collections: Vec<Collection>,
        actions: Vec<RepoAction>,
    },
    /// Calls to other services, through the proxy or a service token.
    Rpc {
        methods: Vec<Method>,
        audience: Audience,
    },
    /// Blob uploads of these MIME types or patterns (`image/*`, `*/*`).
    Blob {
        accept: Vec<String>,
    },
    Account {
        attr: AccountAttr,
        action: AccountAction,
    },
    Identity {
        attr: IdentityAttr,
    },
    /// A permission set by NSID, with the audience its `inheritAud` permissions get.
    Include {
        nsid: Nsid,
        audience: Option<String>,
    },
}

/// Whether `accept` is a MIME type or pattern a `blob` permission may name: `*/*`, `type/*`, or
/// `type/subtype` (no other wildcard).
pub fn is_blob_accept(accept: &str) -> bool {
    if accept == "*/*" {
        return true;
    }
    let Some((kind, sub)) = accept.split_once('/') else {
        return false;
    };
    !kind.is_empty()
        && !kind.contains('*')
        && !sub.is_empty()
        && !sub.contains('/')
        && (sub == "*" || !sub.contains('*'))
}

impl Permission {
    /// Parses one scope string as a permission (the caller decides what to do with one that is
    /// refused: an OAuth request ignores it).
    pub fn parse(scope: &str) -> Result<Permission, ScopeError> {
        let g = GenericScope::parse(scope)?;
        match g.resource.as_str() {
            "repo" => parse_repo(&g),
            "rpc" => parse_rpc(&g),
            "blob" => parse_blob(&g),
            "account" => parse_account(&g),
            "identity" => parse_identity(&g),
            "include" => parse_include(&g),
            other => Err(ScopeError::UnknownResource(other.to_owned())),
        }
    }

    /// The resource name (`repo`, `rpc`, …).
    pub fn resource(&self) -> &'static str {
        match self {
            Permission::Repo { .. } => "repo",
            Permission::Rpc { .. } => "rpc",
            Permission::Blob { .. } => "blob",
            Permission::Account { .. } => "account",
            Permission::Identity { .. } => "identity",
            Permission::Include { .. } => "include",
        }
    }
}

fn parse_repo(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["collection", "action"])?;
    let names = g.positional_or("collection")?;
    if names.is_empty() {
        return Err(params("repo needs a collection".into()));
    }
    let mut collections = Vec::new();
    for name in names {
        let collection = if name == "*" {
            Collection::Any
        } else {
            Collection::Nsid(
                Nsid::parse(&name).map_err(|e| params(format!("collection {name:?}: {e}")))?,
            )
        };
        collections.push(collection);
    }
    collections.sort();
    collections.dedup();
    if collections.contains(&Collection::Any) {
        collections = vec![Collection::Any];
    }
    let actions = match g.values("action") {
        None => RepoAction::ALL.to_vec(),
        Some(values) => {
            let mut actions = values
                .iter()
                .map(|v| RepoAction::from_name(v).ok_or_else(|| params(format!("action {v:?}"))))
                .collect::<Result<Vec<_>, _>>()?;
            actions.sort();
            actions.dedup();
            actions
        }
    };
    Ok(Permission::Repo {
        collections,
        actions,
    })
}

fn parse_rpc(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["lxm", "aud"])?;
    let names = g.positional_or("lxm")?;
    if names.is_empty() {
        return Err(params("rpc needs a method (lxm)".into()));
    }
    let audience = match g.values("aud") {
        Some([aud]) => Audience::parse(aud)?,
        _ => return Err(params("rpc needs exactly one audience (aud)".into())),
    };
    let mut methods = Vec::new();
    for name in names {
        let method = if name == "*" {
            Method::Any
        } else {
            Method::Nsid(Nsid::parse(&name).map_err(|e| params(format!("lxm {name:?}: {e}")))?)
        };
        methods.push(method);
    }
    methods.sort();
    methods.dedup();
    if methods.contains(&Method::Any) {
        if audience == Audience::Any {
            return Err(params("rpc may not allow any method on any service".into()));
        }
        methods = vec![Method::Any];
    }
    Ok(Permission::Rpc { methods, audience })
}

fn parse_blob(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["accept"])?;
    let mut accept = g.positional_or("accept")?;
    if accept.is_empty() {
        return Err(params("blob needs a MIME type (accept)".into()));
    }
    if let Some(bad) = accept.iter().find(|a| !is_blob_accept(a)) {
        return Err(params(format!("{bad:?} is not a MIME type or pattern")));
    }
    for a in &mut accept {
        a.make_ascii_lowercase();
    }
    accept.sort();
    accept.dedup();
    if accept.iter().any(|a| a == "*/*") {
        accept = vec!["*/*".into()];
    }
    Ok(Permission::Blob { accept })
}

fn parse_account(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["attr", "action"])?;
    let attr = match g.single("attr")?.as_deref() {
        Some("email") => AccountAttr::Email,
        Some("repo") => AccountAttr::Repo,
        Some(other) => return Err(params(format!("account attribute {other:?}"))),
        None => return Err(params("account needs an attribute".into())),
    };
    let action = match g.values("action") {
        None => AccountAction::Read,
        Some([one]) => match one.as_str() {
            "read" => AccountAction::Read,
            "manage" => AccountAction::Manage,
            other => return Err(params(format!("account action {other:?}"))),
        },
        Some(_) => return Err(params("account takes one action".into())),
    };
    Ok(Permission::Account { attr, action })
}

fn parse_identity(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["attr"])?;
    let attr = match g.single("attr")?.as_deref() {
        Some("handle") => IdentityAttr::Handle,
        Some("*") => IdentityAttr::Any,
        Some(other) => return Err(params(format!("identity attribute {other:?}"))),
        None => return Err(params("identity needs an attribute".into())),
    };
    Ok(Permission::Identity { attr })
}

fn parse_include(g: &GenericScope) -> Result<Permission, ScopeError> {
    g.only_params(&["nsid", "aud"])?;
    let name = g
        .single("nsid")?
        .ok_or_else(|| params("include needs a permission set NSID".into()))?;
    let nsid = Nsid::parse(&name).map_err(|e| params(format!("nsid {name:?}: {e}")))?;
    let audience = match g.values("aud") {
        None => None,
        Some([aud]) if is_service_ref(aud) => Some(aud.clone()),
        Some(_) => {
            return Err(params(
                "include's aud must be one DID with a #service fragment".into(),
            ));
        }
    };
    Ok(Permission::Include { nsid, audience })
}

impl fmt::Display for Permission {
    /// The canonical scope string: the positional form when one value fits it, parameters in a
    /// fixed order, reserved characters percent-encoded (`#` as `%23`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut positional: Option<String> = None;
        let mut query: Vec<(&str, String)> = Vec::new();
        match self {
            Permission::Repo {
                collections,
                actions,
            } => {
                let names: Vec<String> = collections
                    .iter()
                    .map(|c| match c {
                        Collection::Any => "*".to_owned(),
                        Collection::Nsid(n) => n.to_string(),
                    })
                    .collect();
                place(&mut positional, &mut query, "collection", names);
                if actions.as_slice() != RepoAction::ALL {
                    for a in actions {
                        query.push(("action", a.as_str().to_owned()));
                    }
                }
            }
            Permission::Rpc { methods, audience } => {
                let names: Vec<String> = methods
                    .iter()
                    .map(|m| match m {
                        Method::Any => "*".to_owned(),
                        Method::Nsid(n) => n.to_string(),
                    })
                    .collect();
                place(&mut positional, &mut query, "lxm", names);
                query.push(("aud", audience.as_str().to_owned()));
            }
            Permission::Blob { accept } => {
                place(&mut positional, &mut query, "accept", accept.clone());
            }
            Permission::Account { attr, action } => {
                positional = Some(attr.as_str().to_owned());
                if *action == AccountAction::Manage {
                    query.push(("action", action.as_str().to_owned()));
                }
            }
            Permission::Identity { attr } => positional = Some(attr.as_str().to_owned()),
            Permission::Include { nsid, audience } => {
                positional = Some(nsid.to_string());
                if let Some(aud) = audience {
                    query.push(("aud", aud.clone()));
                }
            }
        }
        let mut out = String::from(self.resource());
        if let Some(p) = positional {
            out.push(':');
            percent_encode(&p, &mut out);
        }
        for (i, (key, value)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            percent_encode(value, &mut out);
        }
        f.write_str(&out)
    }
}

/// One value goes in the positional part; several become repeated parameters.
fn place(
    positional: &mut Option<String>,
    query: &mut Vec<(&str, String)>,
    key: &'static str,
    mut values: Vec<String>,
) {
    if values.len() == 1 {
        *positional = values.pop();
    } else {
        for v in values {
            query.push((key, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn round_trip(scope: &str) {
        let p = Permission::parse(scope).unwrap_or_else(|e| panic!("{scope}: {e}"));
        let rendered = p.to_string();
        assert_eq!(Permission::parse(&rendered), Ok(p), "{scope} → {rendered}");
    }

    #[test]
    fn renders_canonically_and_parses_back() {
        for (scope, canonical) in [
            ("repo:app.example.profile", "repo:app.example.profile"),
            (
                "repo:app.example.profile?action=create&action=update&action=delete",
                "repo:app.example.profile",
            ),
            (
                "repo?collection=b.example.x&collection=a.example.y&action=delete",
                "repo?collection=a.example.y&collection=b.example.x&action=delete",
            ),
            ("repo:*?action=delete", "repo:*?action=delete"),
            (
                "rpc:com.example.query?aud=did:web:api.example.com%23frag",
                "rpc:com.example.query?aud=did:web:api.example.com%23frag",
            ),
            (
                "rpc?aud=did%3Aweb%3Aapi.example.com%23frag&lxm=com.example.query",
                "rpc:com.example.query?aud=did:web:api.example.com%23frag",
            ),
            ("blob?accept=image/*&accept=*/*", "blob:*/*"),
            ("blob?accept=Image/PNG", "blob:image/png"),
            ("account:email?action=read", "account:email"),
            (
                "account?attr=repo&action=manage",
                "account:repo?action=manage",
            ),
            ("identity:*?", "identity:*"),
            (
                "include?nsid=app.example.authFull",
                "include:app.example.authFull",
            ),
            (
                "include:app.example.authFull?aud=did:web:x.example#svc",
                "include:app.example.authFull?aud=did:web:x.example%23svc",
            ),
        ] {
            let p = Permission::parse(scope).unwrap_or_else(|e| panic!("{scope}: {e}"));
            assert_eq!(p.to_string(), canonical, "{scope}");
            round_trip(scope);
        }
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        for scope in [
            "rpc?lxm=*&aud=*",
            "rpc:*",
            "repo:*?action=*",
            "include:com.example.baz?aud=*",
            "include:com.example.baz?aud=did:web:example.com",
            "blob:*/png",
            "blob:text/**",
            "account:email?action=read&action=manage",
            "identity:handle?attr=handle",
            "repo;x",
            "repo:app.example.post?collection=app.example.other",
            "rpc:com.example.a?aud=%zz",
        ] {
            assert!(Permission::parse(scope).is_err(), "{scope} was accepted");
        }
    }

    #[test]
    fn generic_syntax_decodes_and_keeps_order() {
        let g =
            GenericScope::parse("res:a%3Ab?x=1&y=a+b&x=2&flag").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.resource, "res");
        assert_eq!(g.positional, "a:b");
        assert_eq!(
            g.params,
            vec![
                ("x".into(), vec!["1".into(), "2".into()]),
                ("y".into(), vec!["a b".into()]),
                ("flag".into(), vec![String::new()]),
            ]
        );
        assert!(GenericScope::parse("res:é").is_err());
        assert!(GenericScope::parse("res x").is_err());
        assert!(GenericScope::parse("res?x=%00").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_accepted_scopes_round_trip(scope in "[ -~]{0,80}") {
            if let Ok(p) = Permission::parse(&scope) {
                let rendered = p.to_string();
                proptest::prop_assert_eq!(Permission::parse(&rendered), Ok(p));
            }
        }
    }
}
