"""The checker's configuration: a JSON object chosen by the task's policy.

The host validates the configuration against the checker's schema before every
run; the SDK checks it again, because a checker never trusts its input, and
fills in the defaults the schema declares for absent top-level properties.
A configuration that does not fit is a `ConfigError`, which `check` returns
as `err` (the run could not be evaluated): never a finding.

The check covers the part of JSON Schema (draft 2020-12) that configuration
schemas use: `type`, `enum`, `const`, `properties`, `required`,
`additionalProperties`, `items`, `minItems`, `maxItems`, `uniqueItems`,
`minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
`exclusiveMinimum`, `exclusiveMaximum`. Other keywords are not checked here
(the host checks the full schema); annotations such as `title`,
`description` and `default` are ignored.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Dict, Mapping


class ConfigError(ValueError):
    """The configuration cannot be used."""


def parse_config(text: str, schema: Mapping[str, Any]) -> Dict[str, Any]:
    """Parses configuration JSON, validates it against `schema` and returns it
    with the defaults of absent top-level properties filled in.

    Blank text counts as `{}`: the host passes `{}` when a policy gives no
    configuration. Anything but a JSON object is refused.
    """
    if not isinstance(text, str) or not text.strip():
        text = "{}"
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"invalid checker configuration: not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ConfigError("invalid checker configuration: expected a JSON object")
    problem = validate(value, schema)
    if problem is not None:
        raise ConfigError(f"invalid checker configuration: {problem}")
    for name, prop in (schema.get("properties") or {}).items():
        if name not in value and isinstance(prop, dict) and "default" in prop:
            value[name] = copy.deepcopy(prop["default"])
    return value


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def validate(value: Any, schema: Any, at: str = "") -> "str | None":
    """The first problem of `value` against `schema` (the subset described in
    the module documentation) as `` `at`: problem ``, or `None`."""
    where = f"`{at or '/'}`"
    if schema is True or schema is None:
        return None
    if schema is False:
        return f"{where}: not allowed"
    if not isinstance(schema, Mapping):
        return None
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES.get(k, lambda v: False)(value) for k in kinds):
            return f"{where}: expected {' or '.join(kinds)}, got {json.dumps(value)[:80]}"
    if "enum" in schema and not any(_same(value, v) for v in schema["enum"]):
        return f"{where}: must be one of {json.dumps(schema['enum'])[:200]}"
    if "const" in schema and not _same(value, schema["const"]):
        return f"{where}: must be {json.dumps(schema['const'])[:200]}"
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value:
                return f"{where}: `{name}` is required"
        extra = schema.get("additionalProperties", True)
        for name in value:
            sub = properties.get(name, extra)
            if sub is False and name not in properties:
                return f"{where}: unknown option `{name}`"
            problem = validate(value[name], sub, f"{at}/{name}")
            if problem:
                return problem
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{where}: at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{where}: at most {schema['maxItems']} items"
        if schema.get("uniqueItems") and any(
            _same(a, b) for i, a in enumerate(value) for b in value[i + 1:]
        ):
            return f"{where}: items must be unique"
        for i, item in enumerate(value):
            problem = validate(item, schema.get("items", True), f"{at}/{i}")
            if problem:
                return problem
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{where}: at least {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where}: at most {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{where}: must match {schema['pattern']}"
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: must be at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: must be at most {schema['maximum']}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f"{where}: must be more than {schema['exclusiveMinimum']}"
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return f"{where}: must be less than {schema['exclusiveMaximum']}"
    return None


def _same(a: Any, b: Any) -> bool:
    # JSON equality: `true` is not `1`.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b
