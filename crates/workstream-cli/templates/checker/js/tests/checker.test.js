// Unit tests of the checker under Node, with the SDK's test helper (no
// component host needed): node --test tests/*.test.js
// `./build.sh test` runs them before building the component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CheckError } from '../workstream-checker-sdk/workstream-checker.js';
import { runPacket, withTempPacket } from '../workstream-checker-sdk/testing.js';
import { MARKER, checker } from '../src/checker.js';

const packet = (name) => fileURLToPath(new URL(name, import.meta.url));

test('info describes the checker', () => {
  const info = checker.info();
  assert.equal(info.name, '{{name}}');
  const schema = JSON.parse(info.configSchema);
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
});

test('the pass packet passes', () => {
  const report = runPacket(checker, packet('pass'));
  assert.deepEqual(report.findings, []);
});

test('the fail packet fails at the marker', () => {
  const report = runPacket(checker, packet('fail'));
  const expected = fs
    .readFileSync(packet('fail/outputs/answer.md'), 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.includes(MARKER) ? [['marker_found', 'error', 'outputs/answer.md', i + 1]] : []));
  assert.deepEqual(report.findings.map((f) => [f.code, f.level, f.path, f.line]), expected);
});

test('every marked line of a Markdown output is a finding', () => {
  const report = withTempPacket(
    {
      'outputs/answer.md': `# Title\n${MARKER} one\nfine\r\nand ${MARKER} two\n`,
      'outputs/deep/more.md': MARKER,
      'outputs/notes.txt': `${MARKER} (not Markdown)\n`,
      'drafts/answer.md': `${MARKER} (not an output)\n`,
    },
    (root) => runPacket(checker, root),
  );
  assert.deepEqual(report.findings.map((f) => [f.path, f.line]), [
    ['outputs/answer.md', 2],
    ['outputs/answer.md', 4],
    ['outputs/deep/more.md', 1],
  ]);
  assert.ok(report.findings[0].message.includes(`"${MARKER}"`));
  assert.ok(report.findings[0].suggestedFix);
});

test('paths are configurable', () => {
  const report = withTempPacket({ 'drafts/answer.md': `${MARKER}\n` }, (root) =>
    runPacket(checker, root, { configuration: '{"paths": ["drafts/*.md"]}' }),
  );
  assert.deepEqual(report.findings.map((f) => [f.path, f.line]), [['drafts/answer.md', 1]]);
});

test('a bad configuration is err', () => {
  withTempPacket({}, (root) => {
    for (const configuration of ['{"paths": "x"}', '{"unknown": 1}', '{"paths": ["a**"]}', '[]']) {
      assert.throws(() => runPacket(checker, root, { configuration }), CheckError, configuration);
    }
  });
});
