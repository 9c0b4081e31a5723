//! Parsing of field types: the constraints of each type, objects and their properties, arrays,
//! params, refs and unions.
//!
//! Checks beyond the shape of each field: `minimum <= maximum` (and the same for lengths and
//! graphemes), no negative length, no `default` beside `const`, a `default` or `const` that itself
//! satisfies the field's other constraints (so a missing value that the default fills in is known
//! to be valid), a known string `format`, supported blob `accept` patterns, a positive `maxSize`,
//! `required` and `nullable` naming existing properties, no closed union without refs, and params
//! holding only booleans, integers, strings, unknowns and arrays of those.
//!
//! `null` is accepted as a field type (it was one in earlier versions of the spec; today's spec and
//! the reference parser no longer list it). It matches only the null value.
//!
//! Spec: <https://atproto.com/specs/lexicon#field-type-definitions>

use serde_json::{Map, Value as Json};

use crate::core::syntax::{Nsid, quote};

use super::super::validate::scalar;
use super::super::{
    ArraySchema, BlobSchema, BooleanSchema, BytesSchema, DefRef, Field, IntegerSchema,
    LexiconError, MimePattern, ObjectSchema, ParamsSchema, Property, StringFormat, StringSchema,
    UnionSchema,
};
use super::{Ctx, MAX_SCHEMA_DEPTH};

/// One field schema, at nesting level `depth` within its definition.
pub(super) fn parse_field(
    ctx: &mut Ctx,
    base: &Nsid,
    json: &Json,
    depth: usize,
) -> Result<Field, LexiconError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(ctx.err(format!(
            "schema nests deeper than {MAX_SCHEMA_DEPTH} levels"
        )));
    }
    let map = ctx.object(json)?;
    let type_name = ctx.type_of(map)?;
    ctx.check_description(map)?;
    Ok(match type_name {
        "null" => Field::Null,
        "boolean" => Field::Boolean(parse_boolean(ctx, map)?),
        "integer" => Field::Integer(parse_integer(ctx, map)?),
        "string" => Field::String(parse_string(ctx, map)?),
        "bytes" => Field::Bytes(parse_bytes(ctx, map)?),
        "cid-link" => Field::CidLink,
        "blob" => Field::Blob(parse_blob(ctx, map)?),
        "array" => Field::Array(Box::new(parse_array(ctx, base, map, depth)?)),
        "object" => Field::Object(parse_object_map(ctx, base, map, depth)?),
        "ref" => Field::Ref(parse_ref(ctx, base, map)?),
        "union" => Field::Union(parse_union(ctx, base, map)?),
        "unknown" => Field::Unknown,
        "record" | "query" | "procedure" | "subscription" | "permission-set" => {
            return Err(ctx.err(format!(
                "a {type_name} can only be the \"main\" definition of a document"
            )));
        }
        "token" => return Err(ctx.err("a token can only be a named definition")),
        "params" => return Err(ctx.err("params can only be the parameters of an endpoint")),
        "permission" => return Err(ctx.err("a permission can only be part of a permission set")),
        other => return Err(ctx.err(format!("unknown schema type {:?}", quote(other)))),
    })
}

/// An `object` schema where one is required (a record's `record`).
pub(super) fn parse_object(
    ctx: &mut Ctx,
    base: &Nsid,
    json: &Json,
    depth: usize,
) -> Result<ObjectSchema, LexiconError> {
    let map = ctx.object(json)?;
    if ctx.opt_str(map, "type")? != Some("object") {
        return Err(ctx.err("must be a schema of type \"object\""));
    }
    ctx.check_description(map)?;
    parse_object_map(ctx, base, map, depth)
}

fn parse_object_map(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
    depth: usize,
) -> Result<ObjectSchema, LexiconError> {
    let properties = parse_properties(ctx, base, map, depth, true)?;
    Ok(ObjectSchema { properties })
}

/// `params`: like an object's properties, restricted to query-string types, with no `nullable`.
pub(super) fn parse_params(
    ctx: &mut Ctx,
    base: &Nsid,
    json: &Json,
) -> Result<ParamsSchema, LexiconError> {
    let map = ctx.object(json)?;
    if ctx.opt_str(map, "type")? != Some("params") {
        return Err(ctx.err("must be a schema of type \"params\""));
    }
    ctx.check_description(map)?;
    let properties = parse_properties(ctx, base, map, 0, false)?;
    for property in &properties {
        let allowed = match &property.schema {
            Field::Array(array) => is_param_scalar(&array.items),
            other => is_param_scalar(other),
        };
        if !allowed {
            return Err(ctx.err_at(
                &format!("properties/{}", property.name),
                "a parameter must be a boolean, integer, string or unknown, or an array of those",
            ));
        }
    }
    Ok(ParamsSchema { properties })
}

