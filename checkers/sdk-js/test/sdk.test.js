// Unit tests of the JavaScript checker SDK under Node (no component host):
//   cd checkers/sdk-js && node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';

import {
  CheckError,
  ConfigError,
  Findings,
  Glob,
  GlobError,
  MAX_MESSAGE_CHARS,
  PacketPathError,
  TRUNCATED_CODE,
  TextFile,
  compileGlobs,
  decodeText,
  defineChecker,
  exportChecker,
  isCode,
  parseConfig,
  reportToWit,
  requestFromWit,
  utf8Length,
  validate,
} from '../workstream-checker.js';
import { manifestOf, nodePacket, requestFromDir, runPacket, tempPacket, withTempPacket } from '../testing.js';

const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    paths: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 3, default: ['**/*.md'] },
    max_findings: { type: 'integer', minimum: 1, maximum: 10 },
    mode: { enum: ['strict', 'lenient'], default: 'strict' },
  },
  additionalProperties: false,
};

const wordCheck = defineChecker({
  name: 'word-check',
  version: '1.2.3',
  description: 'Flags a word.',
  configSchema: SCHEMA,
  check(request, findings) {
    for (const entry of request.matching(compileGlobs('paths', request.config.paths))) {
      const text = request.packet.readText(entry.path);
      if (text === null) {
        findings.info('binary_file', 'Not text.', { path: entry.path });
        continue;
      }
      for (const [number, line] of text.lines()) {
        if (line.includes('WORD')) {
          findings.error('word_found', 'WORD is here.', { path: entry.path, line: number, fix: 'Remove it.' });
        }
      }
    }
    findings.summary = `${findings.length} findings`;
  },
});

test('findings keep within the limits', () => {
  const findings = new Findings();
  findings.error('file_missing', 'README.md is missing', { path: 'README.md', fix: 'Add it.' });
  findings.warning('todo_left', 'x'.repeat(10_000), { path: 'p'.repeat(2000), line: 0, fix: '  ' });
  findings.info('note', ' ');
  findings.info('note', 'ok', { line: 1.5 });
  assert.ok(findings.hasErrors());
  const { findings: [first, long, blank, odd] } = findings.report();
  assert.deepEqual(first, {
    code: 'file_missing', level: 'error', message: 'README.md is missing', path: 'README.md', line: null, suggestedFix: 'Add it.',
  });
  assert.equal(long.message.length, MAX_MESSAGE_CHARS);
  assert.equal(long.path, null);
  assert.equal(long.line, null);
  assert.equal(long.suggestedFix, null);
  assert.equal(blank.message, 'note');
  assert.equal(odd.line, null);
  // Characters, not UTF-16 units: an emoji is never cut in half.
  const emoji = new Findings();
  emoji.info('e', '\u{1F600}'.repeat(3000));
  assert.equal(Array.from(emoji.report().findings[0].message).length, MAX_MESSAGE_CHARS);
});

test('NUL characters never reach the host', () => {
  const findings = new Findings();
  findings.error('nul', 'a\u0000b', { path: 'a\u0000b', fix: 'c\u0000d' });
  findings.summary = 'e\u0000f';
  const report = findings.report();
  assert.equal(report.findings[0].message, 'a\ufffdb');
  assert.equal(report.findings[0].path, null);
  assert.equal(report.findings[0].suggestedFix, 'c\ufffdd');
  assert.equal(report.summary, 'e\ufffdf');
});

test('truncation keeps the verdict', () => {
  const findings = new Findings(2);
  findings.warning('w', 'one');
  findings.warning('w', 'two');
  findings.error('e', 'three');
  findings.info('i', 'four');
  assert.equal(findings.length, 4);
  const report = findings.report();
  assert.deepEqual(report.findings.map((f) => f.code), ['w', 'w', TRUNCATED_CODE]);
  assert.equal(report.findings[2].level, 'error');
  assert.match(report.findings[2].message, /^2 more/);
  assert.equal(new Findings(10_000).limit, 255);
});

test('bad codes and levels are bugs', () => {
  const findings = new Findings();
  for (const code of ['', 'Upper', 'kebab-case', '_x', 'a'.repeat(65), undefined]) {
    assert.throws(() => findings.error(code, 'm'), Error, String(code));
  }
  assert.throws(() => findings.add('fatal', 'code', 'm'));
  assert.ok(isCode('required_file_missing'));
});

