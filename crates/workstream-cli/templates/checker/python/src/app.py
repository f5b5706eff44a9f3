"""{{name}}: a Workstream checker written in Python.

The sample rule: every line of a Markdown output (`outputs/**/*.md`, or the
globs configured in `paths`) that contains MARKER is an `error` finding with
code `marker_found`, the file's path and the line number. Change the rule in
`check` below; change what it looks for in MARKER.

componentize-py builds this module (`app`) into the component: it
instantiates the class `WitWorld` at the bottom for the exports. The module
must not be named after the world (`checker`).
"""

import workstream_checker as wc

# The text the sample rule looks for.
MARKER = "TODO"

NAME = "{{name}}"
# Bump it whenever the findings for some input could change.
VERSION = "0.1.0"
DESCRIPTION = "Flags every line of the packet's Markdown outputs that still contains a marker."

# JSON Schema (draft 2020-12) of the configuration; `{}` means all defaults.
# The host validates every configuration against it, and so does the SDK
# (a configuration that does not fit makes `check` return `err`).
CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "{{name}} configuration",
    "type": "object",
    "properties": {
        "paths": {
            "description": "Globs of the packet files to scan (`*` and `?` within a "
            "segment, `**` across segments).",
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 1000},
            "maxItems": 100,
            "default": ["outputs/**/*.md"],
        },
    },
    "additionalProperties": False,
}

# Only the first MAX_SCAN_BYTES of each file are read: bounded work on a huge file.
MAX_SCAN_BYTES = 1024 * 1024


@wc.checker(name=NAME, version=VERSION, description=DESCRIPTION, config_schema=CONFIG_SCHEMA)
def check(request: wc.Request, findings: wc.Findings) -> None:
    globs = wc.compile_globs("paths", request.config["paths"])
    files = request.matching(globs)
    for entry in files:
        text = request.packet.read_text(entry.path, MAX_SCAN_BYTES)
        if text is None:
            continue  # binary content: nothing to read
        for number, line in text.lines():
            if MARKER in line:
                findings.error(
                    "marker_found",
                    f'Line {number} of {entry.path} still contains "{MARKER}".',
                    path=entry.path,
                    line=number,
                    fix=f'Finish that part of the text and remove "{MARKER}".',
                )
    findings.summary = f"{plural(len(files), 'file')} scanned, {plural(len(findings), 'marker')} found"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# The component's exports (`info` and `check`), for componentize-py.
WitWorld = check.component()
