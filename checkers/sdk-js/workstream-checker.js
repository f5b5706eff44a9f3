// Guest SDK for Workstream checker components written in JavaScript.
//
// A checker is a WebAssembly component that inspects one immutable submission
// packet and reports findings; the contract is `workstream:checker@0.2.0`
// (world `checker`, wit/checker.wit). componentize-js (the StarlingMonkey
// engine) turns an ES module into such a component; this module turns the
// contract into a small API so that a checker is one `check` function:
//
//   import { defineChecker } from './workstream-checker.js';
//
//   export const checker = defineChecker({
//     name: 'short-answer',
//     version: '0.1.0',
//     description: 'Checks that outputs/answer.md stays short.',
//     configSchema: {
//       $schema: 'https://json-schema.org/draft/2020-12/schema',
//       type: 'object',
//       properties: { max_lines: { type: 'integer', minimum: 1, default: 40 } },
//       additionalProperties: false,
//     },
//     check(request, findings) {
//       const text = request.packet.readText('outputs/answer.md');
//       if (text && text.lines().length > request.config.max_lines) {
//         findings.warning('answer_too_long', 'outputs/answer.md is too long.',
//           { path: 'outputs/answer.md', fix: 'Shorten it.' });
//       }
//     },
//   });
//
// and the component's entry module wires it to the exports and to `/packet`:
//
//   import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
//   import { exportChecker } from './workstream-checker.js';
//   import { checker } from './checker.js';
//   const component = exportChecker(checker, { getDirectories });
//   export function info() { return component.info(); }
//   export function check(input) { return component.check(input); }
//
// This module imports nothing (no WASI, no Node built-ins), so the same code
// runs in the component and under Node, where `testing.js` runs a checker on
// a packet directory without componentizing (`node --test`).
//
// The pieces: `defineChecker` and `exportChecker` (the check and the glue to
// the exports), `Request` (the typed request), `Findings` (builds a report
// within the host's limits), `Packet` (reads packet files safely), config
// parsing (`parseConfig`: JSON Schema subset plus defaults), `Glob` (the Rust
// SDK's path patterns).

/** The contract this SDK binds. */
export const CONTRACT = 'workstream:checker@0.2.0';
/** The SDK's version; 0.2.x binds the contract workstream:checker@0.2.0. */
export const VERSION = '0.2.0';

// ---- Levels, phases and the host's limits --------------------------------

/** A defect in the packet: the run fails. */
export const ERROR = 'error';
/** Worth a reviewer's attention; does not fail the run on its own. */
export const WARNING = 'warning';
/** A neutral observation. */
export const INFO = 'info';
/** The levels, least serious first. */
export const LEVELS = Object.freeze([INFO, WARNING, ERROR]);

/** Before a submission exists: the contributor gets the result at once. */
export const PRE_SUBMIT = 'pre-submit';
/** After the packet was submitted and locked as a numbered version. */
export const POST_SUBMIT = 'post-submit';

/** Findings kept by default (the host accepts at most 256). */
export const DEFAULT_LIMIT = 100;
/** The host's limit on the number of findings. */
export const MAX_FINDINGS = 256;
/** Longest message kept, in characters (the host's limit is 4096). */
export const MAX_MESSAGE_CHARS = 2000;
/** Longest suggested fix kept, in characters. */
export const MAX_FIX_CHARS = 1000;
/** Longest report summary kept, in characters. */
export const MAX_SUMMARY_CHARS = 500;
/** Longest path kept, in UTF-8 bytes (the host's limit). */
export const MAX_PATH_BYTES = 1000;
/** Code of the finding that stands for the findings dropped over the limit. */
export const TRUNCATED_CODE = 'findings_truncated';
/** Where the host mounts the packet inside the component. */
export const MOUNT_POINT = '/packet';
/** Bytes read by default by `Packet.readText`/`readBytes`. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** Bytes inspected for a NUL to tell text from binary content. */
export const SNIFF_BYTES = 8192;

