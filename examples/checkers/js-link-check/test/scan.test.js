// Unit tests of the checker logic under Node (no component host needed):
//   node --test test/*.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_SCHEMA, CheckError, globMatch, runCheck } from '../src/scan.js';

function input(files, configuration = '{}') {
  const manifest = Object.keys(files)
    .sort()
    .map((path) => ({ path, size: BigInt(files[path].length), sha256: '', executable: false }));
  return { phase: 'pre-submit', manifest, configuration };
}

function run(files, configuration) {
  return runCheck(input(files, configuration), (path) => files[path]);
}

test('a clean packet passes', () => {
  const report = run({
    'README.md': '# Answer\nSee [the data](data/table.csv) and [docs](docs/).\n',
    'data/table.csv': 'a,b\n',
    'docs/notes.md': 'Back to the [readme](../README.md#answer), or [web](https://example.org).\n',
  });
  assert.deepEqual(report.findings, []);
  assert.match(report.summary, /^2 Markdown files scanned, 3 relative links \(0 broken\), 0 markers$/);
});

test('broken relative links are errors with path and line', () => {
  const report = run({
    'outputs/answer.md': 'Intro\n\n![chart](img/chart.png)\n[up](../../secret.txt)\n[ref]: ./missing.md\n',
  });
  assert.deepEqual(
    report.findings.map((f) => [f.code, f.level, f.path, f.line]),
    [
      ['broken_relative_link', 'error', 'outputs/answer.md', 3],
      ['broken_relative_link', 'error', 'outputs/answer.md', 4],
      ['broken_relative_link', 'error', 'outputs/answer.md', 5],
    ],
  );
  assert.match(report.findings[0].message, /no file outputs\/img\/chart\.png/);
  assert.match(report.findings[1].message, /outside the packet/);
});

test('markers are warnings; code blocks and spans hide links but not markers', () => {
  const report = run({
    'a.md': 'TODO: finish\nNot a TODOS word\n```\n[x](nope.md)\n```\n`[y](nope.md)` FIXME\n',
  });
  assert.deepEqual(
    report.findings.map((f) => [f.code, f.level, f.line]),
    [
      ['todo_marker', 'warning', 1],
      ['todo_marker', 'warning', 6],
    ],
  );
});

test('configuration: paths, markers, check_links', () => {
  const files = { 'a.md': 'XXX [x](gone.md)\n', 'b.txt': 'TODO [y](gone.md)\n' };
  const report = run(files, '{"paths": ["*.txt"], "markers": ["XXX"], "check_links": false}');
  assert.deepEqual(report.findings, []);
  assert.equal(run(files, '{"markers": []}').findings.length, 1);
});

test('an unusable configuration is an err, not a finding', () => {
  assert.throws(() => run({}, '{"paths": "*.md"}'), CheckError);
  assert.throws(() => run({}, '{"nope": 1}'), CheckError);
  assert.throws(() => run({}, 'not json'), CheckError);
});

test('more than 100 findings are truncated', () => {
  const report = run({ 'a.md': 'TODO\n'.repeat(150) });
  assert.equal(report.findings.length, 101);
  assert.deepEqual(report.findings[100].code, 'findings_truncated');
  assert.deepEqual(report.findings[100].level, 'warning');
});

test('globs', () => {
  assert.ok(globMatch('**/*.md', 'README.md'));
  assert.ok(globMatch('**/*.md', 'a/b/c.md'));
  assert.ok(globMatch('docs/', 'docs/x/y.txt'));
  assert.ok(!globMatch('*.md', 'a/b.md'));
  assert.ok(!globMatch('a.md', 'a_md'));
});

test('the schema is JSON', () => {
  assert.equal(JSON.parse(JSON.stringify(CONFIG_SCHEMA)).type, 'object');
});
