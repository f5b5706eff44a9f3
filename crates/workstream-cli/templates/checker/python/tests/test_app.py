"""Unit tests of the checker, run natively with the SDK's test helper (no
component host needed):

    PYTHONPATH=src:workstream-checker-sdk python3 -m unittest discover -s tests

`./build.sh test` runs them before building the component.
"""

import json
import os
import unittest

import app
import workstream_checker as wc
from workstream_checker.testing import run_packet, temp_packet

PACKETS = os.path.dirname(os.path.abspath(__file__))


class MarkerTest(unittest.TestCase):
    def test_info(self):
        info = app.check.info()
        self.assertEqual(info["name"], "{{name}}")
        schema = json.loads(info["config_schema"])
        self.assertEqual(schema["type"], "object")
        self.assertFalse(schema["additionalProperties"])

    def test_the_pass_packet_passes(self):
        report = run_packet(app.check, os.path.join(PACKETS, "pass"))
        self.assertEqual(report.findings, [])
        self.assertTrue(report.passed)

    def test_the_fail_packet_fails_at_the_marker(self):
        report = run_packet(app.check, os.path.join(PACKETS, "fail"))
        locations = [(f.code, f.level, f.path, f.line) for f in report.findings]
        expected = []
        with open(os.path.join(PACKETS, "fail", "outputs", "answer.md"), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if app.MARKER in line:
                    expected.append(("marker_found", "error", "outputs/answer.md", number))
        self.assertEqual(locations, expected)

    def test_every_marked_line_is_a_finding(self):
        marker = app.MARKER
        files = {
            "outputs/answer.md": f"# Title\n{marker} one\nfine\r\nand {marker} two\n",
            "outputs/deep/more.md": f"{marker}",
            "outputs/notes.txt": f"{marker} (not Markdown)\n",
            "drafts/answer.md": f"{marker} (not an output)\n",
        }
        with temp_packet(files) as root:
            report = run_packet(app.check, root)
        self.assertEqual(
            [(f.path, f.line) for f in report.findings],
            [("outputs/answer.md", 2), ("outputs/answer.md", 4), ("outputs/deep/more.md", 1)],
        )
        finding = report.findings[0]
        self.assertIn(f'"{marker}"', finding.message)
        self.assertIsNotNone(finding.suggested_fix)

    def test_paths_are_configurable(self):
        with temp_packet({"drafts/answer.md": f"{app.MARKER}\n"}) as root:
            report = run_packet(app.check, root, configuration='{"paths": ["drafts/*.md"]}')
        self.assertEqual([(f.path, f.line) for f in report.findings], [("drafts/answer.md", 1)])

    def test_a_bad_configuration_is_err(self):
        with temp_packet({}) as root:
            for config in ['{"paths": "x"}', '{"unknown": 1}', '{"paths": ["a**"]}', "[]"]:
                with self.subTest(config=config), self.assertRaises(wc.CheckError):
                    run_packet(app.check, root, configuration=config)


if __name__ == "__main__":
    unittest.main()