// ---- Errors ---------------------------------------------------------------

/** The packet cannot be evaluated at all: becomes the `err` of `check`
 * (the message goes to operators, not contributors). */
export class CheckError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CheckError';
  }
}

/** The configuration cannot be used (`Checker.run` makes it a `CheckError`). */
export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A glob pattern that cannot be compiled. */
export class GlobError extends Error {
  constructor(message) {
    super(message);
    this.name = 'GlobError';
  }
}

/** A path that is not a well-formed packet path. */
export class PacketPathError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PacketPathError';
  }
}

/** A packet file that cannot be read (missing, not a file, I/O error). */
export class PacketReadError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PacketReadError';
  }
}

// ---- Text helpers -----------------------------------------------------------

/** `text` without NUL characters, which the host cannot store (it rejects a
 * report holding one): each becomes U+FFFD. */
function storable(text) {
  return text.includes('\u0000') ? text.split('\u0000').join('\ufffd') : text;
}

/** The first `max` characters (code points, never half a pair) of `text`. */
function clipChars(text, max) {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}

/** Length of `text` in UTF-8 bytes. */
export function utf8Length(text) {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** How many leading bytes of `bytes` form valid UTF-8, and whether the rest
 * is only an incomplete final character (`{valid, incomplete}`). */
function utf8Prefix(bytes) {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need;
    let min;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return { valid: i, incomplete: false };
    let cp = b & (0x3f >> need);
    let j = 1;
    for (; j <= need && i + j < n; j++) {
      const c = bytes[i + j];
      if ((c & 0xc0) !== 0x80) return { valid: i, incomplete: false };
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j <= need) return { valid: i, incomplete: true };
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return { valid: i, incomplete: false };
    }
    i += need + 1;
  }
  return { valid: n, incomplete: false };
}

/** `bytes` as UTF-8 text, or `null` when they look binary: a NUL near the
 * start, or bytes that are not UTF-8 (a character cut at the end of a
 * `truncated` read does not count). */
export function decodeText(bytes, truncated = false) {
  const sniff = Math.min(bytes.length, SNIFF_BYTES);
  for (let i = 0; i < sniff; i++) if (bytes[i] === 0) return null;
  const { valid, incomplete } = utf8Prefix(bytes);
  if (valid < bytes.length && !(truncated && incomplete)) return null;
  return new TextDecoder('utf-8').decode(bytes.subarray(0, valid));
}

// ---- Findings ---------------------------------------------------------------

/** True for a well-formed finding code: snake_case (`[a-z0-9_]`, starting
 * with a letter), 1-64 characters. */
export function isCode(code) {
  return typeof code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(code);
}

/**
 * @typedef {object} Finding One observation about the packet.
 * @property {string} code stable snake_case identifier
 * @property {'error'|'warning'|'info'} level
 * @property {string} message safe to show a contributor
 * @property {string|null} path packet path the finding is about
 * @property {number|null} line 1-based line within `path`
 * @property {string|null} suggestedFix a concrete change that resolves it
 *
 * @typedef {object} Report The result of a completed check.
 * @property {Finding[]} findings no `error` finding means the run passed
 * @property {string|null} summary one-line overview
 *
 * @typedef {object} FindingOptions
 * @property {string} [path]
 * @property {number} [line]
 * @property {string} [fix]
 */

/**
 * The findings of one run, in the order they were added. Keeps the report
 * within the host's limits, like the Rust SDK: texts are clipped, an overlong
 * path is left out rather than cut into a different path, and past `limit`
 * findings are counted instead of kept and summed up in one last
 * `findings_truncated` finding whose level is the highest level dropped (so
 * truncation never changes the verdict), and NUL characters (which the host
 * cannot store) become U+FFFD. A malformed code or level is a bug
 * in the checker and throws (the run then ends in `err`).
 */
