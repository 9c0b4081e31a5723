//! Checks of the scalar field types: null, boolean, integer, string, bytes and cid-link.
//!
//! Each check returns the [`Violation`] alone; the caller adds the path. String lengths are in
//! UTF-8 bytes, graphemes are extended grapheme clusters (Unicode UAX #29). Graphemes are counted
//! only when the byte length can not decide the answer (a string has at most as many graphemes as
//! bytes), and counting stops once the answer is known, so a huge string costs no more than its
//! limit. Checks run in the reference's order: const, enum, length, graphemes, format.
//!
//! Spec: <https://atproto.com/specs/lexicon#field-type-definitions>

use unicode_segmentation::UnicodeSegmentation;

use crate::core::data::Value;
use crate::core::syntax::quote;

use super::super::{BooleanSchema, BytesSchema, IntegerSchema, StringSchema, Violation};

fn wrong_type(expected: &'static str) -> Violation {
    Violation::WrongType { expected }
}

pub(crate) fn null(value: &Value) -> Result<(), Violation> {
    match value {
        Value::Null => Ok(()),
        _ => Err(wrong_type("null")),
    }
}

pub(crate) fn boolean(schema: &BooleanSchema, value: &Value) -> Result<(), Violation> {
    let Value::Bool(b) = value else {
        return Err(wrong_type("a boolean"));
    };
    match schema.const_value {
        Some(c) if c != *b => Err(Violation::NotConst(c.to_string())),
        _ => Ok(()),
    }
}

pub(crate) fn integer(schema: &IntegerSchema, value: &Value) -> Result<(), Violation> {
    match value {
        Value::Integer(i) => integer_value(schema, *i),
        _ => Err(wrong_type("an integer")),
    }
}

pub(crate) fn integer_value(schema: &IntegerSchema, value: i64) -> Result<(), Violation> {
    if let Some(c) = schema.const_value
        && c != value
    {
        return Err(Violation::NotConst(c.to_string()));
    }
    if let Some(allowed) = &schema.enum_values
        && !allowed.contains(&value)
    {
        return Err(Violation::NotInEnum);
    }
    if let Some(max) = schema.maximum
        && value > max
    {
        return Err(Violation::AboveMaximum(max));
    }
    if let Some(min) = schema.minimum
        && value < min
    {
        return Err(Violation::BelowMinimum(min));
    }
    Ok(())
}

pub(crate) fn string(schema: &StringSchema, value: &Value) -> Result<(), Violation> {
    match value {
        Value::String(s) => string_value(schema, s),
        _ => Err(wrong_type("a string")),
    }
}

pub(crate) fn string_value(schema: &StringSchema, value: &str) -> Result<(), Violation> {
    if let Some(c) = &schema.const_value
        && c != value
    {
        return Err(Violation::NotConst(format!("{:?}", quote(c))));
    }
    if let Some(allowed) = &schema.enum_values
        && !allowed.iter().any(|a| a == value)
    {
        return Err(Violation::NotInEnum);
    }
    let bytes = value.len() as u64;
    if let Some(max) = schema.max_length
        && bytes > max
    {
        return Err(Violation::TooLong(max));
    }
    if let Some(min) = schema.min_length
        && bytes < min
    {
        return Err(Violation::TooShort(min));
    }
    check_graphemes(schema, value)?;
    if let Some(format) = schema.format
        && !format.check(value)
    {
        return Err(Violation::Format(format));
    }
    Ok(())
}

fn check_graphemes(schema: &StringSchema, value: &str) -> Result<(), Violation> {
    let bytes = value.len() as u64;
    // A string never has more graphemes than bytes: short strings pass `max` without counting,
    // and fail `min` without counting.
    let max = schema.max_graphemes.filter(|max| bytes > *max);
    let min = schema.min_graphemes;
    if let Some(min) = min
        && bytes < min
    {
        return Err(Violation::TooFewGraphemes(min));
    }
    if max.is_none() && min.is_none_or(|min| min == 0) {
        return Ok(());
    }
    // Count no further than needed to decide both bounds.
    let limit = max.map_or(0, |m| m.saturating_add(1)).max(min.unwrap_or(0));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let count = value.graphemes(true).take(limit).count() as u64;
    if let Some(max) = max
        && count > max
    {
        return Err(Violation::TooManyGraphemes(max));
    }
    if let Some(min) = min
        && count < min
    {
        return Err(Violation::TooFewGraphemes(min));
    }
    Ok(())
}

pub(crate) fn bytes(schema: &BytesSchema, value: &Value) -> Result<(), Violation> {
    let Value::Bytes(b) = value else {
        return Err(wrong_type("a byte array"));
    };
    let len = b.len() as u64;
    if let Some(max) = schema.max_length
        && len > max
    {
        return Err(Violation::TooLong(max));
    }
    if let Some(min) = schema.min_length
        && len < min
    {
        return Err(Violation::TooShort(min));
    }
    Ok(())
}

pub(crate) fn cid_link(value: &Value) -> Result<(), Violation> {
    match value {
        Value::Link(_) => Ok(()),
        _ => Err(wrong_type("a cid link")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphemes(min: Option<u64>, max: Option<u64>, value: &str) -> Result<(), Violation> {
        let schema = StringSchema {
            min_graphemes: min,
            max_graphemes: max,
            ..StringSchema::default()
        };
        string_value(&schema, value)
    }

    #[test]
    fn grapheme_bounds() {
        let family = "👩‍👩‍👦‍👦"; // one grapheme, 25 bytes
        assert_eq!(graphemes(None, Some(1), family), Ok(()));
        assert_eq!(
            graphemes(None, Some(1), &family.repeat(2)),
            Err(Violation::TooManyGraphemes(1))
        );
        assert_eq!(
            graphemes(Some(2), None, family),
            Err(Violation::TooFewGraphemes(2))
        );
        assert_eq!(graphemes(Some(2), Some(2), &family.repeat(2)), Ok(()));
        assert_eq!(
            graphemes(Some(3), None, "ab"),
            Err(Violation::TooFewGraphemes(3))
        );
        assert_eq!(graphemes(Some(0), Some(0), ""), Ok(()));
        assert_eq!(
            graphemes(None, Some(0), "a"),
            Err(Violation::TooManyGraphemes(0))
        );
        assert_eq!(graphemes(None, Some(u64::MAX), "abc"), Ok(()));
        assert_eq!(
            graphemes(Some(u64::MAX), None, "abc"),
            Err(Violation::TooFewGraphemes(u64::MAX))
        );
    }

    #[test]
    fn lengths_are_utf8_bytes() {
        let schema = StringSchema {
            max_length: Some(3),
            ..StringSchema::default()
        };
        assert_eq!(string_value(&schema, "abc"), Ok(()));
        assert_eq!(string_value(&schema, "é©"), Err(Violation::TooLong(3)));
    }

    #[test]
    fn integer_checks_in_order() {
        let schema = IntegerSchema {
            minimum: Some(10),
            maximum: Some(20),
            enum_values: Some(vec![5, 15]),
            ..IntegerSchema::default()
        };
        assert_eq!(integer_value(&schema, 15), Ok(()));
        assert_eq!(integer_value(&schema, 16), Err(Violation::NotInEnum));
        assert_eq!(integer_value(&schema, 5), Err(Violation::BelowMinimum(10)));
        assert_eq!(
            integer(&schema, &Value::from("15")),
            Err(Violation::WrongType {
                expected: "an integer"
            })
        );
    }
}
