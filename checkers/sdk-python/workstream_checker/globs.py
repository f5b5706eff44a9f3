"""Path patterns, as written in checker configurations.

The Rust SDK's dialect, matched against packet paths (`/`-separated, relative
to the packet root):

    ?      any one character except `/`
    *      any run of characters except `/`, including none
    **     as a whole segment: any number of segments, including none
    a/**   at the end: everything inside `a` (one segment or more)
    a/     a trailing `/` names a directory: same as `a/**`
    /a     a leading `/` is ignored (patterns are rooted anyway)

Everything else is literal, including `[`, `]` and `{`. A `**` inside a
segment (`a**`), empty segments (`a//b`), backslashes and `.`/`..` segments
are errors, so that a typo fails loudly instead of silently matching nothing.
"""

from __future__ import annotations

from typing import Iterable, List, Sequence

from .config import ConfigError

_ANY_PATH = None  # the `**` segment; a name segment is a string


class GlobError(ValueError):
    """A pattern that cannot be compiled."""


class Glob:
    """A compiled path pattern (see the module documentation)."""

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str):
            raise GlobError(f"a pattern must be a string, not {type(pattern).__name__}")
        self.pattern = pattern

        def error(problem: str) -> GlobError:
            return GlobError(f"invalid pattern `{pattern}`: {problem}")

        if "\\" in pattern:
            raise error("use `/` to separate path segments, not `\\`")
        body = pattern[1:] if pattern.startswith("/") else pattern
        names_directory = body.endswith("/")
        if names_directory:
            body = body[:-1]
        if not body:
            raise error("the pattern is empty")
        segments: List = []
        for part in body.split("/"):
            if part == "":
                raise error("empty path segment (`//`)")
            if part in (".", ".."):
                raise error("`.` and `..` segments are not allowed")
            if part == "**":
                segments.append(_ANY_PATH)
            elif "**" in part:
                raise error("`**` must be a whole path segment, as in `a/**/b`")
            else:
                segments.append(part)
        if names_directory:
            segments.append(_ANY_PATH)
        # A trailing `**` means "inside": at least one more segment.
        if segments[-1] is _ANY_PATH:
            segments.insert(len(segments) - 1, "*")
        self._segments = segments

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def __str__(self) -> str:
        return self.pattern

    def matches(self, path: str) -> bool:
        """True when the whole `path` matches the pattern."""
        return _match_segments(self._segments, [n for n in path.split("/") if n])

    def matches_anywhere(self, path: str) -> bool:
        """True when some run of whole segments of `path` matches: the pattern
        names the file itself or any directory on its way."""
        names = [n for n in path.split("/") if n]
        open_ended = self._segments + [_ANY_PATH]
        return any(_match_segments(open_ended, names[start:]) for start in range(len(names)))


def compile_globs(field: str, patterns: Iterable[str]) -> List[Glob]:
    """Compiles the patterns of configuration option `field`; raises
    `ConfigError` naming the option and the pattern."""
    try:
        return [Glob(p) for p in patterns]
    except GlobError as e:
        raise ConfigError(f"invalid checker configuration: `{field}`: {e}") from None


def _match_segments(segments: Sequence, names: Sequence[str]) -> bool:
    # Greedy with one backtrack point, like `*` within a name: linear in
    # practice and never exponential.
    s = n = 0
    backtrack = None
    while n < len(names):
        if s < len(segments) and segments[s] is _ANY_PATH:
            backtrack = (s, n)
            s += 1
        elif s < len(segments) and _match_name(segments[s], names[n]):
            s += 1
            n += 1
        elif backtrack is not None:
            star, start = backtrack
            s, n = star + 1, start + 1
            backtrack = (star, start + 1)
        else:
            return False
    return all(segment is _ANY_PATH for segment in segments[s:])


def _match_name(tokens: str, name: str) -> bool:
    t = c = 0
    backtrack = None
    while c < len(name):
        if t < len(tokens) and tokens[t] == "*":
            backtrack = (t, c)
            t += 1
        elif t < len(tokens) and (tokens[t] == "?" or tokens[t] == name[c]):
            t += 1
            c += 1
        elif backtrack is not None:
            star, start = backtrack
            t, c = star + 1, start + 1
            backtrack = (star, start + 1)
        else:
            return False
    return all(token == "*" for token in tokens[t:])
