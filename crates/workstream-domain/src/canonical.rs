//! Canonical JSON: one byte string per JSON value, so equal values hash equally.
//!
//! Policies, manifests and audit payloads are hashed as canonical JSON (see
//! [`Digest::of_canonical_json`](crate::digest::Digest::of_canonical_json)); the rules
//! below are therefore part of every stored hash and must never change:
//!
//! - UTF-8, no byte-order mark, no insignificant whitespace.
//! - Object members sorted by key, comparing the keys' UTF-8 bytes (the same order as
//!   Unicode code points). This is *not* RFC 8785's UTF-16 order: the two differ only
//!   for keys mixing characters above U+FFFF with characters in U+E000..U+FFFF.
//!   Keys are unique (a `serde_json::Value` cannot hold duplicates).
//! - Strings are written as raw UTF-8 with only the escapes JSON requires: `\"`, `\\`,
//!   the short forms `\b \f \n \r \t`, and `\u00XX` with lowercase hex for the other
//!   control characters U+0000..U+001F. Nothing else is escaped (not `/`, not DEL,
//!   not U+2028/U+2029, not non-ASCII).
//! - Numbers must be integers and are written in plain decimal (`-12`,
//!   `18446744073709551615`). Any other number (`1.5`, `1e3`, even `1.0`, which
//!   `serde_json` parses as a float) is refused rather than rounded, because floats
//!   have no single canonical spelling. Exact quantities travel as strings (see
//!   [`Quantity`](crate::quantity::Quantity)). NaN and infinities cannot occur: a
//!   `Value` cannot hold them.
//! - `true`, `false`, `null` as themselves; arrays keep their order.
//!
//! There is no depth limit here: values come from `serde_json`, whose parser already
//! stops at 128 levels.

use crate::error_code::ErrorCode;
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// A value that has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CanonicalError {
    /// A number that is not an integer.
    #[error("number {number} at `{pointer}` is not an integer")]
    NonIntegerNumber {
        /// JSON Pointer (RFC 6901) to the number; empty for the root.
        pointer: String,
        /// The number as `serde_json` prints it.
        number: String,
    },
}

impl CanonicalError {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        match self {
            CanonicalError::NonIntegerNumber { .. } => ErrorCode::CanonicalJsonNonInteger,
        }
    }
}

/// The canonical text of `value`.
pub fn to_canonical_string(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

/// The canonical bytes of `value` (the UTF-8 of [`to_canonical_string`]).
pub fn to_canonical_bytes(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    to_canonical_string(value).map(String::into_bytes)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_integer(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item).map_err(|e| e.under(&i.to_string()))?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map)?,
    }
    Ok(())
}

fn write_object(out: &mut String, map: &Map<String, Value>) -> Result<(), CanonicalError> {
    // Sort explicitly: `Map` is only sorted when serde_json's `preserve_order`
    // feature is off, and any crate in the build could turn it on.
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (i, (key, item)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, item).map_err(|e| e.under(key))?;
    }
    out.push('}');
    Ok(())
}

fn write_integer(out: &mut String, n: &Number) -> Result<(), CanonicalError> {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else {
        return Err(CanonicalError::NonIntegerNumber {
            pointer: String::new(),
            number: n.to_string(),
        });
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl CanonicalError {
    /// Prefixes the pointer with one reference token, escaping `~` and `/` (RFC 6901).
    fn under(self, token: &str) -> Self {
        match self {
            CanonicalError::NonIntegerNumber { pointer, number } => {
                let token = token.replace('~', "~0").replace('/', "~1");
                CanonicalError::NonIntegerNumber {
                    pointer: format!("/{token}{pointer}"),
                    number,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        to_canonical_string(v).unwrap()
    }

    #[test]
    fn keys_are_sorted_by_utf8_bytes_at_every_level() {
        let v = json!({"b": 1, "a": {"z": true, "A": null, "é": 0, "e": [3, 2, 1]}});
        assert_eq!(
            canon(&v),
            r#"{"a":{"A":null,"e":[3,2,1],"z":true,"é":0},"b":1}"#
        );
    }

    #[test]
    fn strings_escape_only_what_json_requires() {
        let v = json!("q\" b\\ \u{08}\u{0C}\n\r\t \u{0}\u{1f} / \u{7f} \u{2028} é 😀");
        assert_eq!(
            canon(&v),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0000\\u001f / \u{7f} \u{2028} é 😀\""
        );
    }

    #[test]
    fn floats_are_refused_with_a_pointer() {
        let v: Value = serde_json::from_str(r#"{"a":[0,{"x/y~":1.5}]}"#).unwrap();
        let err = to_canonical_string(&v).unwrap_err();
        assert_eq!(err.code(), "canonical_json_non_integer");
        assert_eq!(
            err,
            CanonicalError::NonIntegerNumber {
                pointer: "/a/1/x~1y~0".into(),
                number: "1.5".into()
            }
        );
        let root: Value = serde_json::from_str("1e3").unwrap();
        assert!(to_canonical_string(&root).is_err());
        let one_point_zero: Value = serde_json::from_str("1.0").unwrap();
        assert!(to_canonical_string(&one_point_zero).is_err());
    }

    #[test]
    fn parsing_whitespace_and_order_do_not_matter() {
        let a: Value = serde_json::from_str("{ \"b\" : [ 1 , 2 ] ,\n \"a\" : \"x\" }").unwrap();
        let b: Value = serde_json::from_str(r#"{"a":"x","b":[1,2]}"#).unwrap();
        assert_eq!(canon(&a), canon(&b));
        assert_eq!(canon(&a), r#"{"a":"x","b":[1,2]}"#);
    }
}
