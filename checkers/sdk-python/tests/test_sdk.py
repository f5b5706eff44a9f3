"""Unit tests of the Python checker SDK (no component host, no bindings):

    cd checkers/sdk-python && python3 -m unittest
"""

import json
import os
import sys
import tempfile
import types
import unittest
from dataclasses import dataclass
from enum import Enum
from typing import List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import workstream_checker as wc  # noqa: E402
from workstream_checker.config import validate  # noqa: E402
from workstream_checker.findings import MAX_MESSAGE_CHARS, TRUNCATED_CODE  # noqa: E402
from workstream_checker.testing import (  # noqa: E402
    manifest_of,
    request_from_dir,
    run_packet,
    temp_packet,
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "paths": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "maxItems": 3,
            "default": ["**/*.md"],
        },
        "max_findings": {"type": "integer", "minimum": 1, "maximum": 10},
        "mode": {"enum": ["strict", "lenient"], "default": "strict"},
    },
    "additionalProperties": False,
}


@wc.checker(name="word-check", version="1.2.3", description="Flags a word.",
            config_schema=SCHEMA)
def word_check(request, findings):
    for entry in request.matching(wc.compile_globs("paths", request.config["paths"])):
        text = request.packet.read_text(entry.path)
        if text is None:
            findings.info("binary_file", "Not text.", path=entry.path)
            continue
        for number, line in text.lines():
            if "WORD" in line:
                findings.error("word_found", "WORD is here.", path=entry.path, line=number,
                               fix="Remove it.")
    findings.summary = f"{len(findings)} findings"


class FindingsTest(unittest.TestCase):
    def test_builders_and_limits(self):
        findings = wc.Findings()
        findings.error("file_missing", "README.md is missing", path="README.md", fix="Add it.")
        findings.warning("todo_left", "x" * 10_000, path="p" * 2000, line=0, fix="  ")
        findings.info("note", " ")
        findings.info("note", "ok", line=True)
        self.assertTrue(findings.has_errors())
        report = findings.report()
        first, long, blank, flagged = report.findings
        self.assertEqual((first.code, first.level, first.path, first.suggested_fix),
                         ("file_missing", "error", "README.md", "Add it."))
        self.assertEqual(len(long.message), MAX_MESSAGE_CHARS)
        self.assertIsNone(long.path)
        self.assertIsNone(long.line)
        self.assertIsNone(long.suggested_fix)
        self.assertEqual(blank.message, "note")
        self.assertIsNone(flagged.line)
        self.assertFalse(report.passed)

    def test_nul_characters_never_reach_the_host(self):
        findings = wc.Findings()
        findings.error("nul", "a\0b", path="a\0b", fix="c\0d")
        findings.summary = "e\0f"
        report = findings.report()
        [finding] = report.findings
        self.assertEqual((finding.message, finding.path, finding.suggested_fix),
                         ("a\ufffdb", None, "c\ufffdd"))
        self.assertEqual(report.summary, "e\ufffdf")

    def test_truncation_keeps_the_verdict(self):
        findings = wc.Findings(limit=2)
        findings.warning("w", "one")
        findings.warning("w", "two")
        findings.error("e", "three")
        findings.info("i", "four")
        self.assertEqual(len(findings), 4)
        report = findings.report()
        self.assertEqual(report.codes(), ["w", "w", TRUNCATED_CODE])
        self.assertEqual(report.findings[-1].level, "error")
        self.assertTrue(report.findings[-1].message.startswith("2 more"))

    def test_limit_stays_under_the_hosts(self):
        self.assertEqual(wc.Findings(limit=10_000).limit, 255)

    def test_bad_codes_and_levels_are_bugs(self):
        findings = wc.Findings()
        for code in ["", "Upper", "kebab-case", "_x", "a" * 65, None]:
            with self.subTest(code=code), self.assertRaises(ValueError):
                findings.error(code, "m")
        with self.assertRaises(ValueError):
            findings.add("fatal", "code", "m")
        self.assertTrue(wc.is_code("required_file_missing"))


