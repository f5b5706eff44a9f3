"""Collecting findings into a report the host will accept.

The host rejects a whole report (`invalid_output`) that breaks its limits: more
than 256 findings, a `code` outside 1-64 characters, a `message` outside
1-4096 characters, a `path` over 1000 bytes, a NUL character in any text. `Findings` enforces them as
findings are added, like the Rust SDK: texts are clipped, an overlong path is
left out rather than cut into a different path, and past `limit` findings are
counted instead of kept and summed up in one last `findings_truncated`
finding whose level is the highest level dropped (so truncation never changes
the verdict); NUL characters become U+FFFD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

ERROR = "error"
"""A defect in the packet: the run fails."""
WARNING = "warning"
"""Worth a reviewer's attention; does not fail the run on its own."""
INFO = "info"
"""A neutral observation."""
LEVELS = (INFO, WARNING, ERROR)
"""The levels, least serious first."""

DEFAULT_LIMIT = 100
"""Findings kept by default (the host accepts at most 256)."""
MAX_FINDINGS = 256
"""The host's limit on the number of findings."""
MAX_MESSAGE_CHARS = 2000
"""Longest message kept, in characters (the host's limit is 4096)."""
MAX_FIX_CHARS = 1000
"""Longest suggested fix kept, in characters."""
MAX_SUMMARY_CHARS = 500
"""Longest report summary kept, in characters."""
MAX_PATH_BYTES = 1000
"""Longest path kept, in UTF-8 bytes (the host's limit)."""
TRUNCATED_CODE = "findings_truncated"
"""Code of the finding that stands for the findings dropped over the limit."""


@dataclass(frozen=True)
class Finding:
    """One observation about the packet (the contract's `finding`)."""

    code: str
    level: str
    message: str
    path: Optional[str] = None
    line: Optional[int] = None
    suggested_fix: Optional[str] = None


@dataclass
class Report:
    """The result of a completed check: no error finding means it passed."""

    findings: List[Finding] = field(default_factory=list)
    summary: Optional[str] = None

    @property
    def passed(self) -> bool:
        """True when no finding is an error (how the host derives the verdict)."""
        return not any(f.level == ERROR for f in self.findings)

    def codes(self) -> List[str]:
        """The codes of the findings, in order."""
        return [f.code for f in self.findings]


def is_code(code: object) -> bool:
    """True for a well-formed finding code: snake_case (`[a-z0-9_]`, starting
    with a letter), 1-64 characters."""
    return (
        isinstance(code, str)
        and 1 <= len(code) <= 64
        and "a" <= code[0] <= "z"
        and all("a" <= c <= "z" or "0" <= c <= "9" or c == "_" for c in code)
    )


def _storable(text: str) -> str:
    """`text` without NUL characters, which the host cannot store (it rejects
    a report holding one): each becomes U+FFFD."""
    return text.replace("\0", "\ufffd")


def _rank(level: str) -> int:
    return LEVELS.index(level)


class Findings:
    """The findings of one run, in the order they were added.

    `error`, `warning` and `info` add a finding; `path`, `line` and `fix`
    are keyword arguments. A malformed code or level is a bug in the checker
    and raises `ValueError` (the run then ends in `err`).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        # One place is kept for `findings_truncated`.
        self.limit = max(1, min(int(limit), MAX_FINDINGS - 1))
        self._kept: List[Finding] = []
        self._dropped = 0
        self._dropped_level: Optional[str] = None
        self._summary: Optional[str] = None

    def error(self, code: str, message: str, *, path: Optional[str] = None,
              line: Optional[int] = None, fix: Optional[str] = None) -> None:
        """Adds an `error` finding: the packet fails this check."""
        self.add(ERROR, code, message, path=path, line=line, fix=fix)

    def warning(self, code: str, message: str, *, path: Optional[str] = None,
                line: Optional[int] = None, fix: Optional[str] = None) -> None:
        """Adds a `warning` finding."""
        self.add(WARNING, code, message, path=path, line=line, fix=fix)

    def info(self, code: str, message: str, *, path: Optional[str] = None,
             line: Optional[int] = None, fix: Optional[str] = None) -> None:
        """Adds an `info` finding."""
        self.add(INFO, code, message, path=path, line=line, fix=fix)

    def add(self, level: str, code: str, message: str, *, path: Optional[str] = None,
            line: Optional[int] = None, fix: Optional[str] = None) -> None:
        """Adds a finding of any level (see the class documentation)."""
        if level not in LEVELS:
            raise ValueError(f"finding level {level!r} is not one of {', '.join(LEVELS)}")
        if not is_code(code):
            raise ValueError(f"finding code {code!r} is not snake_case of 1-64 characters")
        if len(self._kept) >= self.limit:
            self._dropped += 1
            if self._dropped_level is None or _rank(level) > _rank(self._dropped_level):
                self._dropped_level = level
            return
        message = _storable(str(message))
        if not message.strip():
            message = code
        if (isinstance(path, str) and path and "\0" not in path
                and len(path.encode("utf-8")) <= MAX_PATH_BYTES):
            kept_path: Optional[str] = path
        else:
            kept_path = None
        # bool is an int in Python: a `True` line is a bug, not line 1.
        kept_line = line if isinstance(line, int) and not isinstance(line, bool) and 0 < line < 2**32 else None
        kept_fix = _storable(fix[:MAX_FIX_CHARS]) if isinstance(fix, str) and fix.strip() else None
        self._kept.append(Finding(code, level, message[:MAX_MESSAGE_CHARS], kept_path,
                                  kept_line, kept_fix))

    @property
    def summary(self) -> Optional[str]:
        """The report's one-line overview, if set."""
        return self._summary

    @summary.setter
    def summary(self, text: Optional[str]) -> None:
        self._summary = None if text is None else _storable(str(text)[:MAX_SUMMARY_CHARS])

    def __len__(self) -> int:
        """Findings added, kept or not."""
        return len(self._kept) + self._dropped

    def __iter__(self):
        return iter(self._kept)

    def has_errors(self) -> bool:
        """True when some finding added, kept or not, is an error."""
        return self._dropped_level == ERROR or any(f.level == ERROR for f in self._kept)

    def report(self) -> Report:
        """The report to return from `check`."""
        findings = list(self._kept)
        if self._dropped_level is not None:
            findings.append(Finding(
                TRUNCATED_CODE,
                self._dropped_level,
                f"{self._dropped} more findings were not listed; fix the ones above and "
                "check again to see the rest.",
            ))
        return Report(findings, self._summary)
