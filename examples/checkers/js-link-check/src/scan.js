// The checker's logic, free of WASI imports so that it also runs under Node
// (`npm test`). checker.js wires it to the component exports and /packet.

// Largest file scanned; bigger ones get an info finding instead.
export const MAX_SCAN_BYTES = 1024 * 1024;
// Like the Rust SDK: at most this many findings, then `findings_truncated`.
export const MAX_FINDINGS = 100;

const DEFAULTS = { paths: ['**/*.md'], markers: ['TODO', 'FIXME'], check_links: true };

export const CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'link-check-js configuration',
  type: 'object',
  properties: {
    paths: {
      description:
        'Globs of the packet files to scan (`*` and `?` within a segment, `**` across segments).',
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 1000 },
      maxItems: 100,
      default: DEFAULTS.paths,
    },
    markers: {
      description:
        'Words reported as leftover markers where they appear as a whole word (case-sensitive). An empty list turns the marker check off.',
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9_]{1,32}$' },
      maxItems: 20,
      default: DEFAULTS.markers,
    },
    check_links: {
      description: 'Whether to report relative links to files that are not in the packet.',
      type: 'boolean',
      default: DEFAULTS.check_links,
    },
  },
  additionalProperties: false,
};

// A failure to evaluate the packet at all (`err`), as opposed to a finding.
export class CheckError {
  constructor(message) {
    this.message = message;
  }
}

const LEVEL_RANK = { info: 0, warning: 1, error: 2 };

// Re-checks the configuration (the host validated it against the schema,
// but a checker never trusts its input). Throws Error on a bad value.
export function parseConfig(text) {
  const config = JSON.parse(text.trim() === '' ? '{}' : text);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error('configuration must be a JSON object');
  }
  const unknown = Object.keys(config).filter((k) => !(k in CONFIG_SCHEMA.properties)).sort();
  if (unknown.length) throw new Error(`unknown configuration keys: ${unknown.join(', ')}`);
  const out = { ...DEFAULTS, ...config };
  const strings = (v) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (!strings(out.paths) || out.paths.some((p) => p === '')) {
    throw new Error('`paths` must be a list of non-empty globs');
  }
  if (!strings(out.markers) || !out.markers.every((m) => /^[A-Za-z0-9_]{1,32}$/.test(m))) {
    throw new Error('`markers` must be a list of words (letters, digits, underscore)');
  }
  if (typeof out.check_links !== 'boolean') throw new Error('`check_links` must be a boolean');
  return out;
}

// The check: `readFile(path)` returns a listed file's text.
export function runCheck(input, readFile) {
  let config;
  try {
    config = parseConfig(input.configuration);
  } catch (e) {
    throw new CheckError(`unusable configuration: ${e.message}`);
  }
  const listed = new Set(input.manifest.map((entry) => entry.path));
  const findings = [];
  let scanned = 0;
  let links = 0;

  // The manifest is sorted by path, so the report's order is deterministic.
  for (const entry of input.manifest) {
    if (!config.paths.some((glob) => globMatch(glob, entry.path))) continue;
    if (BigInt(entry.size) > BigInt(MAX_SCAN_BYTES)) {
      findings.push({
        code: 'file_not_scanned',
        level: 'info',
        message: `${entry.path} is larger than ${MAX_SCAN_BYTES / 1024} KiB, so its links and markers were not checked.`,
        path: entry.path,
      });
      continue;
    }
    scanned += 1;
    const result = scanMarkdown(entry.path, readFile(entry.path), listed, config);
    links += result.links;
    findings.push(...result.findings);
  }

  const broken = findings.filter((f) => f.code === 'broken_relative_link').length;
  const markers = findings.filter((f) => f.code === 'todo_marker').length;
  return {
    findings: capFindings(findings),
    summary:
      `${plural(scanned, 'Markdown file')} scanned, ${plural(links, 'relative link')} ` +
      `(${broken} broken), ${plural(markers, 'marker')}`,
  };
}

function plural(n, what) {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function capFindings(findings) {
  if (findings.length <= MAX_FINDINGS) return findings;
  const kept = findings.slice(0, MAX_FINDINGS);
  const dropped = findings.slice(MAX_FINDINGS);
  const level = dropped.reduce(
    (top, f) => (LEVEL_RANK[f.level] > LEVEL_RANK[top] ? f.level : top),
    'info',
  );
  kept.push({
    code: 'findings_truncated',
    level,
    message: `${dropped.length} more findings were not listed; fix the ones above and run the check again.`,
  });
  return kept;
}

// ---- Markdown scanning --------------------------------------------------

// Inline links and images: [text](target "title"), ![alt](<target>).
const INLINE_LINK = /!?\[[^\]]*\]\(\s*(<[^>\n]*>|[^\s)]+)/g;
// Reference definitions: [id]: target "title"
const REFERENCE_DEF = /^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)/;
// A URL scheme (https:, mailto:, data:, ...).
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