test('globs follow the Rust SDK dialect', () => {
  const cases = [
    ['outputs/**/*.md', 'outputs/answer.md', true],
    ['outputs/**/*.md', 'outputs/a/b/c.md', true],
    ['outputs/**/*.md', 'outputs.md', false],
    ['outputs/**/*.md', 'x/outputs/a.md', false],
    ['*.md', 'a/b.md', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['docs/', 'docs/x', true],
    ['docs/', 'docs', false],
    ['docs/**', 'docs/a/b', true],
    ['/README.md', 'README.md', true],
    ['**', 'anything/at/all', true],
    ['[x]', '[x]', true],
    ['**/b/**/c', 'a/b/x/y/c', true],
    ['**/b/**/c', 'a/b/x/y/d', false],
    ['caf?', 'caf\u00e9', true],
  ];
  for (const [pattern, path, expected] of cases) {
    assert.equal(new Glob(pattern).matches(path), expected, `${pattern} ~ ${path}`);
  }
  assert.ok(new Glob('*.pem').matchesAnywhere('keys/server.pem'));
  assert.ok(new Glob('.git/').matchesAnywhere('vendor/lib/.git/HEAD'));
  assert.ok(!new Glob('*.pem').matchesAnywhere('keys/server.pem.txt'));
  for (const bad of ['', '/', 'a//b', 'a/../b', 'a**', 'a\\b', './a']) {
    assert.throws(() => new Glob(bad), GlobError, bad);
  }
  assert.throws(() => compileGlobs('paths', ['ok', 'a**']), (e) => e instanceof ConfigError && e.message.includes('`paths`'));
});

test('configuration: defaults, blanks and refusals', () => {
  for (const text of ['', '  ', '{}']) {
    assert.deepEqual(parseConfig(text, SCHEMA), { paths: ['**/*.md'], mode: 'strict' });
  }
  assert.deepEqual(parseConfig('{"paths": ["a"], "max_findings": 3}', SCHEMA), { paths: ['a'], max_findings: 3, mode: 'strict' });
  const config = parseConfig('{}', SCHEMA);
  config.paths.push('x');
  assert.deepEqual(SCHEMA.properties.paths.default, ['**/*.md']);
  for (const text of ['{"pathz": []}', '{"paths": "x"}', '{"paths": [""]}', '{"paths": ["a","b","c","d"]}',
    '{"max_findings": 0}', '{"max_findings": true}', '{"max_findings": 1.5}', '{"mode": "x"}', '[]', 'null', 'nope']) {
    assert.throws(() => parseConfig(text, SCHEMA), ConfigError, text);
  }
  assert.equal(validate(2.0, { type: 'integer' }), null);
  assert.notEqual(validate('ab', { type: 'string', pattern: '^a$' }), null);
  assert.notEqual(validate([1, 1], { type: 'array', uniqueItems: true }), null);
  assert.notEqual(validate({}, { type: 'object', required: ['a'] }), null);
  assert.notEqual(validate(5, { exclusiveMaximum: 5 }), null);
  assert.notEqual(validate(1, { const: true }), null);
  assert.equal(validate({ x: 1 }, { additionalProperties: { type: 'integer' } }), null);
  assert.notEqual(validate({ x: '1' }, { additionalProperties: { type: 'integer' } }), null);
});

test('text decoding and lines', () => {
  const enc = new TextEncoder();
  assert.equal(decodeText(enc.encode('caf\u00e9')), 'caf\u00e9');
  assert.equal(decodeText(new Uint8Array([0x63, 0xe9, 0x20])), null, 'latin-1 is not UTF-8');
  assert.equal(decodeText(new Uint8Array([0, 1, 2])), null, 'NUL means binary');
  assert.equal(decodeText(enc.encode('caf\u00e9').subarray(0, 4), true), 'caf', 'a cut character is dropped');
  assert.equal(decodeText(enc.encode('caf\u00e9').subarray(0, 4), false), null);
  assert.equal(decodeText(new Uint8Array([0xed, 0xa0, 0x80])), null, 'surrogates are not UTF-8');
  assert.equal(decodeText(new Uint8Array([0xc0, 0x80])), null, 'overlong forms are not UTF-8');
  assert.deepEqual(new TextFile('# Hello\r\nsecond\n', false).lines(), [[1, '# Hello'], [2, 'second']]);
  assert.deepEqual(new TextFile('a\n\nb', false).lines(), [[1, 'a'], [2, ''], [3, 'b']]);
  assert.equal(utf8Length('caf\u00e9\u{1F600}'), 9);
});

test('packet reading is bounded and stays inside the packet', () => {
  withTempPacket({ 'README.md': '# Hello\n', 'docs/answer.md': 'caf\u00e9', 'docs/x.bin': new Uint8Array([0, 1, 2]) }, (root) => {
    const packet = nodePacket(root);
    assert.equal(packet.readText('README.md').text, '# Hello\n');
    assert.equal(packet.readText('docs/x.bin'), null);
    const cut = packet.readText('docs/answer.md', 4);
    assert.equal(cut.text, 'caf');
    assert.ok(cut.truncated);
    assert.deepEqual(Array.from(packet.readBytes('README.md', 3)), [0x23, 0x20, 0x48]);
    for (const bad of ['../etc/passwd', '/etc/passwd', 'docs/../../x', '', 'a\\b', 'a\nb', 'a//b']) {
      assert.throws(() => packet.readBytes(bad), PacketPathError, JSON.stringify(bad));
    }
    assert.ok(packet.isFile('docs/answer.md'));
    assert.ok(!packet.isFile('docs'));
    assert.ok(!packet.isFile('../x'));
    fs.symlinkSync('/etc', nodePath.join(root, 'link'));
    assert.throws(() => packet.readBytes('link/hostname'), PacketPathError);
    assert.ok(!packet.isFile('link'));
  });
});

test('a checker runs on a packet directory', () => {
  const info = wordCheck.info();
  assert.equal(info.name, 'word-check');
  assert.deepEqual(JSON.parse(info.configSchema), SCHEMA);
  const report = withTempPacket(
    { 'outputs/a.md': 'ok\nthe WORD\n', 'b.txt': 'WORD\n', 'c.md': new Uint8Array([0, 0x57]) },
    (root) => runPacket(wordCheck, root),
  );
  assert.deepEqual(report.findings.map((f) => [f.code, f.path, f.line]), [
    ['binary_file', 'c.md', null],
    ['word_found', 'outputs/a.md', 2],
  ]);
  assert.equal(report.summary, '2 findings');
});

test('configuration errors and unreadable files are CheckErrors', () => {
  withTempPacket({}, (root) => {
    for (const configuration of ['{"paths": ["a**"]}', '{"other": 1}', '[]']) {
      assert.throws(() => runPacket(wordCheck, root, { configuration }), CheckError, configuration);
    }
    const reader = defineChecker({
      name: 'reader', version: '1', description: 'Reads.',
      check(request) {
        request.packet.readBytes('missing.txt');
      },
    });
    assert.throws(() => runPacket(reader, root), (e) => e instanceof CheckError && /cannot read a packet file/.test(e.message));
  });
});

test('the manifest of a directory is what the host computes', () => {
  const packet = tempPacket({ 'b/x': '1', a: '', B: '22', 'a.b': '333' });
  try {
    fs.chmodSync(nodePath.join(packet.root, 'a'), 0o755);
    const manifest = manifestOf(packet.root);
    assert.deepEqual(manifest.map((e) => e.path), ['B', 'a', 'a.b', 'b/x']);
    assert.deepEqual(manifest.map((e) => e.size), [2, 0, 3, 1]);
    assert.equal(manifest[1].sha256, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.deepEqual(manifest.map((e) => e.executable), [false, true, false, false]);
    const request = requestFromDir(packet.root, { phase: 'pre-submit', summary: 's' });
    assert.equal(request.phase, 'pre-submit');
    assert.equal(request.entry('a.b').size, 3);
  } finally {
    packet.remove();
  }
});

test('the exports convert the raw bindings and turn failures into err strings', () => {
  const root = tempPacket({ 'a.md': 'WORD\n' });
  try {
    // A stand-in for wasi:filesystem/preopens over the Node file system.
    const node = nodePacket(root.root);
    const descriptor = {
      statAt: (_flags, path) => ({ type: node.isFile(path) ? 'regular-file' : 'directory' }),
      openAt: (_flags, path) => {
        const bytes = node.readBytes(path, 1 << 20);
        return { read: (len, offset) => [bytes.subarray(Number(offset), Number(offset + len)), Number(offset + len) >= bytes.length] };
      },
    };
    const component = exportChecker(wordCheck, { getDirectories: () => [[descriptor, '/packet']] });
    assert.equal(component.info().name, 'word-check');
    const input = (configuration) => ({
      phase: 'pre-submit',
      manifest: manifestOf(root.root).map((e) => ({ ...e, size: BigInt(e.size) })),
      summary: '', attestation: '', acceptanceCriteria: '', configuration, priorFindings: [],
    });
    assert.deepEqual(component.check(input('{}')), {
      findings: [{ code: 'word_found', level: 'error', message: 'WORD is here.', path: 'a.md', line: 1, suggestedFix: 'Remove it.' }],
      summary: '1 findings',
    });
    assert.throws(() => component.check(input('{"paths": 1}')), (e) => typeof e === 'string' && e.includes('invalid checker configuration'));
    const buggy = exportChecker(
      defineChecker({ name: 'buggy', version: '1', description: '', check() { throw new TypeError('oops'); } }),
      { getDirectories: () => [] },
    );
    assert.throws(() => buggy.check(input('{}')), (e) => e === 'internal error: TypeError: oops');
  } finally {
    root.remove();
  }
});

test('raw conversions', () => {
  const request = requestFromWit({
    phase: 'post-submit',
    manifest: [{ path: 'a', size: 3n, sha256: 'sha256:x', executable: false }],
    summary: 's', attestation: 'a', acceptanceCriteria: 'c', configuration: '{}',
    priorFindings: [{ findingId: 'F-1', area: 'a', issue: 'i', path: undefined, line: 4, requiredFix: 'r', response: undefined }],
  }, null);
  assert.equal(request.manifest[0].size, 3);
  assert.equal(request.priorFindings[0].path, null);
  assert.equal(request.priorFindings[0].line, 4);
  assert.ok(request.isRevision);
  assert.deepEqual(reportToWit({ findings: [{ code: 'c', level: 'info', message: 'm', path: null, line: null, suggestedFix: null }], summary: null }),
    { findings: [{ code: 'c', level: 'info', message: 'm' }] });
});