export class Findings {
  constructor(limit = DEFAULT_LIMIT) {
    // One place is kept for `findings_truncated`.
    this.limit = Math.max(1, Math.min(Math.floor(limit), MAX_FINDINGS - 1));
    this.kept = [];
    this.dropped = 0;
    this.droppedLevel = null;
    this._summary = null;
  }

  /** Adds an `error` finding: the packet fails this check.
   * @param {string} code @param {string} message @param {FindingOptions} [options] */
  error(code, message, options) {
    this.add(ERROR, code, message, options);
  }

  /** Adds a `warning` finding.
   * @param {string} code @param {string} message @param {FindingOptions} [options] */
  warning(code, message, options) {
    this.add(WARNING, code, message, options);
  }

  /** Adds an `info` finding.
   * @param {string} code @param {string} message @param {FindingOptions} [options] */
  info(code, message, options) {
    this.add(INFO, code, message, options);
  }

  /** Adds a finding of any level.
   * @param {'error'|'warning'|'info'} level @param {string} code @param {string} message
   * @param {FindingOptions} [options] */
  add(level, code, message, { path, line, fix } = {}) {
    if (!LEVELS.includes(level)) throw new Error(`finding level ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
    if (!isCode(code)) throw new Error(`finding code ${JSON.stringify(code)} is not snake_case of 1-64 characters`);
    if (this.kept.length >= this.limit) {
      this.dropped += 1;
      if (this.droppedLevel === null || LEVELS.indexOf(level) > LEVELS.indexOf(this.droppedLevel)) {
        this.droppedLevel = level;
      }
      return;
    }
    let text = storable(String(message ?? ''));
    if (text.trim() === '') text = code;
    const pathOk = typeof path === 'string' && path !== '' && !path.includes('\u0000') && utf8Length(path) <= MAX_PATH_BYTES;
    this.kept.push({
      code,
      level,
      message: clipChars(text, MAX_MESSAGE_CHARS),
      path: pathOk ? path : null,
      line: Number.isInteger(line) && line > 0 && line < 2 ** 32 ? line : null,
      suggestedFix: typeof fix === 'string' && fix.trim() !== '' ? storable(clipChars(fix, MAX_FIX_CHARS)) : null,
    });
  }

  /** The report's one-line overview, if set. */
  get summary() {
    return this._summary;
  }

  set summary(text) {
    this._summary = text == null ? null : storable(clipChars(String(text), MAX_SUMMARY_CHARS));
  }

  /** Findings added, kept or not. */
  get length() {
    return this.kept.length + this.dropped;
  }

  /** True when some finding added, kept or not, is an error. */
  hasErrors() {
    return this.droppedLevel === ERROR || this.kept.some((f) => f.level === ERROR);
  }

  /** The report to return from `check`. @returns {Report} */
  report() {
    const findings = this.kept.slice();
    if (this.droppedLevel !== null) {
      findings.push({
        code: TRUNCATED_CODE,
        level: this.droppedLevel,
        message: `${this.dropped} more findings were not listed; fix the ones above and check again to see the rest.`,
        path: null,
        line: null,
        suggestedFix: null,
      });
    }
    return { findings, summary: this._summary };
  }
}

// ---- Globs ------------------------------------------------------------------

const ANY_PATH = null; // the `**` segment; a name segment is a string

/**
 * A path pattern, the Rust SDK's dialect, matched against packet paths:
 * `?` any one character except `/`; `*` any run of characters except `/`;
 * `**` as a whole segment: any number of segments, including none; a trailing
 * `/` or `/**` for "everything inside"; a leading `/` is ignored. Everything
 * else is literal. `a**`, `a//b`, `.`/`..` segments and backslashes are errors.
 */
export class Glob {
  /** @param {string} pattern */
  constructor(pattern) {
    if (typeof pattern !== 'string') throw new GlobError(`a pattern must be a string, not ${typeof pattern}`);
    const error = (problem) => new GlobError(`invalid pattern \`${pattern}\`: ${problem}`);
    if (pattern.includes('\\')) throw error('use `/` to separate path segments, not `\\`');
    let body = pattern.startsWith('/') ? pattern.slice(1) : pattern;
    const namesDirectory = body.endsWith('/');
    if (namesDirectory) body = body.slice(0, -1);
    if (body === '') throw error('the pattern is empty');
    const segments = [];
    for (const part of body.split('/')) {
      if (part === '') throw error('empty path segment (`//`)');
      if (part === '.' || part === '..') throw error('`.` and `..` segments are not allowed');
      if (part === '**') segments.push(ANY_PATH);
      else if (part.includes('**')) throw error('`**` must be a whole path segment, as in `a/**/b`');
      else segments.push(Array.from(part));
    }
    if (namesDirectory) segments.push(ANY_PATH);
    // A trailing `**` means "inside": at least one more segment.
    if (segments[segments.length - 1] === ANY_PATH) segments.splice(segments.length - 1, 0, ['*']);
    this.pattern = pattern;
    this.segments = segments;
  }

  toString() {
    return this.pattern;
  }

  /** True when the whole `path` matches. @param {string} path */
  matches(path) {
    return matchSegments(this.segments, splitPath(path));
  }

  /** True when some run of whole segments of `path` matches: the pattern
   * names the file itself or any directory on its way. @param {string} path */
  matchesAnywhere(path) {
    const names = splitPath(path);
    const openEnded = [...this.segments, ANY_PATH];
    for (let start = 0; start < names.length; start++) {
      if (matchSegments(openEnded, names.slice(start))) return true;
    }
    return false;
  }
}

/** Compiles the patterns of configuration option `field`; throws
 * `ConfigError` naming the option and the pattern. @returns {Glob[]} */
export function compileGlobs(field, patterns) {
  try {
    return Array.from(patterns, (p) => new Glob(p));
  } catch (e) {
    if (e instanceof GlobError) throw new ConfigError(`invalid checker configuration: \`${field}\`: ${e.message}`);
    throw e;
  }
}

function splitPath(path) {
  return path
    .split('/')
    .filter((name) => name !== '')
    .map((name) => Array.from(name));
}

// Greedy with one backtrack point, as for `*` within a name: linear in
// practice and never exponential.
function matchSegments(segments, names) {
  let s = 0;
  let n = 0;
  let backtrack = null;
  while (n < names.length) {
    if (s < segments.length && segments[s] === ANY_PATH) {
      backtrack = [s, n];
      s += 1;
    } else if (s < segments.length && matchName(segments[s], names[n])) {
      s += 1;
      n += 1;
    } else if (backtrack !== null) {
      const [star, start] = backtrack;
      s = star + 1;
      n = start + 1;
      backtrack = [star, start + 1];
    } else {
      return false;
    }
  }
  return segments.slice(s).every((segment) => segment === ANY_PATH);
}

function matchName(tokens, name) {
  let t = 0;
  let c = 0;
  let backtrack = null;
  while (c < name.length) {
    if (t < tokens.length && tokens[t] === '*') {
      backtrack = [t, c];
      t += 1;
    } else if (t < tokens.length && (tokens[t] === '?' || tokens[t] === name[c])) {
      t += 1;
      c += 1;
    } else if (backtrack !== null) {
      const [star, start] = backtrack;
      t = star + 1;
      c = start + 1;
      backtrack = [star, start + 1];
    } else {
      return false;
    }
  }
  return tokens.slice(t).every((token) => token === '*');
}

// ---- Configuration ----------------------------------------------------------

/**
 * Parses configuration JSON, validates it against `schema` and returns it
 * with the defaults of absent top-level properties filled in. Blank text
 * counts as `{}` (the host passes `{}` when a policy gives no configuration);
 * anything but a JSON object is refused. Throws `ConfigError`.
 *
 * The host validates the configuration against the full schema before every
 * run; this re-checks the part configuration schemas use: `type`, `enum`,
 * `const`, `properties`, `required`, `additionalProperties`, `items`,
 * `minItems`, `maxItems`, `uniqueItems`, `minLength`, `maxLength`, `pattern`,
 * `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`. Annotations
 * (`title`, `description`, `default`, ...) and other keywords are not checked.
 */
export function parseConfig(text, schema) {
  const source = typeof text === 'string' && text.trim() !== '' ? text : '{}';
  let value;
  try {
    value = JSON.parse(source);
  } catch (e) {
    throw new ConfigError(`invalid checker configuration: not JSON: ${e.message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('invalid checker configuration: expected a JSON object');
  }
  const problem = validate(value, schema);
  if (problem !== null) throw new ConfigError(`invalid checker configuration: ${problem}`);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (!(name in value) && property && typeof property === 'object' && 'default' in property) {
      value[name] = JSON.parse(JSON.stringify(property.default));
    }
  }
  return value;
}

const TYPES = {
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === 'string',
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
};

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The first problem of `value` against `schema` (the subset `parseConfig`
 * checks) as `` `at`: problem ``, or `null`. */
export function validate(value, schema, at = '') {
  const where = `\`${at || '/'}\``;
  if (schema === true || schema === undefined || schema === null) return null;
  if (schema === false) return `${where}: not allowed`;
  if (typeof schema !== 'object') return null;
  if (schema.type !== undefined) {
    const kinds = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!kinds.some((k) => TYPES[k] && TYPES[k](value))) {
      return `${where}: expected ${kinds.join(' or ')}, got ${String(JSON.stringify(value)).slice(0, 80)}`;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((v) => same(v, value))) {
    return `${where}: must be one of ${JSON.stringify(schema.enum).slice(0, 200)}`;
  }
  if ('const' in schema && !same(schema.const, value)) {
    return `${where}: must be ${JSON.stringify(schema.const).slice(0, 200)}`;
  }
  if (TYPES.object(value)) {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!(name in value)) return `${where}: \`${name}\` is required`;
    }
    const extra = schema.additionalProperties ?? true;
    for (const name of Object.keys(value)) {
      const known = Object.prototype.hasOwnProperty.call(properties, name);
      if (!known && extra === false) return `${where}: unknown option \`${name}\``;
      const problem = validate(value[name], known ? properties[name] : extra, `${at}/${name}`);
      if (problem) return problem;
    }
  }
  if (Array.isArray(value)) {
    if (value.length < (schema.minItems ?? 0)) return `${where}: at least ${schema.minItems} items`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${where}: at most ${schema.maxItems} items`;
    if (schema.uniqueItems && value.some((a, i) => value.slice(i + 1).some((b) => same(a, b)))) {
      return `${where}: items must be unique`;
    }
    for (let i = 0; i < value.length; i++) {
      const problem = validate(value[i], schema.items ?? true, `${at}/${i}`);
      if (problem) return problem;
    }
  }
  if (typeof value === 'string') {
    const chars = Array.from(value).length;
    if (chars < (schema.minLength ?? 0)) return `${where}: at least ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && chars > schema.maxLength) return `${where}: at most ${schema.maxLength} characters`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      return `${where}: must match ${schema.pattern}`;
    }
  }
  if (TYPES.number(value)) {
    if (schema.minimum !== undefined && value < schema.minimum) return `${where}: must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${where}: must be at most ${schema.maximum}`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      return `${where}: must be more than ${schema.exclusiveMinimum}`;
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      return `${where}: must be less than ${schema.exclusiveMaximum}`;
    }
  }
  return null;
}

