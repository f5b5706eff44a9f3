"""A check function and the glue between it and the component's exports.

`@checker(...)` turns `def check(request, findings)` into a `Checker`:

- `Checker.run(request)` is the check as the component runs it: the
  configuration is parsed and validated against the schema (`request.config`),
  the function adds findings, the result is a `Report`. A run that cannot be
  evaluated raises `CheckError`: a `ConfigError`, an unreadable packet file
  (`OSError`) or a bad packet path become one, and so does a `CheckError`
  the function raises itself.
- `Checker.component()` is the class componentize-py instantiates for the
  exports (`WitWorld = check.component()` in the app module): `info()`, and
  `check(input)`, which converts the generated `wit_world` records to a
  `Request` with the packet at `/packet`, calls `run` and converts the report
  back. `CheckError` becomes `err`; any other exception becomes `err` too
  (`internal error: ...`), never a trap, so operators get a message.

The messages of `err` go to operators, not contributors; still, keep them free
of secrets and file contents.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Dict, Mapping, Optional

from .config import ConfigError, parse_config
from .findings import DEFAULT_LIMIT, Findings, Report
from .packet import MOUNT_POINT, Packet, PacketPathError
from .request import POST_SUBMIT, PRE_SUBMIT, FileEntry, PriorFinding, Request

NO_CONFIG_SCHEMA: Dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
}
"""The schema of a checker without options: accepts `{}` only."""


class CheckError(Exception):
    """The packet cannot be evaluated at all; becomes the `err` of `check`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = str(message)


CheckFunction = Callable[[Request, Findings], Optional[Report]]


class Checker:
    """A checker: its self-description and its check (see the module docs)."""

    def __init__(self, function: CheckFunction, *, name: str, version: str, description: str,
                 config_schema: Optional[Mapping[str, Any]] = None,
                 limit: int = DEFAULT_LIMIT) -> None:
        schema = dict(NO_CONFIG_SCHEMA if config_schema is None else config_schema)
        if schema.get("type") != "object":
            raise ValueError("config_schema must describe an object (\"type\": \"object\")")
        for field, value in (("name", name), ("version", version)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{field} must be a non-empty string")
        self.function = function
        self.name = name
        self.version = version
        self.description = description
        self.config_schema = schema
        self.limit = limit
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", "check")

    def __repr__(self) -> str:
        return f"<checker {self.name} {self.version}>"

    def info(self) -> Dict[str, str]:
        """What `info()` returns: name, version, description and the schema as
        JSON text (keys sorted, so the text is the same on every call)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "config_schema": json.dumps(self.config_schema, sort_keys=True,
                                        separators=(",", ":")),
        }

    def run(self, request: Request) -> Report:
        """Runs the check on `request`; raises `CheckError` when it cannot be
        evaluated (see the module documentation)."""
        try:
            config = parse_config(request.configuration, self.config_schema)
            request = dataclasses.replace(request, config=config)
            findings = Findings(self.limit)
            returned = self.function(request, findings)
        except CheckError:
            raise
        except ConfigError as e:
            raise CheckError(str(e)) from e
        except PacketPathError as e:
            raise CheckError(f"not a packet path: {e}") from e
        except OSError as e:
            raise CheckError(f"cannot read a packet file: {e.strerror or e}") from e
        return returned if isinstance(returned, Report) else findings.report()

    def component(self) -> type:
        """The class componentize-py instantiates for the component's exports.
        Assign it to `WitWorld` in the app module."""
        return _component_class(self)


def checker(*, name: str, version: str, description: str,
            config_schema: Optional[Mapping[str, Any]] = None,
            limit: int = DEFAULT_LIMIT) -> Callable[[CheckFunction], Checker]:
    """Decorates `def check(request, findings)` into a `Checker`.

    `name` is the stable name policies use (`^[a-z][a-z0-9_.-]{0,99}$`,
    usually kebab-case); `version` changes whenever the findings for some
    input could change; `config_schema` is a JSON Schema (draft 2020-12) of
    the configuration object, `{}` only when absent; `limit` is how many
    findings are kept before the rest are counted (at most 255).
    The function adds findings to `findings` (or returns a `Report`).
    """

    def wrap(function: CheckFunction) -> Checker:
        return Checker(function, name=name, version=version, description=description,
                       config_schema=config_schema, limit=limit)

    return wrap


# ---- The component side: conversions from and to the generated bindings ----

def request_from_wit(wit_world: Any, input: Any, packet: Packet) -> Request:
    """A `Request` from the generated `wit_world.CheckInput`."""
    return Request(
        phase=PRE_SUBMIT if input.phase == wit_world.Phase.PRE_SUBMIT else POST_SUBMIT,
        manifest=[FileEntry(e.path, e.size, e.sha256, e.executable) for e in input.manifest],
        summary=input.summary,
        attestation=input.attestation,
        acceptance_criteria=input.acceptance_criteria,
        configuration=input.configuration,
        prior_findings=[
            PriorFinding(p.finding_id, p.area, p.issue, p.path, p.line, p.required_fix,
                         p.response)
            for p in input.prior_findings
        ],
        packet=packet,
    )


def report_to_wit(wit_world: Any, report: Report) -> Any:
    """The generated `wit_world.Report` of a `Report`."""
    levels = {"info": wit_world.Level.INFO, "warning": wit_world.Level.WARNING,
              "error": wit_world.Level.ERROR}
    return wit_world.Report(
        findings=[
            wit_world.Finding(code=f.code, level=levels[f.level], message=f.message,
                              path=f.path, line=f.line, suggested_fix=f.suggested_fix)
            for f in report.findings
        ],
        summary=report.summary,
    )


def _component_class(the_checker: Checker) -> type:
    class WitWorld:
        """The exports of the `checker` world for one `Checker`. The bindings
        are imported on first use, so the app module also imports natively."""

        def info(self) -> Any:
            import wit_world

            return wit_world.CheckerInfo(**the_checker.info())

        def check(self, input: Any) -> Any:
            import wit_world
            from componentize_py_types import Err

            try:
                request = request_from_wit(wit_world, input, Packet(MOUNT_POINT))
                report = the_checker.run(request)
                return report_to_wit(wit_world, report)
            except CheckError as e:
                raise Err(e.message) from None
            except Exception as e:  # a bug in the checker: still an `err`, not a trap
                raise Err(f"internal error: {type(e).__name__}: {e}") from None

    return WitWorld
