"""Guest SDK for Workstream checker components written in Python.

A checker is a WebAssembly component that inspects one immutable submission
packet and reports findings; the contract is `workstream:checker@0.2.0`
(world `checker`, `wit/checker.wit`). componentize-py turns a Python module
into such a component and generates the bindings (`wit_world`); this package
wraps them so that a checker is one decorated function:

    import workstream_checker as wc

    @wc.checker(
        name="short-answer",
        version="0.1.0",
        description="Checks that outputs/answer.md stays short.",
        config_schema={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"max_lines": {"type": "integer", "minimum": 1, "default": 40}},
            "additionalProperties": False,
        },
    )
    def check(request, findings):
        text = request.packet.read_text("outputs/answer.md")
        if text is not None and len(text.lines()) > request.config["max_lines"]:
            findings.warning("answer_too_long", "outputs/answer.md is too long.",
                             path="outputs/answer.md", fix="Shorten it.")

    # componentize-py instantiates the class named `WitWorld` of the app module.
    WitWorld = check.component()

The pieces, one concept per module:

- `component`: the `checker` decorator and `Checker` (info, `run`, the
  component class), `CheckError`.
- `request`: the typed request (`Request`, `FileEntry`, `PriorFinding`).
- `findings`: `Findings`, the builder that keeps a report within the host's
  limits, and `Finding`, `Report`.
- `packet`: reading the files mounted read-only at `/packet` (`Packet`,
  `TextFile`, `check_path`).
- `config`: the configuration: JSON object text, validated against the
  checker's schema (a subset of JSON Schema), defaults filled in.
- `globs`: path patterns (`*`, `?`, `**`), the Rust SDK's dialect.
- `testing`: running a checker natively on a packet directory, without
  componentizing (for `python3 -m unittest`).

Nothing here imports the generated bindings at import time: the package and
the checker's module import and run under plain CPython, which is how the
unit tests run them. Only the component class touches `wit_world`.
"""

from .component import CheckError, Checker, checker
from .config import ConfigError, parse_config
from .findings import (
    DEFAULT_LIMIT,
    ERROR,
    INFO,
    LEVELS,
    WARNING,
    Finding,
    Findings,
    Report,
    is_code,
)
from .globs import Glob, GlobError, compile_globs
from .packet import MOUNT_POINT, Packet, PacketPathError, TextFile, check_path
from .request import POST_SUBMIT, PRE_SUBMIT, FileEntry, PriorFinding, Request

__version__ = "0.2.0"
"""The SDK's version; 0.2.x binds the contract workstream:checker@0.2.0."""

CONTRACT = "workstream:checker@0.2.0"
"""The contract version this SDK binds."""

__all__ = [
    "CONTRACT",
    "DEFAULT_LIMIT",
    "ERROR",
    "INFO",
    "LEVELS",
    "MOUNT_POINT",
    "POST_SUBMIT",
    "PRE_SUBMIT",
    "WARNING",
    "CheckError",
    "Checker",
    "ConfigError",
    "FileEntry",
    "Finding",
    "Findings",
    "Glob",
    "GlobError",
    "Packet",
    "PacketPathError",
    "PriorFinding",
    "Report",
    "Request",
    "TextFile",
    "check_path",
    "checker",
    "compile_globs",
    "is_code",
    "parse_config",
]