// ---- The packet -------------------------------------------------------------

/** Throws `PacketPathError` unless `path` has the form the contract promises
 * for manifest paths: non-empty, relative, `/`-separated, no empty, `.` or
 * `..` segments, no backslashes or control characters. */
export function checkPath(path) {
  if (typeof path !== 'string' || path === '') throw new PacketPathError('the path is empty');
  if (path.startsWith('/')) throw new PacketPathError(`the path is absolute: ${JSON.stringify(path)}`);
  if (path.includes('\\')) throw new PacketPathError(`the path contains a backslash: ${JSON.stringify(path)}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) {
    throw new PacketPathError(`the path contains a control character: ${JSON.stringify(path)}`);
  }
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new PacketPathError(`the path has an empty, \`.\` or \`..\` segment: ${JSON.stringify(path)}`);
  }
}

/** The start of a file read as UTF-8 text. */
export class TextFile {
  /** @param {string} text @param {boolean} truncated the file is longer than what was read */
  constructor(text, truncated) {
    this.text = text;
    this.truncated = truncated;
  }

  /** `[number, line]` pairs, numbered from 1, without the line ends (`\n` or
   * `\r\n`). A final line end does not start another line.
   * @returns {Array<[number, string]>} */
  lines() {
    const parts = this.text.split('\n');
    if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    return parts.map((p, i) => [i + 1, p.endsWith('\r') ? p.slice(0, -1) : p]);
  }
}

