// link-check-js: a Workstream checker written in JavaScript.
//
// Scans the packet's Markdown files (by default every `**/*.md`) for
// relative links to files that are not in the packet (error,
// `broken_relative_link`) and for TODO/FIXME markers left in the text
// (warning, `todo_marker`). Built into a WebAssembly component with
// componentize-js; see README.md for the contract mapping.
//
// The world this is built against (wit/world.wit) is the `checker` world
// plus an import of `wasi:filesystem/preopens`, which is how JavaScript
// reaches the `/packet` preopen: StarlingMonkey has no `fs` module.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { CONFIG_SCHEMA, CheckError, MAX_SCAN_BYTES, runCheck } from './scan.js';

const NAME = 'link-check-js';
const VERSION = '0.1.0';
const DESCRIPTION =
  'Checks the Markdown files of the packet for relative links to files that are ' +
  'not in the packet and for leftover TODO/FIXME markers.';

export function info() {
  return {
    name: NAME,
    version: VERSION,
    description: DESCRIPTION,
    configSchema: JSON.stringify(CONFIG_SCHEMA),
  };
}

// `result<report, string>`: returning a report is `ok`, throwing is `err`.
// Throw a plain string: it becomes the error payload (the message goes to
// operators, not contributors).
export function check(input) {
  try {
    return runCheck(input, readPacketFile);
  } catch (e) {
    if (e instanceof CheckError) throw e.message;
    throw `internal error: ${e && e.message ? e.message : String(e)}`;
  }
}

// ---- Reading `/packet` through wasi:filesystem --------------------------

let packetDir;

function packetRoot() {
  if (packetDir === undefined) {
    const found = getDirectories().find(([, name]) => name === '/packet');
    if (!found) throw new CheckError('the packet directory /packet is not mounted');
    packetDir = found[0];
  }
  return packetDir;
}

// Reads a whole (manifest-listed, size-checked) file as UTF-8 text. Bindings
// follow jco's conventions: kebab-case names become camelCase, flags are
// objects of booleans, u64 is a BigInt, and an `err` result is thrown as an
// error whose `payload` is the WASI error code.
function readPacketFile(path) {
  let file;
  try {
    file = packetRoot().openAt({ symlinkFollow: false }, path, {}, { read: true });
  } catch (e) {
    throw new CheckError(`cannot open a packet file: ${e.payload ?? e}`);
  }
  const chunks = [];
  let offset = 0n;
  let total = 0;
  try {
    for (;;) {
      const [bytes, eof] = file.read(65536n, offset);
      if (bytes.length > 0) {
        chunks.push(bytes);
        total += bytes.length;
        offset += BigInt(bytes.length);
      }
      if (eof || bytes.length === 0 || total > MAX_SCAN_BYTES) break;
    }
  } catch (e) {
    throw new CheckError(`cannot read a packet file: ${e.payload ?? e}`);
  } finally {
    file[Symbol.dispose]?.();
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder('utf-8').decode(all);
}
