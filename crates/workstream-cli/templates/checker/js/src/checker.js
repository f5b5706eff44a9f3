// {{name}}: a Workstream checker written in JavaScript.
//
// The sample rule: every line of a Markdown output (`outputs/**/*.md`, or the
// globs configured in `paths`) that contains MARKER is an `error` finding
// with code `marker_found`, the file's path and the line number. Change the
// rule in `check` below; change what it looks for in MARKER.
//
// This module imports no WASI interface, so the unit tests run it under Node
// (`node --test tests/*.test.js`); src/component.js wires it to the
// component's exports and to `/packet`.

import { compileGlobs, defineChecker } from '../workstream-checker-sdk/workstream-checker.js';

// The text the sample rule looks for.
const MARKER = 'TODO';

// Only the first MAX_SCAN_BYTES of each file are read: bounded work on a huge file.
const MAX_SCAN_BYTES = 1024 * 1024;

// JSON Schema (draft 2020-12) of the configuration; `{}` means all defaults.
// The host validates every configuration against it, and so does the SDK (a
// configuration that does not fit makes `check` return `err`).
export const CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: '{{name}} configuration',
  type: 'object',
  properties: {
    paths: {
      description: 'Globs of the packet files to scan (`*` and `?` within a segment, `**` across segments).',
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 1000 },
      maxItems: 100,
      default: ['outputs/**/*.md'],
    },
  },
  additionalProperties: false,
};

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const checker = defineChecker({
  name: '{{name}}',
  // Bump it whenever the findings for some input could change.
  version: '0.1.0',
  description: "Flags every line of the packet's Markdown outputs that still contains a marker.",
  configSchema: CONFIG_SCHEMA,
  check(request, findings) {
    const globs = compileGlobs('paths', request.config.paths);
    const files = request.matching(globs);
    for (const entry of files) {
      const text = request.packet.readText(entry.path, MAX_SCAN_BYTES);
      if (text === null) continue; // binary content: nothing to read
      for (const [number, line] of text.lines()) {
        if (line.includes(MARKER)) {
          findings.error('marker_found', `Line ${number} of ${entry.path} still contains "${MARKER}".`, {
            path: entry.path,
            line: number,
            fix: `Finish that part of the text and remove "${MARKER}".`,
          });
        }
      }
    }
    findings.summary = `${plural(files.length, 'file')} scanned, ${plural(findings.length, 'marker')} found`;
  },
});

export { MARKER };