/**
 * The packet's files: `/packet` in the component (`wasiPacket`), any
 * directory under Node (`nodePacket` in testing.js). Every path is checked
 * with `checkPath` before it reaches the file system, so a manifest entry
 * such as `../x` cannot make a checker read outside the packet.
 *
 * A reader is `{ read(path, maxBytes) -> Uint8Array, isFile(path) -> boolean }`
 * over checked paths; `read` throws `PacketReadError`.
 */
export class Packet {
  constructor(reader) {
    this.reader = reader;
  }

  /** True when `path` is a regular file of the packet. */
  isFile(path) {
    try {
      checkPath(path);
      return this.reader.isFile(path);
    } catch {
      return false;
    }
  }

  /** At most `maxBytes` bytes from the start of `path`. Throws
   * `PacketPathError` or `PacketReadError` (`Checker.run` turns both into
   * `err`). @returns {Uint8Array} */
  readBytes(path, maxBytes = DEFAULT_MAX_BYTES) {
    checkPath(path);
    return this.reader.read(path, Math.max(0, Math.floor(maxBytes)));
  }

  /** At most `maxBytes` bytes of `path` as UTF-8 text, or `null` when the
   * content looks binary (see `decodeText`). @returns {TextFile|null} */
  readText(path, maxBytes = DEFAULT_MAX_BYTES) {
    let bytes = this.readBytes(path, maxBytes + 1);
    const truncated = bytes.length > maxBytes;
    if (truncated) bytes = bytes.subarray(0, maxBytes);
    const text = decodeText(bytes, truncated);
    return text === null ? null : new TextFile(text, truncated);
  }
}

