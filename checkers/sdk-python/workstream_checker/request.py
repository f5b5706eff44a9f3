"""The typed request: everything the host tells a checker about one run.

Mirrors `check-input` of the contract with plain Python values: phases are
the strings `"pre-submit"` and `"post-submit"`, options are `None`, and the
configuration is available both as the JSON text the host passed
(`configuration`) and parsed, validated and completed with the schema's
defaults (`config`). `packet` reads the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from .globs import Glob
from .packet import Packet

PRE_SUBMIT = "pre-submit"
"""Before a submission exists: the contributor gets the result at once."""
POST_SUBMIT = "post-submit"
"""After the packet was submitted and locked as a numbered version."""
PHASES = (PRE_SUBMIT, POST_SUBMIT)


@dataclass(frozen=True)
class FileEntry:
    """One file of the packet as the server's manifest records it."""

    path: str
    """Packet path: relative, `/`-separated; the file is `/packet/<path>`."""
    size: int
    """Size in bytes."""
    sha256: str
    """`sha256:` and 64 lowercase hexadecimal digits."""
    executable: bool = False
    """The file carried a Unix execute bit (informational only)."""


@dataclass(frozen=True)
class PriorFinding:
    """An open blocking finding of the review of the previous version."""

    finding_id: str
    area: str
    issue: str
    path: Optional[str]
    """The packet path the reviewer cited (of the previous version), if any."""
    line: Optional[int]
    """The 1-based line the reviewer cited, if any."""
    required_fix: str
    response: Optional[str]
    """The contributor's answer; always `None` before submission."""


@dataclass
class Request:
    """One run's input. Text fields are as written: validate, never trust."""

    phase: str = POST_SUBMIT
    manifest: List[FileEntry] = field(default_factory=list)
    """The packet's files, sorted by path (byte order)."""
    summary: str = ""
    attestation: str = ""
    acceptance_criteria: str = ""
    configuration: str = "{}"
    """The configuration as the host passed it (JSON object text)."""
    prior_findings: List[PriorFinding] = field(default_factory=list)
    packet: Packet = field(default_factory=Packet)
    """The packet's files (read-only, at `/packet` inside the component)."""
    config: Dict[str, Any] = field(default_factory=dict)
    """The configuration parsed, validated against the checker's schema and
    completed with its defaults; filled in by `Checker.run`."""

    def entry(self, path: str) -> Optional[FileEntry]:
        """The manifest entry whose path is exactly `path`."""
        for entry in self.manifest:
            if entry.path == path:
                return entry
        return None

    def matching(self, globs: Iterable[Glob]) -> List[FileEntry]:
        """The manifest entries whose whole path matches one of `globs`, in
        manifest order."""
        globs = list(globs)
        return [e for e in self.manifest if any(g.matches(e.path) for g in globs)]

    @property
    def is_revision(self) -> bool:
        """True when the packet answers blocking findings of a review."""
        return bool(self.prior_findings)
