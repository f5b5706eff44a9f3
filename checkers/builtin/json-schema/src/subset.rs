//! The JSON Schema subset this checker understands (draft 2020-12 meaning).
//!
//! | keyword | applies to |
//! |---|---|
//! | `type` (name or list of names; `integer` accepts `1.0`) | any |
//! | `enum`, `const` (numbers compare by value: `1 == 1.0`) | any |
//! | `properties`, `required`, `additionalProperties` (bool or schema), `minProperties`, `maxProperties` | objects |
//! | `items` (one schema for every element), `minItems`, `maxItems`, `uniqueItems` | arrays |
//! | `minLength`, `maxLength` (in characters, not bytes) | strings |
//! | `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers) | numbers |
//! | `$ref` to `#` or a local JSON pointer (`#/$defs/x`), applied with its siblings | any |
//!
//! Annotations that do not constrain (`$schema`, `$id`, `$comment`, `title`,
//! `description`, `default`, `examples`, `deprecated`, `readOnly`,
//! `writeOnly`, `format`) are accepted and ignored; `$defs` and
//! `definitions` hold schemas for `$ref`. [`check_schema`] rejects every
//! other keyword (`pattern`, `anyOf`, `if`, tuple `items`, remote `$ref`,
//! ...) so that nothing is silently skipped.

use std::fmt;

use serde_json::{Map, Value};

/// Keywords accepted and ignored.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
];

/// How deep `$ref` chains and nesting may go before the schema is treated
/// as cyclic.
const MAX_DEPTH: usize = 64;

/// One way the document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value (`""` for the whole document).
    pub pointer: String,
    /// What is wrong, in plain words.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "At the top level: {}.", self.problem)
        } else {
            write!(f, "At {}: {}.", self.pointer, self.problem)
        }
    }
}

/// Checks that `schema` uses only the supported subset, with well-formed
/// keyword values and resolvable references. The error names the keyword
/// and where it is.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    check_node(schema, schema, "#", 0)
}

fn check_node(root: &Value, node: &Value, at: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested too deeply at {at}"));
    }
    let object = match node {
        Value::Bool(_) => return Ok(()),
        Value::Object(object) => object,
        _ => {
            return Err(format!(
                "{at} is not a schema (expected an object or a boolean)"
            ));
        }
    };
    for (keyword, value) in object {
        let here = format!("{at}/{keyword}");
        let bad = |expected: &str| Err(format!("{here} must be {expected}"));
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "type" => {
                let names: Vec<&Value> = match value {
                    Value::Array(names) => names.iter().collect(),
                    one => vec![one],
                };
                if names.is_empty()
                    || !names
                        .iter()
                        .all(|name| name.as_str().is_some_and(is_type_name))
                {
                    return bad("a type name or a list of type names");
                }
            }
            "enum" if !value.is_array() => return bad("an array"),
            "enum" | "const" => {}
            "required" => {
                if !value
                    .as_array()
                    .is_some_and(|names| names.iter().all(Value::is_string))
                {
                    return bad("an array of property names");
                }
            }
            "properties" | "$defs" | "definitions" => {
                let Some(schemas) = value.as_object() else {
                    return bad("an object of schemas");
                };
                for (name, schema) in schemas {
                    check_node(root, schema, &format!("{here}/{name}"), depth + 1)?;
                }
            }
            "additionalProperties" | "items" => {
                if value.is_array() {
                    return Err(format!("{here}: the array (tuple) form is not supported"));
                }
                check_node(root, value, &here, depth + 1)?;
            }
            "minProperties" | "maxProperties" | "minItems" | "maxItems" | "minLength"
            | "maxLength" => {
                if value.as_u64().is_none() {
                    return bad("a non-negative integer");
                }
            }
            "uniqueItems" if !value.is_boolean() => return bad("true or false"),
            "uniqueItems" => {}
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
                if !value.is_number() =>
            {
                return bad("a number");
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {}
            "$ref" => {
                let Some(reference) = value.as_str() else {
                    return bad("a string");
                };
                if resolve(root, reference).is_none() {
                    return Err(format!(
                        "{here}: `{reference}` is not a local reference into this schema"
                    ));
                }
            }
            other => return Err(format!("keyword `{other}` at {at} is not supported")),
        }
    }
    Ok(())
}