/**
 * The packet as the host mounts it, read through `wasi:filesystem`.
 * StarlingMonkey has no `fs` module: the component's entry module imports
 * `getDirectories` from `wasi:filesystem/preopens@0.2.12` and passes it here.
 */
export function wasiPacket(getDirectories, mountPoint = MOUNT_POINT) {
  let root;
  const directory = () => {
    if (root === undefined) {
      const found = getDirectories().find(([, name]) => name === mountPoint);
      if (!found) throw new PacketReadError(`the packet directory ${mountPoint} is not mounted`);
      root = found[0];
    }
    return root;
  };
  // WASI errors arrive as exceptions whose `payload` is the error code.
  const reason = (e) => (e && e.payload !== undefined ? e.payload : e && e.message ? e.message : String(e));
  return new Packet({
    isFile(path) {
      try {
        return directory().statAt({ symlinkFollow: false }, path).type === 'regular-file';
      } catch {
        return false;
      }
    },
    read(path, maxBytes) {
      let file;
      try {
        file = directory().openAt({ symlinkFollow: false }, path, {}, { read: true });
      } catch (e) {
        throw new PacketReadError(`cannot open ${path}: ${reason(e)}`);
      }
      const chunks = [];
      let total = 0;
      try {
        while (total < maxBytes) {
          const want = Math.min(65536, maxBytes - total);
          const [bytes, eof] = file.read(BigInt(want), BigInt(total));
          if (bytes.length > 0) {
            chunks.push(bytes);
            total += bytes.length;
          }
          if (eof || bytes.length === 0) break;
        }
      } catch (e) {
        throw new PacketReadError(`cannot read ${path}: ${reason(e)}`);
      } finally {
        if (typeof file[Symbol.dispose] === 'function') file[Symbol.dispose]();
      }
      const all = new Uint8Array(total);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return all;
    },
  });
}