class GlobTest(unittest.TestCase):
    def test_dialect(self):
        cases = [
            ("outputs/**/*.md", "outputs/answer.md", True),
            ("outputs/**/*.md", "outputs/a/b/c.md", True),
            ("outputs/**/*.md", "outputs.md", False),
            ("outputs/**/*.md", "x/outputs/a.md", False),
            ("*.md", "a/b.md", False),
            ("a?c", "abc", True),
            ("a?c", "a/c", False),
            ("docs/", "docs/x", True),
            ("docs/", "docs", False),
            ("docs/**", "docs/a/b", True),
            ("/README.md", "README.md", True),
            ("**", "anything/at/all", True),
            ("[x]", "[x]", True),
            ("**/b/**/c", "a/b/x/y/c", True),
            ("**/b/**/c", "a/b/x/y/d", False),
        ]
        for pattern, path, expected in cases:
            with self.subTest(pattern=pattern, path=path):
                self.assertEqual(wc.Glob(pattern).matches(path), expected)

    def test_matches_anywhere(self):
        self.assertTrue(wc.Glob("*.pem").matches_anywhere("keys/server.pem"))
        self.assertTrue(wc.Glob(".git/").matches_anywhere("vendor/lib/.git/HEAD"))
        self.assertFalse(wc.Glob("*.pem").matches_anywhere("keys/server.pem.txt"))

    def test_errors(self):
        for bad in ["", "/", "a//b", "a/../b", "a**", "a\\b", "./a"]:
            with self.subTest(pattern=bad), self.assertRaises(wc.GlobError):
                wc.Glob(bad)
        with self.assertRaises(wc.ConfigError) as caught:
            wc.compile_globs("paths", ["ok", "a**"])
        self.assertIn("`paths`", str(caught.exception))


class ConfigTest(unittest.TestCase):
    def test_defaults_and_blank(self):
        for text in ["", "  ", "{}"]:
            config = wc.parse_config(text, SCHEMA)
            self.assertEqual(config, {"paths": ["**/*.md"], "mode": "strict"})
        config = wc.parse_config('{"paths": ["a"], "max_findings": 3}', SCHEMA)
        self.assertEqual(config["paths"], ["a"])
        self.assertEqual(config["max_findings"], 3)

    def test_defaults_are_copies(self):
        config = wc.parse_config("{}", SCHEMA)
        config["paths"].append("x")
        self.assertEqual(SCHEMA["properties"]["paths"]["default"], ["**/*.md"])

    def test_bad_configurations(self):
        for text in ['{"pathz": []}', '{"paths": "x"}', '{"paths": [""]}',
                     '{"paths": ["a", "b", "c", "d"]}', '{"max_findings": 0}',
                     '{"max_findings": true}', '{"max_findings": 1.5}', '{"mode": "x"}',
                     "[]", "null", "nope"]:
            with self.subTest(text=text), self.assertRaises(wc.ConfigError):
                wc.parse_config(text, SCHEMA)

    def test_subset(self):
        self.assertIsNone(validate(2.0, {"type": "integer"}))
        self.assertIsNotNone(validate("ab", {"type": "string", "pattern": "^a$"}))
        self.assertIsNotNone(validate([1, 1], {"type": "array", "uniqueItems": True}))
        self.assertIsNotNone(validate({}, {"type": "object", "required": ["a"]}))
        self.assertIsNotNone(validate(5, {"exclusiveMaximum": 5}))
        self.assertIsNotNone(validate(1, {"const": True}))
        self.assertIsNone(validate({"x": 1}, {"additionalProperties": {"type": "integer"}}))
        self.assertIsNotNone(validate({"x": "1"}, {"additionalProperties": {"type": "integer"}}))


class PacketTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        root = self.dir.name
        os.makedirs(os.path.join(root, "docs"))
        with open(os.path.join(root, "README.md"), "wb") as f:
            f.write(b"# Hello\r\nsecond\n")
        with open(os.path.join(root, "docs", "answer.md"), "wb") as f:
            f.write("caf\u00e9".encode("utf-8"))
        with open(os.path.join(root, "docs", "x.bin"), "wb") as f:
            f.write(b"\0\1\2")
        with open(os.path.join(root, "latin1.txt"), "wb") as f:
            f.write(b"caf\xe9 au lait")
        self.packet = wc.Packet(root)

    def tearDown(self):
        self.dir.cleanup()

    def test_text_and_lines(self):
        text = self.packet.read_text("README.md")
        self.assertEqual(text.lines(), [(1, "# Hello"), (2, "second")])
        self.assertFalse(text.truncated)
        self.assertIsNone(self.packet.read_text("docs/x.bin"))
        self.assertIsNone(self.packet.read_text("latin1.txt"))
        cut = self.packet.read_text("docs/answer.md", 4)
        self.assertEqual((cut.text, cut.truncated), ("caf", True))
        self.assertEqual(self.packet.read_bytes("README.md", 3), b"# H")
        self.assertEqual(wc.TextFile("a\n\nb", False).lines(), [(1, "a"), (2, ""), (3, "b")])

    def test_paths_cannot_escape(self):
        for bad in ["../etc/passwd", "/etc/passwd", "docs/../../x", "", "a\\b", "a\nb", "a//b"]:
            with self.subTest(path=bad), self.assertRaises(wc.PacketPathError):
                self.packet.read_bytes(bad)
        self.assertTrue(self.packet.is_file("docs/answer.md"))
        self.assertFalse(self.packet.is_file("docs"))
        self.assertFalse(self.packet.is_file("../x"))

    def test_symlinks_are_refused(self):
        os.symlink("/etc", os.path.join(self.dir.name, "link"))
        with self.assertRaises(wc.PacketPathError):
            self.packet.read_bytes("link/hostname")
        self.assertFalse(self.packet.is_file("link"))


class RunTest(unittest.TestCase):
    def test_info(self):
        info = word_check.info()
        self.assertEqual(info["name"], "word-check")
        self.assertEqual(info["version"], "1.2.3")
        self.assertEqual(json.loads(info["config_schema"]), SCHEMA)

    def test_run_on_a_packet(self):
        files = {"outputs/a.md": "ok\nthe WORD\n", "b.txt": "WORD\n", "c.md": b"\0WORD"}
        with temp_packet(files) as root:
            report = run_packet(word_check, root)
        self.assertEqual([(f.code, f.path, f.line) for f in report.findings],
                         [("binary_file", "c.md", None), ("word_found", "outputs/a.md", 2)])
        self.assertEqual(report.summary, "2 findings")
        self.assertFalse(report.passed)

    def test_configuration_errors_are_check_errors(self):
        with temp_packet({}) as root:
            for config in ['{"paths": ["a**"]}', '{"other": 1}', "[]"]:
                with self.subTest(config=config), self.assertRaises(wc.CheckError):
                    run_packet(word_check, root, configuration=config)

    def test_unreadable_files_are_check_errors(self):
        @wc.checker(name="reader", version="1", description="Reads.")
        def reader(request, findings):
            request.packet.read_bytes("missing.txt")

        with temp_packet({}) as root, self.assertRaises(wc.CheckError) as caught:
            run_packet(reader, root)
        self.assertIn("cannot read a packet file", caught.exception.message)

    def test_manifest_of_a_directory(self):
        with temp_packet({"b/x": "1", "a": b"", "B": "22", "a.b": "333"}) as root:
            os.chmod(os.path.join(root, "a"), 0o755)
            manifest = manifest_of(root)
            request = request_from_dir(root, phase=wc.PRE_SUBMIT, summary="s")
        self.assertEqual([e.path for e in manifest], ["B", "a", "a.b", "b/x"])
        self.assertEqual([e.size for e in manifest], [2, 0, 3, 1])
        self.assertEqual(manifest[1].sha256, "sha256:" + "e3b0c44298fc1c149afbf4c8996fb924"
                         "27ae41e4649b934ca495991b7852b855")
        self.assertEqual([e.executable for e in manifest], [False, True, False, False])
        self.assertEqual((request.phase, request.summary), ("pre-submit", "s"))
        self.assertEqual(request.entry("a.b").size, 3)

    def test_schema_must_describe_an_object(self):
        with self.assertRaises(ValueError):
            wc.checker(name="x", version="1", description="", config_schema={"type": "array"})(
                lambda r, f: None)


