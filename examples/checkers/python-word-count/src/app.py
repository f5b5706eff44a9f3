"""word-count-py: a Workstream checker written in Python.

Checks that one text file of the packet (by default `outputs/final-answer.md`)
has at least `min_words` words. Built into a WebAssembly component with
componentize-py; see README.md for the contract mapping.

The module name must differ from the world name (`checker`), and the class
that implements the exports must be called `WitWorld`: componentize-py
generates the `wit_world` module and instantiates `WitWorld` for the exports.
"""

import json

import wit_world
from componentize_py_types import Err

NAME = "word-count-py"
VERSION = "0.1.0"
DESCRIPTION = (
    "Checks that one text file of the packet (by default outputs/final-answer.md) "
    "exists and contains at least a minimum number of words."
)

DEFAULT_PATH = "outputs/final-answer.md"
DEFAULT_MIN_WORDS = 50
MAX_MIN_WORDS = 1_000_000

# Where the host mounts the packet (a read-only WASI preopen). A module
# constant so that the native unit tests can point it at a temporary directory.
PACKET_ROOT = "/packet"

# Only the first MAX_SCAN_BYTES of the file are counted: enough for any
# sensible minimum, and it keeps CPU and memory bounded on a huge file.
MAX_SCAN_BYTES = 4 * 1024 * 1024

CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "word-count-py configuration",
    "type": "object",
    "properties": {
        "path": {
            "description": "Packet path of the file to count, relative to the packet root.",
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "default": DEFAULT_PATH,
        },
        "min_words": {
            "description": "Minimum number of words the file must contain.",
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_MIN_WORDS,
            "default": DEFAULT_MIN_WORDS,
        },
    },
    "additionalProperties": False,
}


class ConfigError(Exception):
    pass


def parse_config(text):
    """Returns (path, min_words) or raises ConfigError.

    The host has already validated the configuration against CONFIG_SCHEMA;
    this re-checks it because a checker never trusts its input.
    """
    if not text.strip():
        text = "{}"
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"configuration is not valid JSON: {e}")
    if not isinstance(config, dict):
        raise ConfigError("configuration must be a JSON object")
    unknown = sorted(set(config) - set(CONFIG_SCHEMA["properties"]))
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")

    path = config.get("path", DEFAULT_PATH)
    if not isinstance(path, str) or not is_packet_path(path):
        raise ConfigError(
            "`path` must be a relative packet path ('/'-separated, no '.' or '..' segments)"
        )
    min_words = config.get("min_words", DEFAULT_MIN_WORDS)
    # bool is a subclass of int in Python: reject it explicitly.
    if (
        isinstance(min_words, bool)
        or not isinstance(min_words, int)
        or not 0 <= min_words <= MAX_MIN_WORDS
    ):
        raise ConfigError(f"`min_words` must be an integer from 0 to {MAX_MIN_WORDS}")
    return path, min_words


def is_packet_path(path):
    """Same form as `file-entry.path` in the WIT contract."""
    if not path or len(path.encode("utf-8")) > 1000:
        return False
    if path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return all(seg not in ("", ".", "..") for seg in path.split("/"))


def count_words(text):
    """A word is a whitespace-separated token containing a letter or digit,
    so Markdown markup on its own (`#`, `-`, `---`, `|`) does not count."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def finding(code, level, message, path=None, line=None, fix=None):
    return wit_world.Finding(
        code=code, level=level, message=message, path=path, line=line, suggested_fix=fix
    )


def run_check(input):
    """The check itself. Returns a Report; raises ConfigError or OSError when
    the packet cannot be evaluated at all."""
    path, min_words = parse_config(input.configuration)

    # The manifest is the authoritative list of the packet's files.
    listed = {entry.path for entry in input.manifest}
    if path not in listed:
        fix = f"Add the file {path} to the packet."
        near = sorted(p for p in listed if p.casefold() == path.casefold())
        if near:
            fix = f"Rename {near[0]} to {path} (names are case-sensitive)."
        return wit_world.Report(
            findings=[
                finding(
                    "file_missing",
                    wit_world.Level.ERROR,
                    f"The packet has no file {path}; this check needs it to count words.",
                    path=path,
                    fix=fix,
                )
            ],
            summary=f"{path} is missing",
        )

    # Listed but unreadable is a packet the checker cannot evaluate: the
    # OSError propagates and `check` turns it into `err`.
    with open(f"{PACKET_ROOT}/{path}", "rb") as f:
        data = f.read(MAX_SCAN_BYTES + 1)
    truncated = len(data) > MAX_SCAN_BYTES
    # A cut in the middle of a UTF-8 sequence only affects the last token.
    text = data[:MAX_SCAN_BYTES].decode("utf-8", errors="replace")
    words = count_words(text)
    counted = plural(words, "word")
    if truncated:
        counted = f"{counted} in its first {MAX_SCAN_BYTES // (1024 * 1024)} MiB"

    if words < min_words:
        return wit_world.Report(
            findings=[
                finding(
                    "word_count_below_minimum",
                    wit_world.Level.ERROR,
                    f"{path} has {counted}; this task asks for at least "
                    f"{plural(min_words, 'word')}.",
                    path=path,
                    fix=f"Expand {path} to at least {plural(min_words, 'word')} "
                    f"({min_words - words} more).",
                )
            ],
            summary=f"{path}: {words} of {min_words} words",
        )
    return wit_world.Report(
        findings=[], summary=f"{path}: {counted} (minimum {min_words})"
    )


class WitWorld(wit_world.WitWorld):
    def info(self):
        return wit_world.CheckerInfo(
            name=NAME,
            version=VERSION,
            description=DESCRIPTION,
            config_schema=json.dumps(CONFIG_SCHEMA, sort_keys=True, separators=(",", ":")),
        )

    def check(self, input):
        # `result<report, string>`: return the report for `ok`, raise
        # `Err(message)` for `err`. The message goes to operators only.
        try:
            return run_check(input)
        except ConfigError as e:
            raise Err(f"unusable configuration: {e}")
        except OSError as e:
            raise Err(f"cannot read the packet file: {e.strerror or e}")