// ---- The request --------------------------------------------------------------

/**
 * @typedef {object} FileEntry One file of the packet as the manifest records it.
 * @property {string} path packet path: relative, `/`-separated
 * @property {number} size in bytes (a BigInt in the raw bindings; a number here)
 * @property {string} sha256 `sha256:` and 64 lowercase hex digits
 * @property {boolean} executable the file carried a Unix execute bit
 *
 * @typedef {object} PriorFinding An open blocking finding of the previous review.
 * @property {string} findingId
 * @property {string} area
 * @property {string} issue
 * @property {string|null} path the packet path the reviewer cited, if any
 * @property {number|null} line the 1-based line the reviewer cited, if any
 * @property {string} requiredFix
 * @property {string|null} response the contributor's answer; `null` before submission
 */

/** One run's input: everything the host passes, plus the packet. Text fields
 * are as written: validate, never trust. */
export class Request {
  constructor({
    phase = POST_SUBMIT,
    manifest = [],
    summary = '',
    attestation = '',
    acceptanceCriteria = '',
    configuration = '{}',
    priorFindings = [],
    packet = null,
    config = {},
  } = {}) {
    /** @type {'pre-submit'|'post-submit'} */
    this.phase = phase;
    /** @type {FileEntry[]} sorted by path (byte order) */
    this.manifest = manifest;
    /** @type {string} */
    this.summary = summary;
    /** @type {string} */
    this.attestation = attestation;
    /** @type {string} */
    this.acceptanceCriteria = acceptanceCriteria;
    /** @type {string} the configuration as the host passed it (JSON object text) */
    this.configuration = configuration;
    /** @type {PriorFinding[]} */
    this.priorFindings = priorFindings;
    /** @type {Packet} */
    this.packet = packet;
    /** @type {Record<string, any>} parsed, validated and completed with the
     * schema's defaults; filled in by `Checker.run` */
    this.config = config;
  }

  /** The manifest entry whose path is exactly `path`. @returns {FileEntry|undefined} */
  entry(path) {
    return this.manifest.find((e) => e.path === path);
  }

  /** The manifest entries whose whole path matches one of `globs`, in
   * manifest order. @param {Glob[]} globs @returns {FileEntry[]} */
  matching(globs) {
    return this.manifest.filter((e) => globs.some((g) => g.matches(e.path)));
  }

  /** True when the packet answers blocking findings of a review. */
  get isRevision() {
    return this.priorFindings.length > 0;
  }
}

// ---- The checker and the exports ------------------------------------------

/** The schema of a checker without options: accepts `{}` only. */
export const NO_CONFIG_SCHEMA = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
});

/**
 * A checker: its self-description and its check. `run(request)` is the check
 * as the component runs it: the configuration is parsed and validated
 * (`request.config`), `check(request, findings)` adds findings (or returns a
 * report), the result is a report. A run that cannot be evaluated throws
 * `CheckError`: configuration errors, bad packet paths and unreadable packet
 * files become one.
 *
 * @param {object} definition
 * @param {string} definition.name stable name policies use (`^[a-z][a-z0-9_.-]{0,99}$`)
 * @param {string} definition.version changes whenever the findings for some input could
 * @param {string} definition.description one or two sentences
 * @param {object} [definition.configSchema] JSON Schema (draft 2020-12) of the configuration
 * @param {number} [definition.limit] findings kept before the rest are counted
 * @param {(request: Request, findings: Findings) => (Report|void)} definition.check
 */