export function scanMarkdown(path, text, listed, config) {
  const findings = [];
  let links = 0;
  const markers = config.markers.length
    ? new RegExp(`(?<![A-Za-z0-9_])(${config.markers.join('|')})(?![A-Za-z0-9_])`)
    : null;
  let fence = null; // the opening fence while inside a fenced code block

  text.split(/\r?\n/).forEach((line, index) => {
    const lineNo = index + 1;
    const marker = markers && line.match(markers);
    if (marker) {
      findings.push({
        code: 'todo_marker',
        level: 'warning',
        message: `Line ${lineNo} of ${path} still contains a ${marker[1]} marker.`,
        path,
        line: lineNo,
        suggestedFix: `Finish or remove the ${marker[1]} note before submitting.`,
      });
    }

    // Links inside fenced code blocks or code spans are code, not links.
    const open = line.match(FENCE);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length) fence = null;
      return;
    }
    if (open) {
      fence = open[1];
      return;
    }
    if (!config.check_links) return;
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    const targets = [...prose.matchAll(INLINE_LINK)].map((m) => m[1]);
    const def = prose.match(REFERENCE_DEF);
    if (def) targets.push(def[1]);

    for (const raw of targets) {
      const link = checkLink(path, raw, listed);
      if (link === null) continue;
      links += 1;
      if (link.ok) continue;
      findings.push({
        code: 'broken_relative_link',
        level: 'error',
        message: link.outside
          ? `Line ${lineNo} of ${path} links to ${link.shown}, which points outside the packet.`
          : `Line ${lineNo} of ${path} links to ${link.shown}, but the packet has no file ${link.resolved}.`,
        path,
        line: lineNo,
        suggestedFix: link.outside
          ? 'Link to a file inside the packet, or use a full https:// address for outside material.'
          : `Add ${link.resolved} to the packet or correct the link.`,
      });
    }
  });
  return { findings, links };
}

// Returns null for links this check does not judge (external, anchors),
// otherwise { ok, shown, resolved, outside }.
function checkLink(fromPath, raw, listed) {
  const inner = raw.startsWith('<') ? raw.slice(1, -1).trim() : raw;
  if (SCHEME.test(inner) || inner.startsWith('//')) return null;
  let target = inner.replace(/[?#].*$/, '');
  if (target === '') return null;
  try {
    target = decodeURIComponent(target);
  } catch {
    // keep the raw text: a malformed escape is still checked literally
  }
  const shown = target.length > 200 ? `${target.slice(0, 200)}…` : target;

  // `/x` is relative to the packet root, anything else to the file's folder.
  const base = target.startsWith('/') ? [] : fromPath.split('/').slice(0, -1);
  const parts = [...base];
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return { ok: false, shown, outside: true };
      parts.pop();
    } else {
      parts.push(seg);
    }
  }
  const resolved = parts.join('/');
  if (resolved === '') return { ok: true }; // the packet root itself
  // A file, or a folder that holds at least one file.
  const ok =
    listed.has(resolved) || [...listed].some((p) => p.startsWith(`${resolved}/`));
  return { ok, shown, resolved, outside: false };
}

// ---- Globs (same dialect as the Rust SDK) -------------------------------

// `*` and `?` within a segment, `**` across segments, a trailing `/` or
// `/**` for "inside this folder"; everything else is literal.
export function globMatch(glob, path) {
  if (glob.endsWith('/')) glob += '**';
  return matchSegments(glob.split('/'), path.split('/'));
}

function matchSegments(globs, segs) {
  if (globs.length === 0) return segs.length === 0;
  const [g, ...rest] = globs;
  if (g === '**') {
    for (let i = 0; i <= segs.length; i++) {
      if (matchSegments(rest, segs.slice(i))) return true;
    }
    return false;
  }
  return segs.length > 0 && matchSegment(g, segs[0]) && matchSegments(rest, segs.slice(1));
}

function matchSegment(glob, seg) {
  const re = glob.replace(/[.+^${}()|[\]\\*?]/g, (c) =>
    c === '*' ? '[^/]*' : c === '?' ? '[^/]' : `\\${c}`,
  );
  return new RegExp(`^${re}$`, 's').test(seg);
}
