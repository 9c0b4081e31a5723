//! The schema parser: a Lexicon document as JSON in, a checked [`LexiconDoc`] out.
//!
//! Owns every rule of the schema language that can be checked within one document: the `lexicon`
//! version (1), a valid NSID `id`, at least one definition, definition names, primary types only
//! as `main`, which types may be named definitions, object properties, array items, params, bodies
//! and messages, the constraints of each field type, and the shape of permission sets. Unknown
//! keys are ignored, as the reference does, so that schemas can grow. Whether refs resolve is a
//! question for the whole [`Catalog`](super::Catalog), not for one document.
//!
//! Every error names the path inside the document. Parsing is recursive over the schema's nesting,
//! which is bounded by [`MAX_SCHEMA_DEPTH`].
//!
//! Spec: <https://atproto.com/specs/lexicon>

mod field;
mod permission;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::core::syntax::{Nsid, RecordKeyType};

use super::reference::{MAIN, is_valid_def_name};
use super::{
    Body, Def, Field, LexiconDoc, LexiconError, MessageSchema, ParamsSchema, PermissionSetDef,
    ProcedureDef, QueryDef, RecordDef, SubscriptionDef, XrpcErrorDef,
};

/// How deeply field schemas may nest inside one definition. Real schemas nest a handful of levels;
/// the bound keeps recursion (and so the stack) small on hostile input.
pub const MAX_SCHEMA_DEPTH: usize = 32;

impl LexiconDoc {
    /// Parses and checks a schema document given as JSON.
    pub fn from_json(json: &Json) -> Result<Self, LexiconError> {
        parse_doc(json)
    }

    /// Parses and checks a schema document given as JSON text.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LexiconError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| LexiconError::Invalid {
            id: "?".into(),
            path: String::new(),
            reason: format!("not JSON: {e}"),
        })?;
        parse_doc(&json)
    }
}

impl TryFrom<&Json> for LexiconDoc {
    type Error = LexiconError;
    fn try_from(json: &Json) -> Result<Self, Self::Error> {
        parse_doc(json)
    }
}

impl<'de> serde::Deserialize<'de> for LexiconDoc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(deserializer)?;
        parse_doc(&json).map_err(serde::de::Error::custom)
    }
}

/// Where the parser is: the document id (for messages) and the path inside the document.
struct Ctx {
    id: String,
    path: String,
}

impl Ctx {
    /// An error at the current path.
    fn err(&self, reason: impl Into<String>) -> LexiconError {
        LexiconError::Invalid {
            id: self.id.clone(),
            path: if self.path.is_empty() {
                "(document)".into()
            } else {
                self.path.clone()
            },
            reason: reason.into(),
        }
    }