export function defineChecker({ name, version, description, configSchema = NO_CONFIG_SCHEMA, limit = DEFAULT_LIMIT, check }) {
  if (typeof name !== 'string' || name === '') throw new Error('name must be a non-empty string');
  if (typeof version !== 'string' || version === '') throw new Error('version must be a non-empty string');
  if (!configSchema || configSchema.type !== 'object') throw new Error('configSchema must describe an object ("type": "object")');
  if (typeof check !== 'function') throw new Error('check must be a function');
  return Object.freeze({
    name,
    version,
    description: String(description ?? ''),
    configSchema,
    limit,
    /** What `info()` returns (the schema as JSON text). */
    info() {
      return { name, version, description: String(description ?? ''), configSchema: JSON.stringify(configSchema) };
    },
    /** @param {Request} request @returns {Report} */
    run(request) {
      try {
        const config = parseConfig(request.configuration, configSchema);
        const prepared = new Request({ ...request, config });
        const findings = new Findings(limit);
        const returned = check(prepared, findings);
        return returned && Array.isArray(returned.findings) ? returned : findings.report();
      } catch (e) {
        if (e instanceof CheckError) throw e;
        if (e instanceof ConfigError) throw new CheckError(e.message);
        if (e instanceof PacketPathError) throw new CheckError(`not a packet path: ${e.message}`);
        if (e instanceof PacketReadError) throw new CheckError(`cannot read a packet file: ${e.message}`);
        throw e;
      }
    },
  });
}

const optional = (value) => (value === undefined ? null : value);

/** A `Request` from the raw `check-input` componentize-js passes. */
export function requestFromWit(input, packet) {
  return new Request({
    phase: input.phase === PRE_SUBMIT ? PRE_SUBMIT : POST_SUBMIT,
    manifest: (input.manifest ?? []).map((e) => ({
      path: e.path,
      size: Number(e.size),
      sha256: e.sha256,
      executable: Boolean(e.executable),
    })),
    summary: input.summary ?? '',
    attestation: input.attestation ?? '',
    acceptanceCriteria: input.acceptanceCriteria ?? '',
    configuration: input.configuration ?? '{}',
    priorFindings: (input.priorFindings ?? []).map((p) => ({
      findingId: p.findingId,
      area: p.area,
      issue: p.issue,
      path: optional(p.path),
      line: optional(p.line),
      requiredFix: p.requiredFix,
      response: optional(p.response),
    })),
    packet,
  });
}

/** The raw `report` componentize-js expects (absent options left out). */
export function reportToWit(report) {
  const findings = report.findings.map((f) => {
    const out = { code: f.code, level: f.level, message: f.message };
    if (f.path != null) out.path = f.path;
    if (f.line != null) out.line = f.line;
    if (f.suggestedFix != null) out.suggestedFix = f.suggestedFix;
    return out;
  });
  const out = { findings };
  if (report.summary != null) out.summary = report.summary;
  return out;
}

/**
 * The component's exports for `checker`: `{ info(), check(input) }`.
 * `check` returns the report (`ok`) or throws a string (`err`, for
 * operators): a `CheckError`'s message, or `internal error: ...` for any
 * other exception (a bug), so that a bug is an `err` with a message rather
 * than a trap.
 *
 * @param {ReturnType<typeof defineChecker>} checker
 * @param {{getDirectories: Function, mountPoint?: string}} wasi
 */
export function exportChecker(checker, { getDirectories, mountPoint = MOUNT_POINT }) {
  const packet = wasiPacket(getDirectories, mountPoint);
  return {
    info() {
      return checker.info();
    },
    check(input) {
      try {
        return reportToWit(checker.run(requestFromWit(input, packet)));
      } catch (e) {
        if (e instanceof CheckError) throw e.message;
        throw `internal error: ${e && e.name ? e.name : 'Error'}: ${e && e.message ? e.message : String(e)}`;
      }
    },
  };
}