fn is_type_name(name: &str) -> bool {
    matches!(
        name,
        "null" | "boolean" | "object" | "array" | "number" | "integer" | "string"
    )
}

/// Resolves a local reference (`#` or `#/json/pointer`) within `root`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    // `Value::pointer` implements RFC 6901 unescaping (`~0`, `~1`);
    // percent-encoding in URI fragments is not supported.
    root.pointer(pointer)
}

/// Validates `document` against `schema` (which passed [`check_schema`]),
/// returning at most `max` violations in document order.
pub fn validate(schema: &Value, document: &Value, max: usize) -> Vec<Violation> {
    let mut validator = Validator {
        root: schema,
        found: Vec::new(),
        max,
    };
    validator.node(schema, document, &mut String::new(), 0);
    validator.found
}

struct Validator<'a> {
    root: &'a Value,
    found: Vec<Violation>,
    max: usize,
}

impl Validator<'_> {
    fn report(&mut self, pointer: &str, problem: String) {
        if self.found.len() < self.max {
            self.found.push(Violation {
                pointer: pointer.to_owned(),
                problem,
            });
        }
    }

    fn full(&self) -> bool {
        self.found.len() >= self.max
    }

    fn node(&mut self, schema: &Value, value: &Value, pointer: &mut String, depth: usize) {
        if self.full() {
            return;
        }
        if depth > MAX_DEPTH {
            self.report(
                pointer,
                "the schema refers to itself too deeply to check this value".to_owned(),
            );
            return;
        }
        let rules = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                self.report(pointer, "no value is allowed here".to_owned());
                return;
            }
            Value::Object(rules) => rules,
            _ => return, // excluded by check_schema
        };
        if let Some(target) = rules
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve(self.root, r))
        {
            self.node(target, value, pointer, depth + 1);
        }
        if let Some(expected) = rules.get("type")
            && !type_matches(expected, value)
        {
            let names = match expected {
                Value::Array(names) => names
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" or "),
                name => name.as_str().unwrap_or_default().to_owned(),
            };
            self.report(pointer, format!("expected {names}, found {}", kind(value)));
            // Other keywords would only repeat the type mismatch.
            return;
        }
        if let Some(Value::Array(allowed)) = rules.get("enum")
            && !allowed.iter().any(|candidate| equal(candidate, value))
        {
            let listed: Vec<String> = allowed.iter().take(10).map(Value::to_string).collect();
            let more = if allowed.len() > 10 { ", ..." } else { "" };
            self.report(
                pointer,
                format!(
                    "the value is not one of the allowed values ({}{more})",
                    listed.join(", ")
                ),
            );
        }
        if let Some(expected) = rules.get("const")
            && !equal(expected, value)
        {
            self.report(pointer, format!("the value must be {expected}"));
        }
        match value {
            Value::Object(object) => self.object(rules, object, pointer, depth),
            Value::Array(items) => self.array(rules, items, pointer, depth),
            Value::String(text) => self.string(rules, text, pointer),
            Value::Number(_) => self.number(rules, value, pointer),
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn object(
        &mut self,
        rules: &Map<String, Value>,
        object: &Map<String, Value>,
        pointer: &mut String,
        depth: usize,
    ) {
        let properties = rules.get("properties").and_then(Value::as_object);
        if let Some(additional) = rules.get("additionalProperties") {
            for (name, value) in object {
                if properties.is_some_and(|known| known.contains_key(name)) {
                    continue;
                }
                if additional == &Value::Bool(false) {
                    self.report(
                        pointer,
                        format!("property {} is not allowed", Value::from(name.as_str())),
                    );
                } else {
                    self.descend(additional, value, pointer, name, depth);
                }
            }
        }
        if let Some(properties) = properties {
            for (name, schema) in properties {
                if let Some(value) = object.get(name) {
                    self.descend(schema, value, pointer, name, depth);
                }
            }
        }
        for name in rules
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                self.report(
                    pointer,
                    format!("the required property {} is missing", Value::from(name)),
                );
            }
        }
        self.bounds(
            rules,
            "minProperties",
            "maxProperties",
            object.len(),
            "properties",
            pointer,
        );
    }

    fn array(
        &mut self,
        rules: &Map<String, Value>,
        items: &[Value],
        pointer: &mut String,
        depth: usize,
    ) {
        if let Some(schema) = rules.get("items") {
            for (index, item) in items.iter().enumerate() {
                self.descend(schema, item, pointer, &index.to_string(), depth);
            }
        }
        self.bounds(rules, "minItems", "maxItems", items.len(), "items", pointer);
        if rules.get("uniqueItems") == Some(&Value::Bool(true)) {
            let duplicate = (1..items.len())
                .find(|&i| items[..i].iter().any(|earlier| equal(earlier, &items[i])));
            if let Some(index) = duplicate {
                self.report(
                    pointer,
                    format!("items must be unique, but item {index} repeats an earlier one"),
                );
            }
        }
    }

    fn string(&mut self, rules: &Map<String, Value>, text: &str, pointer: &str) {
        self.bounds(
            rules,
            "minLength",
            "maxLength",
            text.chars().count(),
            "characters",
            pointer,
        );
    }

    fn number(&mut self, rules: &Map<String, Value>, value: &Value, pointer: &str) {
        let Some(number) = value.as_f64() else { return };
        let limit = |name: &str| rules.get(name).and_then(Value::as_f64);
        if let Some(minimum) = limit("minimum")
            && number < minimum
        {
            self.report(
                pointer,
                format!("{value} is less than the minimum {}", rules["minimum"]),
            );
        }
        if let Some(maximum) = limit("maximum")
            && number > maximum
        {
            self.report(
                pointer,
                format!("{value} is greater than the maximum {}", rules["maximum"]),
            );
        }
        if let Some(bound) = limit("exclusiveMinimum")
            && number <= bound
        {
            self.report(
                pointer,
                format!("{value} must be greater than {}", rules["exclusiveMinimum"]),
            );
        }
        if let Some(bound) = limit("exclusiveMaximum")
            && number >= bound
        {
            self.report(
                pointer,
                format!("{value} must be less than {}", rules["exclusiveMaximum"]),
            );
        }
    }

    fn bounds(
        &mut self,
        rules: &Map<String, Value>,
        min: &str,
        max: &str,
        count: usize,
        unit: &str,
        pointer: &str,
    ) {
        let count = count as u64;
        if let Some(min) = rules.get(min).and_then(Value::as_u64)
            && count < min
        {
            self.report(
                pointer,
                format!("has {count} {unit}, fewer than the minimum {min}"),
            );
        }
        if let Some(max) = rules.get(max).and_then(Value::as_u64)
            && count > max
        {
            self.report(
                pointer,
                format!("has {count} {unit}, more than the maximum {max}"),
            );
        }
    }

    /// Validates a child value with the pointer extended by `key`.
    fn descend(
        &mut self,
        schema: &Value,
        value: &Value,
        pointer: &mut String,
        key: &str,
        depth: usize,
    ) {
        let length = pointer.len();
        pointer.push('/');
        // RFC 6901 escaping.
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        self.node(schema, value, pointer, depth + 1);
        pointer.truncate(length);
    }
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::Array(names) => names.iter().any(|name| type_matches(name, value)),
        Value::String(name) => match name.as_str() {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|n| n.fract() == 0.0)
            }
            _ => false,
        },
        _ => false,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON equality as JSON Schema defines it: numbers by value.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| equal(value, other)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(schema: Value, document: Value) -> Vec<String> {
        check_schema(&schema).unwrap();
        validate(&schema, &document, 100)
            .into_iter()
            .map(|v| v.to_string())
            .collect()
    }

    #[test]
    fn types() {
        assert!(problems(json!({"type": "integer"}), json!(3)).is_empty());
        assert!(problems(json!({"type": "integer"}), json!(3.0)).is_empty());
        assert_eq!(
            problems(json!({"type": "integer"}), json!(3.5)),
            ["At the top level: expected integer, found a number."]
        );
        assert!(problems(json!({"type": ["string", "null"]}), json!(null)).is_empty());
        assert_eq!(
            problems(
                json!({"type": ["string", "null"], "minLength": 3}),
                json!(1)
            ),
            ["At the top level: expected string or null, found a number."]
        );
        assert!(problems(json!(true), json!({"anything": 1})).is_empty());
        assert_eq!(
            problems(json!(false), json!(1)),
            ["At the top level: no value is allowed here."]
        );
    }

    #[test]
    fn objects() {
        let schema = json!({"properties": {"a": {"type": "string"}}, "required": ["a", "b"],
                            "additionalProperties": {"type": "number"}, "maxProperties": 2});
        assert_eq!(
            problems(schema, json!({"a": 1, "c": "x", "d/e": 2})),
            [
                "At /c: expected number, found a string.",
                "At /a: expected string, found a number.",
                "At the top level: the required property \"b\" is missing.",
                "At the top level: has 3 properties, more than the maximum 2.",
            ]
        );
    }

    #[test]
    fn arrays_and_strings() {
        let schema = json!({"items": {"type": "string", "maxLength": 2}, "minItems": 4, "uniqueItems": true});
        assert_eq!(
            problems(schema, json!(["ab", "abc", "ab"])),
            [
                "At /1: has 3 characters, more than the maximum 2.",
                "At the top level: has 3 items, fewer than the minimum 4.",
                "At the top level: items must be unique, but item 2 repeats an earlier one.",
            ]
        );
        assert!(
            problems(json!({"minLength": 2}), json!("éé")).is_empty(),
            "characters, not bytes"
        );
    }

    #[test]
    fn numbers_and_constants() {
        let schema = json!({"minimum": 1, "exclusiveMaximum": 10});
        assert!(problems(schema.clone(), json!(9.5)).is_empty());
        assert_eq!(
            problems(schema, json!(10)),
            ["At the top level: 10 must be less than 10."]
        );
        assert!(problems(json!({"const": 1}), json!(1.0)).is_empty());
        assert!(problems(json!({"enum": [[1, {"a": 2}]]}), json!([1.0, {"a": 2}])).is_empty());
        assert_eq!(
            problems(json!({"const": "x"}), json!("y")),
            ["At the top level: the value must be \"x\"."]
        );
    }

    #[test]
    fn references_and_pointer_escaping() {
        let schema = json!({"$defs": {"n": {"type": "number"}}, "properties": {"a/b": {"$ref": "#/$defs/n"}, "self": {"$ref": "#"}}});
        assert_eq!(
            problems(schema.clone(), json!({"a/b": "x"})),
            ["At /a~1b: expected number, found a string."]
        );
        assert_eq!(
            problems(schema, json!({"self": {"self": {"a/b": true}}})),
            ["At /self/self/a~1b: expected number, found a boolean."]
        );
    }

    #[test]
    fn cyclic_references_terminate() {
        let schema = json!({"$defs": {"loop": {"$ref": "#/$defs/loop"}}, "$ref": "#/$defs/loop"});
        check_schema(&schema).unwrap();
        let found = validate(&schema, &json!(1), 10);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn unsupported_schemas_are_rejected() {
        for schema in [
            json!({"pattern": "^a"}),
            json!({"anyOf": [true]}),
            json!({"items": [true]}),
            json!({"$ref": "https://example.com/s.json"}),
            json!({"$ref": "#/$defs/missing"}),
            json!({"type": "text"}),
            json!({"required": "a"}),
            json!({"minLength": -1}),
            json!({"properties": {"a": {"if": true}}}),
            json!(3),
        ] {
            assert!(
                check_schema(&schema).is_err(),
                "{schema} should be rejected"
            );
        }
        let err = check_schema(&json!({"properties": {"a": {"pattern": "x"}}})).unwrap_err();
        assert_eq!(err, "keyword `pattern` at #/properties/a is not supported");
    }

    #[test]
    fn violations_are_capped() {
        let schema = json!({"items": {"type": "string"}});
        assert_eq!(validate(&schema, &json!([1, 2, 3, 4, 5]), 2).len(), 2);
    }
}
