//! Parsing of `permission-set` parts: the localised `title:lang`/`detail:lang` maps and each
//! `permission`.
//!
//! Every permission must be an object with `type: "permission"`, a non-empty `resource`, and other
//! fields that are strings, integers, booleans or arrays of those. `repo` and `rpc` are then held
//! to the spec's rules for permission sets: `repo` needs a non-empty list of distinct collection
//! NSIDs (no wildcard) and actions among create/update/delete; `rpc` needs a non-empty `lxm` list
//! of NSIDs or `*`, and exactly one of `aud: "*"` or `inheritAud: true`, never `*` for both the
//! method and the audience.
//!
//! Spec: <https://atproto.com/specs/lexicon#permission>, <https://atproto.com/specs/permission>

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::core::syntax::{Language, Nsid, quote};

use super::super::{Lxm, Permission, RepoAction, RepoPermission, RpcAudience, RpcPermission};
use super::{Ctx, LexiconError};

/// A map from well-formed language tags to strings.
pub(super) fn parse_lang_map(
    ctx: &Ctx,
    map: &Map<String, Json>,
    key: &str,
) -> Result<BTreeMap<String, String>, LexiconError> {
    let entries = match map.get(key) {
        None => return Ok(BTreeMap::new()),
        Some(Json::Object(entries)) => entries,
        Some(_) => return Err(ctx.err_at(key, "must be an object")),
    };
    let mut out = BTreeMap::new();
    for (lang, text) in entries {
        if !Language::is_well_formed(lang) {
            return Err(ctx.err_at(key, format!("{} is not a language tag", quote(lang))));
        }
        let text = text
            .as_str()
            .ok_or_else(|| ctx.err_at(key, "values must be strings"))?;
        out.insert(lang.clone(), text.to_owned());
    }
    Ok(out)
}

pub(super) fn parse_permission(ctx: &Ctx, json: &Json) -> Result<Permission, LexiconError> {
    let map = ctx.object(json)?;
    if ctx.opt_str(map, "type")? != Some("permission") {
        return Err(ctx.err_at("type", "must be \"permission\""));
    }
    ctx.check_description(map)?;
    let resource = ctx
        .opt_str(map, "resource")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ctx.err_at("resource", "is required (a non-empty string)"))?;
    for (key, value) in map {
        let scalar = |v: &Json| match v {
            Json::String(_) | Json::Bool(_) => true,
            Json::Number(_) => super::json_integer(v).is_some(),
            _ => false,
        };
        let ok = match value {
            Json::Array(items) => items.iter().all(scalar),
            other => scalar(other),
        };
        if !ok {
            return Err(ctx.err_at(
                key,
                "must be a string, integer, boolean, or an array of those",
            ));
        }
    }
    match resource {
        "repo" => parse_repo(ctx, map).map(Permission::Repo),
        "rpc" => parse_rpc(ctx, map).map(Permission::Rpc),
        _ => Ok(Permission::Other {
            resource: resource.to_owned(),
            fields: map
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "type" | "resource" | "description"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }),
    }
}

fn parse_repo(ctx: &Ctx, map: &Map<String, Json>) -> Result<RepoPermission, LexiconError> {
    let names = ctx
        .opt_str_list(map, "collection")?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ctx.err_at("collection", "is required (a non-empty list of nsids)"))?;
    let mut collections: Vec<Nsid> = Vec::with_capacity(names.len());
    for name in names {
        if name == "*" {
            return Err(ctx.err_at(
                "collection",
                "a wildcard is not allowed in a permission set",
            ));
        }
        let nsid = Nsid::parse(name).map_err(|e| ctx.err_at("collection", e.to_string()))?;
        if collections.contains(&nsid) {
            return Err(ctx.err_at("collection", format!("{} is listed twice", quote(name))));
        }
        collections.push(nsid);
    }
    let actions = match ctx.opt_str_list(map, "action")? {
        None => RepoAction::ALL.to_vec(),
        Some(names) => {
            let mut actions = Vec::with_capacity(names.len());
            for name in names {
                let action = RepoAction::from_name(name).ok_or_else(|| {
                    ctx.err_at(
                        "action",
                        format!("{} is not one of create, update, delete", quote(name)),
                    )
                })?;
                if actions.contains(&action) {
                    return Err(ctx.err_at("action", format!("{name:?} is listed twice")));
                }
                actions.push(action);
            }
            actions
        }
    };
    Ok(RepoPermission {
        collections,
        actions,
    })
}

fn parse_rpc(ctx: &Ctx, map: &Map<String, Json>) -> Result<RpcPermission, LexiconError> {
    let names = ctx
        .opt_str_list(map, "lxm")?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ctx.err_at("lxm", "is required (a non-empty list of nsids)"))?;
    let lxm = names
        .into_iter()
        .map(|name| match name {
            "*" => Ok(Lxm::Any),
            _ => Nsid::parse(name)
                .map(Lxm::Method)
                .map_err(|e| ctx.err_at("lxm", e.to_string())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let aud = ctx.opt_str(map, "aud")?;
    let inherit = ctx.opt_bool(map, "inheritAud")?.unwrap_or(false);
    let audience = match (aud, inherit) {
        (Some("*"), false) => RpcAudience::Any,
        (None, true) => RpcAudience::Inherit,
        (Some(_), true) | (None, false) => {
            return Err(ctx.err("exactly one of \"aud\" and \"inheritAud\" must be given"));
        }
        (Some(_), false) => {
            return Err(ctx.err_at(
                "aud",
                "must be \"*\": a permission set can not name a fixed service",
            ));
        }
    };
    if audience == RpcAudience::Any && lxm.contains(&Lxm::Any) {
        return Err(ctx.err("\"lxm\" and \"aud\" can not both be wildcards"));
    }
    Ok(RpcPermission { lxm, audience })
}
