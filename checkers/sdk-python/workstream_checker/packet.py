"""The packet's files, mounted read-only at `/packet`.

Inside the component, plain file I/O works on the WASI preopen the host gives
(`/packet`, read-only); nothing else is visible. Natively (tests) a `Packet`
points at any directory. Every path passed here is a packet path (relative,
`/`-separated) and is checked with `check_path` before it touches the file
system, and symbolic links are refused (the host never makes one), so a
manifest entry such as `../x` cannot make a checker read outside the packet.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass
from typing import List, Optional, Tuple

MOUNT_POINT = "/packet"
"""Where the host mounts the packet inside the component."""
DEFAULT_MAX_BYTES = 1024 * 1024
"""Bytes read by default: enough for text, and bounded on a huge file."""
SNIFF_BYTES = 8192
"""Bytes inspected for a NUL to tell text from binary content."""


class PacketPathError(ValueError):
    """A path that is not a well-formed packet path."""


def check_path(path: object) -> None:
    """Raises `PacketPathError` unless `path` has the form the contract
    promises for manifest paths: non-empty, relative, `/`-separated, no empty,
    `.` or `..` segments, no backslashes or control characters."""
    if not isinstance(path, str) or not path:
        raise PacketPathError("the path is empty")
    if path.startswith("/"):
        raise PacketPathError(f"the path is absolute: {path!r}")
    if "\\" in path:
        raise PacketPathError(f"the path contains a backslash: {path!r}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in path):
        raise PacketPathError(f"the path contains a control character: {path!r}")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise PacketPathError(f"the path has an empty, `.` or `..` segment: {path!r}")


@dataclass(frozen=True)
class TextFile:
    """The start of a file read as UTF-8 text."""

    text: str
    truncated: bool
    """True when the file is longer than what was read."""

    def lines(self) -> List[Tuple[int, str]]:
        """`(number, line)` pairs, numbered from 1, without the line ends
        (`\\n` or `\\r\\n`). A final line end does not start another line."""
        parts = self.text.split("\n")
        if parts and parts[-1] == "":
            parts.pop()
        return [(i, p[:-1] if p.endswith("\r") else p) for i, p in enumerate(parts, 1)]


class Packet:
    """The packet directory: `/packet` in the component, any directory in tests."""

    def __init__(self, root: str = MOUNT_POINT) -> None:
        self.root = str(root)

    def path_of(self, path: str) -> str:
        """The file-system path of packet path `path`, after checking it."""
        check_path(path)
        return os.path.join(self.root, *path.split("/"))

    def _checked(self, path: str) -> str:
        """`path_of`, refusing symbolic links on the way (natively a test
        directory could hold one; the host never does)."""
        full = self.path_of(path)
        here = self.root
        for segment in path.split("/"):
            here = os.path.join(here, segment)
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                break  # open() reports it
            if stat.S_ISLNK(mode):
                raise PacketPathError(f"the path goes through a symbolic link: {path!r}")
        return full

    def is_file(self, path: str) -> bool:
        """True when `path` is a regular file of the packet."""
        try:
            return stat.S_ISREG(os.lstat(self._checked(path)).st_mode)
        except (OSError, ValueError):
            return False

    def read_bytes(self, path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        """At most `max_bytes` bytes from the start of `path`. Raises `OSError`
        when the file cannot be read (`Checker.run` turns that into `err`)."""
        with open(self._checked(path), "rb") as f:
            return f.read(max(0, int(max_bytes)))

    def read_text(self, path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Optional[TextFile]:
        """At most `max_bytes` bytes of `path` as UTF-8 text, or `None` when
        the content looks binary: a NUL byte near the start, or bytes that are
        not UTF-8 (a character cut by the `max_bytes` limit does not count)."""
        data = self.read_bytes(path, max_bytes + 1)
        truncated = len(data) > max_bytes
        if truncated:
            data = data[:max_bytes]
        if b"\0" in data[:SNIFF_BYTES]:
            return None
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            # A truncated read may end inside a character: leave it out.
            text = decoder.decode(data, final=not truncated)
        except UnicodeDecodeError:
            return None
        return TextFile(text, truncated)