fn is_param_scalar(field: &Field) -> bool {
    matches!(
        field,
        Field::Boolean(_) | Field::Integer(_) | Field::String(_) | Field::Unknown
    )
}

/// `properties`, `required` and (for objects) `nullable`.
fn parse_properties(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
    depth: usize,
    allow_nullable: bool,
) -> Result<Vec<Property>, LexiconError> {
    let required = ctx.opt_str_list(map, "required")?.unwrap_or_default();
    let nullable = if allow_nullable {
        ctx.opt_str_list(map, "nullable")?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let properties_json = match map.get("properties") {
        None => None,
        Some(Json::Object(properties)) => Some(properties),
        Some(_) => return Err(ctx.err_at("properties", "must be an object")),
    };
    let mut properties = Vec::with_capacity(properties_json.map_or(0, Map::len));
    if let Some(properties_json) = properties_json {
        let len = ctx.enter("properties");
        for (name, json) in properties_json {
            if name.is_empty() {
                return Err(ctx.err("a property name must not be empty"));
            }
            let inner = ctx.enter(name);
            let schema = parse_field(ctx, base, json, depth + 1)?;
            ctx.leave(inner);
            properties.push(Property {
                name: name.clone(),
                schema,
                required: required.contains(&name.as_str()),
                nullable: nullable.contains(&name.as_str()),
            });
        }
        ctx.leave(len);
    }
    for (key, names) in [("required", &required), ("nullable", &nullable)] {
        if let Some(missing) = names
            .iter()
            .find(|n| !properties.iter().any(|p| p.name == **n))
        {
            return Err(ctx.err_at(
                key,
                format!("names {:?}, which is not a property", quote(missing)),
            ));
        }
    }
    Ok(properties)
}

fn parse_boolean(ctx: &Ctx, map: &Map<String, Json>) -> Result<BooleanSchema, LexiconError> {
    let schema = BooleanSchema {
        default: ctx.opt_bool(map, "default")?,
        const_value: ctx.opt_bool(map, "const")?,
    };
    if schema.default.is_some() && schema.const_value.is_some() {
        return Err(ctx.err("\"default\" and \"const\" are mutually exclusive"));
    }
    Ok(schema)
}

fn parse_integer(ctx: &Ctx, map: &Map<String, Json>) -> Result<IntegerSchema, LexiconError> {
    let schema = IntegerSchema {
        minimum: ctx.opt_int(map, "minimum")?,
        maximum: ctx.opt_int(map, "maximum")?,
        enum_values: ctx.opt_int_list(map, "enum")?,
        default: ctx.opt_int(map, "default")?,
        const_value: ctx.opt_int(map, "const")?,
    };
    check_order(ctx, schema.minimum, schema.maximum, "minimum", "maximum")?;
    if schema.default.is_some() && schema.const_value.is_some() {
        return Err(ctx.err("\"default\" and \"const\" are mutually exclusive"));
    }
    for (key, value) in [("default", schema.default), ("const", schema.const_value)] {
        if let Some(value) = value {
            scalar::integer_value(&schema, value)
                .map_err(|v| ctx.err_at(key, format!("does not satisfy the schema: {v}")))?;
        }
    }
    Ok(schema)
}

fn parse_string(ctx: &Ctx, map: &Map<String, Json>) -> Result<StringSchema, LexiconError> {
    let format = match ctx.opt_str(map, "format")? {
        None => None,
        Some(name) => Some(StringFormat::from_name(name).ok_or_else(|| {
            ctx.err_at("format", format!("unknown string format {:?}", quote(name)))
        })?),
    };
    let owned = |list: Option<Vec<&str>>| list.map(|l| l.into_iter().map(str::to_owned).collect());
    let schema = StringSchema {
        format,
        min_length: ctx.opt_count(map, "minLength")?,
        max_length: ctx.opt_count(map, "maxLength")?,
        min_graphemes: ctx.opt_count(map, "minGraphemes")?,
        max_graphemes: ctx.opt_count(map, "maxGraphemes")?,
        known_values: owned(ctx.opt_str_list(map, "knownValues")?).unwrap_or_default(),
        enum_values: owned(ctx.opt_str_list(map, "enum")?),
        default: ctx.opt_str(map, "default")?.map(str::to_owned),
        const_value: ctx.opt_str(map, "const")?.map(str::to_owned),
    };
    check_order(
        ctx,
        schema.min_length,
        schema.max_length,
        "minLength",
        "maxLength",
    )?;
    check_order(
        ctx,
        schema.min_graphemes,
        schema.max_graphemes,
        "minGraphemes",
        "maxGraphemes",
    )?;
    if schema.default.is_some() && schema.const_value.is_some() {
        return Err(ctx.err("\"default\" and \"const\" are mutually exclusive"));
    }
    for (key, value) in [("default", &schema.default), ("const", &schema.const_value)] {
        if let Some(value) = value {
            scalar::string_value(&schema, value)
                .map_err(|v| ctx.err_at(key, format!("does not satisfy the schema: {v}")))?;
        }
    }
    Ok(schema)
}

fn parse_bytes(ctx: &Ctx, map: &Map<String, Json>) -> Result<BytesSchema, LexiconError> {
    let schema = BytesSchema {
        min_length: ctx.opt_count(map, "minLength")?,
        max_length: ctx.opt_count(map, "maxLength")?,
    };
    check_order(
        ctx,
        schema.min_length,
        schema.max_length,
        "minLength",
        "maxLength",
    )?;
    Ok(schema)
}

fn parse_blob(ctx: &Ctx, map: &Map<String, Json>) -> Result<BlobSchema, LexiconError> {
    let accept = ctx
        .opt_str_list(map, "accept")?
        .unwrap_or_default()
        .into_iter()
        .map(|pattern| {
            MimePattern::parse(pattern)
                .map_err(|reason| ctx.err_at("accept", format!("{:?}: {reason}", quote(pattern))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_size = ctx.opt_count(map, "maxSize")?;
    if max_size == Some(0) {
        return Err(ctx.err_at("maxSize", "must be greater than zero"));
    }
    Ok(BlobSchema { accept, max_size })
}

fn parse_array(
    ctx: &mut Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
    depth: usize,
) -> Result<ArraySchema, LexiconError> {
    let min_length = ctx.opt_count(map, "minLength")?;
    let max_length = ctx.opt_count(map, "maxLength")?;
    check_order(ctx, min_length, max_length, "minLength", "maxLength")?;
    let items = map
        .get("items")
        .ok_or_else(|| ctx.err_at("items", "is required"))?;
    let len = ctx.enter("items");
    let items = parse_field(ctx, base, items, depth + 1)?;
    ctx.leave(len);
    Ok(ArraySchema {
        items,
        min_length,
        max_length,
    })
}

fn parse_ref(ctx: &Ctx, base: &Nsid, map: &Map<String, Json>) -> Result<DefRef, LexiconError> {
    let reference = ctx
        .opt_str(map, "ref")?
        .ok_or_else(|| ctx.err_at("ref", "is required"))?;
    DefRef::parse(reference, Some(base)).map_err(|reason| ctx.err_at("ref", reason))
}

fn parse_union(
    ctx: &Ctx,
    base: &Nsid,
    map: &Map<String, Json>,
) -> Result<UnionSchema, LexiconError> {
    let refs = ctx
        .opt_str_list(map, "refs")?
        .ok_or_else(|| ctx.err_at("refs", "is required"))?
        .into_iter()
        .map(|r| {
            DefRef::parse(r, Some(base))
                .map_err(|reason| ctx.err_at("refs", format!("{:?}: {reason}", quote(r))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let closed = ctx.opt_bool(map, "closed")?.unwrap_or(false);
    if closed && refs.is_empty() {
        return Err(ctx.err("a closed union must have at least one ref"));
    }
    Ok(UnionSchema { refs, closed })
}

/// `min <= max` where both are given.
fn check_order<T: PartialOrd>(
    ctx: &Ctx,
    min: Option<T>,
    max: Option<T>,
    min_key: &str,
    max_key: &str,
) -> Result<(), LexiconError> {
    match (min, max) {
        (Some(min), Some(max)) if max < min => {
            Err(ctx.err(format!("{max_key} must not be less than {min_key}")))
        }
        _ => Ok(()),
    }
}
