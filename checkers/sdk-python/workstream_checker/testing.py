"""Running a checker natively on a packet directory, for unit tests.

A component needs a host to run; its logic does not. `run_packet` builds the
request the host would build from a local packet directory (the manifest:
regular files, sorted by path in byte order, with sizes, `sha256:<hex>`
digests and the executable bit) and runs the checker on it with the directory
as `/packet`, without componentizing:

    from workstream_checker.testing import run_packet, temp_packet

    report = run_packet(app.check, "tests/fail")
    assert report.codes() == ["marker_found"]

    with temp_packet({"outputs/answer.md": "TODO\\n"}) as root:
        report = run_packet(app.check, root, configuration='{"paths": ["**/*.md"]}')

A run that cannot be evaluated raises `CheckError`, as `check` returns `err`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from typing import Iterable, Iterator, List, Mapping, Union

from .component import Checker
from .findings import Report
from .packet import Packet
from .request import POST_SUBMIT, FileEntry, PriorFinding, Request


def manifest_of(root: str) -> List[FileEntry]:
    """The manifest of the regular files under `root` (symbolic links and
    other special files are left out, as the host never materializes them)."""
    entries = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(directory, name)
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                continue
            path = os.path.relpath(full, root).replace(os.sep, "/")
            digest = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 16), b""):
                    digest.update(chunk)
            entries.append(FileEntry(path, info.st_size, "sha256:" + digest.hexdigest(),
                                     bool(info.st_mode & 0o111)))
    entries.sort(key=lambda e: e.path.encode("utf-8"))
    return entries


def request_from_dir(root: Union[str, "os.PathLike[str]"], *, configuration: str = "{}",
                     phase: str = POST_SUBMIT, summary: str = "", attestation: str = "",
                     acceptance_criteria: str = "",
                     prior_findings: Iterable[PriorFinding] = ()) -> Request:
    """The request the host would build for the packet directory `root`."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"no packet directory {root}")
    return Request(
        phase=phase,
        manifest=manifest_of(root),
        summary=summary,
        attestation=attestation,
        acceptance_criteria=acceptance_criteria,
        configuration=configuration,
        prior_findings=list(prior_findings),
        packet=Packet(root),
    )


def run_packet(checker: Checker, root: Union[str, "os.PathLike[str]"], **request) -> Report:
    """Runs `checker` on the packet directory `root`; keyword arguments are
    those of `request_from_dir`. Raises `CheckError` for an `err`."""
    return checker.run(request_from_dir(root, **request))


@contextlib.contextmanager
def temp_packet(files: Mapping[str, Union[str, bytes]]) -> Iterator[str]:
    """A temporary packet directory holding `files` (packet path -> text or
    bytes), removed afterwards. Yields its path."""
    with tempfile.TemporaryDirectory(prefix="workstream-packet-") as root:
        for path, content in files.items():
            full = os.path.join(root, *path.split("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(full, "wb") as f:
                f.write(data)
        yield root