class ComponentTest(unittest.TestCase):
    """The component class against stand-ins for the generated bindings."""

    def setUp(self):
        world = types.ModuleType("wit_world")

        class Phase(Enum):
            PRE_SUBMIT = 0
            POST_SUBMIT = 1

        class Level(Enum):
            INFO = 0
            WARNING = 1
            ERROR = 2

        @dataclass
        class FileEntry:
            path: str
            size: int
            sha256: str
            executable: bool

        @dataclass
        class CheckInput:
            phase: Phase
            manifest: List[FileEntry]
            summary: str
            attestation: str
            acceptance_criteria: str
            configuration: str
            prior_findings: list

        @dataclass
        class Finding:
            code: str
            level: Level
            message: str
            path: Optional[str]
            line: Optional[int]
            suggested_fix: Optional[str]

        @dataclass
        class Report:
            findings: List[Finding]
            summary: Optional[str]

        @dataclass
        class CheckerInfo:
            name: str
            version: str
            description: str
            config_schema: str

        for item in (Phase, Level, FileEntry, CheckInput, Finding, Report, CheckerInfo):
            setattr(world, item.__name__, item)
        types_module = types.ModuleType("componentize_py_types")

        class Err(Exception):
            def __init__(self, value):
                super().__init__(value)
                self.value = value

        types_module.Err = Err
        self.world = world
        self.Err = Err
        self.saved = {name: sys.modules.get(name) for name in ("wit_world", "componentize_py_types")}
        sys.modules["wit_world"] = world
        sys.modules["componentize_py_types"] = types_module

    def tearDown(self):
        for name, module in self.saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module

    def check_input(self, root, configuration="{}"):
        w = self.world
        manifest = [w.FileEntry(e.path, e.size, e.sha256, e.executable) for e in manifest_of(root)]
        return w.CheckInput(w.Phase.PRE_SUBMIT, manifest, "", "", "", configuration, [])

    def test_info_and_check(self):
        component = word_check.component()()
        info = component.info()
        self.assertEqual(info.name, "word-check")
        import workstream_checker.component as checker_module

        with temp_packet({"a.md": "WORD\n"}) as root:
            # The component reads /packet: point it at the temporary packet.
            saved = checker_module.MOUNT_POINT
            checker_module.MOUNT_POINT = root
            try:
                report = component.check(self.check_input(root))
                with self.assertRaises(self.Err) as caught:
                    component.check(self.check_input(root, '{"paths": 1}'))
            finally:
                checker_module.MOUNT_POINT = saved
        [finding] = report.findings
        self.assertEqual((finding.code, finding.level, finding.path, finding.line),
                         ("word_found", self.world.Level.ERROR, "a.md", 1))
        self.assertEqual(report.summary, "1 findings")
        self.assertIn("invalid checker configuration", caught.exception.value)

    def test_bugs_become_err(self):
        @wc.checker(name="buggy", version="1", description="Fails.")
        def buggy(request, findings):
            raise KeyError("oops")

        with temp_packet({}) as root, self.assertRaises(self.Err) as caught:
            buggy.component()().check(self.check_input(root))
        self.assertTrue(caught.exception.value.startswith("internal error: KeyError"))


if __name__ == "__main__":
    unittest.main()