    /// An error at `key` below the current path.
    fn err_at(&self, key: &str, reason: impl Into<String>) -> LexiconError {
        LexiconError::Invalid {
            id: self.id.clone(),
            path: self.child(key),
            reason: reason.into(),
        }
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.path)
        }
    }

    /// Descends into `key`; returns the length to give back to [`Ctx::leave`]. On an error the
    /// path is left as it is: the error has already copied it and parsing stops.
    fn enter(&mut self, key: &str) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('/');
        }
        self.path.push_str(key);
        len
    }

    fn leave(&mut self, len: usize) {
        self.path.truncate(len);
    }

    /// The JSON value as an object.
    fn object<'a>(&self, json: &'a Json) -> Result<&'a Map<String, Json>, LexiconError> {
        json.as_object()
            .ok_or_else(|| self.err("must be an object"))
    }

    fn opt_str<'a>(
        &self,
        map: &'a Map<String, Json>,
        key: &str,
    ) -> Result<Option<&'a str>, LexiconError> {
        match map.get(key) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err_at(key, "must be a string")),
        }
    }

    fn opt_bool(&self, map: &Map<String, Json>, key: &str) -> Result<Option<bool>, LexiconError> {
        match map.get(key) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err_at(key, "must be a boolean")),
        }
    }

    fn opt_int(&self, map: &Map<String, Json>, key: &str) -> Result<Option<i64>, LexiconError> {
        match map.get(key) {
            None => Ok(None),
            Some(json) => json_integer(json)
                .map(Some)
                .ok_or_else(|| self.err_at(key, "must be an integer")),
        }
    }

    /// A non-negative integer (a length or a size).
    fn opt_count(&self, map: &Map<String, Json>, key: &str) -> Result<Option<u64>, LexiconError> {
        match self.opt_int(map, key)? {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| self.err_at(key, "must not be negative")),
        }
    }

    fn opt_list<'a>(
        &self,
        map: &'a Map<String, Json>,
        key: &str,
    ) -> Result<Option<&'a [Json]>, LexiconError> {
        match map.get(key) {
            None => Ok(None),
            Some(Json::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.err_at(key, "must be an array")),
        }
    }

    fn opt_str_list<'a>(
        &self,
        map: &'a Map<String, Json>,
        key: &str,
    ) -> Result<Option<Vec<&'a str>>, LexiconError> {
        let Some(items) = self.opt_list(map, key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| self.err_at(key, "must be an array of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn opt_int_list(
        &self,
        map: &Map<String, Json>,
        key: &str,
    ) -> Result<Option<Vec<i64>>, LexiconError> {
        let Some(items) = self.opt_list(map, key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| {
                json_integer(item).ok_or_else(|| self.err_at(key, "must be an array of integers"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `description`, which every schema object may carry, must be a string where present.
    fn check_description(&self, map: &Map<String, Json>) -> Result<(), LexiconError> {
        self.opt_str(map, "description").map(|_| ())
    }

    /// The `type` of a schema object.
    fn type_of<'a>(&self, map: &'a Map<String, Json>) -> Result<&'a str, LexiconError> {
        self.opt_str(map, "type")?
            .ok_or_else(|| self.err_at("type", "is required"))
    }
}

/// A JSON number that is an integer in the i64 range (`3` or `3.0`, as JavaScript sees them).
fn json_integer(json: &Json) -> Option<i64> {
    let number = json.as_number()?;
    if let Some(i) = number.as_i64() {
        return Some(i);
    }
    let f = number.as_f64()?;
    // 2^63 as a float: the first value past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        #[allow(clippy::cast_possible_truncation)]
        return Some(f as i64);
    }
    None
}

fn parse_doc(json: &Json) -> Result<LexiconDoc, LexiconError> {
    let mut ctx = Ctx {
        id: "?".into(),
        path: String::new(),
    };
    let map = ctx.object(json)?;
    let id = match map.get("id") {
        Some(Json::String(s)) => {
            Nsid::parse(s).map_err(|e| ctx.err_at("id", format!("must be a valid nsid: {e}")))?
        }
        Some(_) => return Err(ctx.err_at("id", "must be a string")),
        None => return Err(ctx.err_at("id", "is required")),
    };
    ctx.id = id.as_str().to_owned();
    match map.get("lexicon").and_then(json_integer) {
        Some(1) => {}
        Some(_) => return Err(ctx.err_at("lexicon", "unsupported lexicon version (must be 1)")),
        None => return Err(ctx.err_at("lexicon", "is required and must be the integer 1")),
    }
    let revision = match map.get("revision") {
        None => None,
        Some(json) => {
            Some(json_integer(json).ok_or_else(|| ctx.err_at("revision", "must be an integer"))?)
        }
    };
    ctx.check_description(map)?;
    let defs_json = match map.get("defs") {
        Some(Json::Object(defs)) => defs,
        Some(_) => return Err(ctx.err_at("defs", "must be an object")),
        None => return Err(ctx.err_at("defs", "is required")),
    };
    if defs_json.is_empty() {
        return Err(ctx.err_at("defs", "must hold at least one definition"));
    }
    let mut defs = BTreeMap::new();
    let len = ctx.enter("defs");
    for (name, def_json) in defs_json {
        if !is_valid_def_name(name) {
            return Err(ctx.err_at(name, "definition name must be non-empty with no '#' or '.'"));
        }
        let inner = ctx.enter(name);
        let def = parse_def(&mut ctx, &id, def_json)?;
        if def.is_primary() && name != MAIN {
            return Err(ctx.err(format!(
                "a {} definition must be named \"main\"",
                def.type_name()
            )));
        }
        ctx.leave(inner);
        defs.insert(name.clone(), def);
    }
    ctx.leave(len);
    Ok(LexiconDoc { id, revision, defs })
}

/// One named definition.
fn parse_def(ctx: &mut Ctx, base: &Nsid, json: &Json) -> Result<Def, LexiconError> {
    let map = ctx.object(json)?;
    let type_name = ctx.type_of(map)?;
    match type_name {
        "record" => parse_record(ctx, base, map).map(Def::Record),
        "query" => parse_query(ctx, base, map).map(Def::Query),
        "procedure" => parse_procedure(ctx, base, map).map(Def::Procedure),
        "subscription" => parse_subscription(ctx, base, map).map(Def::Subscription),
        "permission-set" => parse_permission_set(ctx, map).map(Def::PermissionSet),
        "token" => {
            ctx.check_description(map)?;
            Ok(Def::Token)
        }
        "ref" | "union" | "unknown" | "null" | "params" | "permission" => Err(ctx.err(format!(
            "type {type_name:?} can not be used as a named definition"
        ))),
        _ => field::parse_field(ctx, base, json, 0).map(Def::Field),
    }
}

fn parse_record(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<RecordDef, LexiconError> {
    ctx.check_description(map)?;
    let key = ctx
        .opt_str(map, "key")?
        .ok_or_else(|| ctx.err_at("key", "is required"))?;
    let key = RecordKeyType::parse(key).map_err(|e| ctx.err_at("key", e.to_string()))?;
    let record = map
        .get("record")
        .ok_or_else(|| ctx.err_at("record", "is required"))?;
    let len = ctx.enter("record");
    let record = field::parse_object(ctx, base, record, 0)?;
    ctx.leave(len);
    Ok(RecordDef { key, record })
}

fn parse_query(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<QueryDef, LexiconError> {
    ctx.check_description(map)?;
    Ok(QueryDef {
        parameters: parse_opt_params(ctx, base, map)?,
        output: parse_opt_body(ctx, base, map, "output")?,
        errors: parse_errors(ctx, map)?,
    })
}

fn parse_procedure(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<ProcedureDef, LexiconError> {
    ctx.check_description(map)?;
    Ok(ProcedureDef {
        parameters: parse_opt_params(ctx, base, map)?,
        input: parse_opt_body(ctx, base, map, "input")?,
        output: parse_opt_body(ctx, base, map, "output")?,
        errors: parse_errors(ctx, map)?,
    })
}

fn parse_subscription(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<SubscriptionDef, LexiconError> {
    ctx.check_description(map)?;
    let parameters = parse_opt_params(ctx, base, map)?;
    let message = map
        .get("message")
        .ok_or_else(|| ctx.err_at("message", "is required"))?;
    let len = ctx.enter("message");
    let message_map = ctx.object(message)?;
    ctx.check_description(message_map)?;
    let schema = message_map
        .get("schema")
        .ok_or_else(|| ctx.err_at("schema", "is required"))?;
    ctx.enter("schema");
    let Field::Union(schema) = field::parse_field(ctx, base, schema, 0)? else {
        return Err(ctx.err("a subscription message schema must be a union"));
    };
    ctx.leave(len);
    Ok(SubscriptionDef {
        parameters,
        message: MessageSchema { schema },
        errors: parse_errors(ctx, map)?,
    })
}

fn parse_opt_params(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<Option<ParamsSchema>, LexiconError> {
    let Some(json) = map.get("parameters") else {
        return Ok(None);
    };
    let len = ctx.enter("parameters");
    let params = field::parse_params(ctx, base, json)?;
    ctx.leave(len);
    Ok(Some(params))
}

fn parse_opt_body(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
    key: &str,
) -> Result<Option<Body>, LexiconError> {
    let Some(json) = map.get(key) else {
        return Ok(None);
    };
    let len = ctx.enter(key);
    let body_map = ctx.object(json)?;
    ctx.check_description(body_map)?;
    let encoding = ctx
        .opt_str(body_map, "encoding")?
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ctx.err_at("encoding", "is required (a mime type)"))?
        .to_owned();
    let schema = match body_map.get("schema") {
        None => None,
        Some(schema_json) => {
            let inner = ctx.enter("schema");
            let schema = field::parse_field(ctx, base, schema_json, 0)?;
            if !matches!(schema, Field::Object(_) | Field::Ref(_) | Field::Union(_)) {
                return Err(ctx.err("a body schema must be an object, a ref or a union"));
            }
            ctx.leave(inner);
            Some(schema)
        }
    };
    ctx.leave(len);
    Ok(Some(Body { encoding, schema }))
}

fn parse_errors(ctx: &mut Ctx, map: &Map<String, Json>) -> Result<Vec<XrpcErrorDef>, LexiconError> {
    let Some(items) = ctx.opt_list(map, "errors")? else {
        return Ok(Vec::new());
    };
    let len = ctx.enter("errors");
    let mut errors = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let inner = ctx.enter(&i.to_string());
        let error_map = ctx.object(item)?;
        ctx.check_description(error_map)?;
        let name = ctx
            .opt_str(error_map, "name")?
            .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace))
            .ok_or_else(|| ctx.err_at("name", "is required: a name with no whitespace"))?;
        errors.push(XrpcErrorDef {
            name: name.to_owned(),
        });
        ctx.leave(inner);
    }
    ctx.leave(len);
    Ok(errors)
}

fn parse_permission_set(
    ctx: &mut Ctx,
    map: &Map<String, Json>,
) -> Result<PermissionSetDef, LexiconError> {
    ctx.check_description(map)?;
    let title = ctx.opt_str(map, "title")?.map(str::to_owned);
    let detail = ctx.opt_str(map, "detail")?.map(str::to_owned);
    let title_lang = permission::parse_lang_map(ctx, map, "title:lang")?;
    let detail_lang = permission::parse_lang_map(ctx, map, "detail:lang")?;
    let items = ctx
        .opt_list(map, "permissions")?
        .ok_or_else(|| ctx.err_at("permissions", "is required"))?;
    let len = ctx.enter("permissions");
    let mut permissions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let inner = ctx.enter(&i.to_string());
        permissions.push(permission::parse_permission(ctx, item)?);
        ctx.leave(inner);
    }
    ctx.leave(len);
    Ok(PermissionSetDef {
        title,
        title_lang,
        detail,
        detail_lang,
        permissions,
    })
}
