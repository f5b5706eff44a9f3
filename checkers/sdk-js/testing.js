// Running a checker under Node on a packet directory, for unit tests
// (`node --test`). Never imported by the component: it uses Node built-ins.
//
// A component needs a host to run; its logic does not. `runPacket` builds the
// request the host would build from a local packet directory (the manifest:
// regular files, sorted by path in byte order, with sizes, `sha256:<hex>`
// digests and the executable bit) and runs the checker on it with the
// directory as `/packet`, without componentizing:
//
//   import { runPacket, withTempPacket } from '../workstream-checker-sdk/testing.js';
//   import { checker } from '../src/checker.js';
//
//   const report = runPacket(checker, 'tests/fail');
//   withTempPacket({ 'outputs/answer.md': 'TODO\n' }, (root) => runPacket(checker, root));
//
// A run that cannot be evaluated throws `CheckError`, as `check` returns `err`.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';

import { POST_SUBMIT, Packet, PacketPathError, PacketReadError, Request } from './workstream-checker.js';

/** A `Packet` over the directory `root`. Symbolic links are refused (the
 * host never materializes one). */
export function nodePacket(root) {
  const resolve = (path) => {
    let here = root;
    for (const segment of path.split('/')) {
      here = nodePath.join(here, segment);
      let info;
      try {
        info = fs.lstatSync(here);
      } catch {
        break; // reading reports it
      }
      if (info.isSymbolicLink()) throw new PacketPathError(`the path goes through a symbolic link: ${JSON.stringify(path)}`);
    }
    return nodePath.join(root, ...path.split('/'));
  };
  return new Packet({
    isFile(path) {
      try {
        return fs.lstatSync(resolve(path)).isFile();
      } catch {
        return false;
      }
    },
    read(path, maxBytes) {
      const full = resolve(path);
      let fd;
      try {
        fd = fs.openSync(full, 'r');
        const buffer = Buffer.alloc(maxBytes);
        let total = 0;
        while (total < maxBytes) {
          const read = fs.readSync(fd, buffer, total, maxBytes - total, total);
          if (read === 0) break;
          total += read;
        }
        return new Uint8Array(buffer.buffer, buffer.byteOffset, total);
      } catch (e) {
        throw new PacketReadError(`cannot read ${path}: ${e.code ?? e.message}`);
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    },
  });
}

/** The manifest of the regular files under `root`, as the host computes it. */
export function manifestOf(root) {
  const entries = [];
  const walk = (dir, prefix) => {
    for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${item.name}` : item.name;
      const full = nodePath.join(dir, item.name);
      if (item.isDirectory()) {
        walk(full, path);
      } else if (item.isFile()) {
        const bytes = fs.readFileSync(full);
        const info = fs.lstatSync(full);
        entries.push({
          path,
          size: bytes.length,
          sha256: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
          executable: (info.mode & 0o111) !== 0,
        });
      }
    }
  };
  walk(root, '');
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return entries;
}

/**
 * The request the host would build for the packet directory `root`.
 * @param {string} root
 * @param {{configuration?: string, phase?: string, summary?: string, attestation?: string,
 *   acceptanceCriteria?: string, priorFindings?: object[]}} [options]
 */
export function requestFromDir(root, options = {}) {
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`no packet directory ${root}`);
  }
  return new Request({
    phase: options.phase ?? POST_SUBMIT,
    manifest: manifestOf(root),
    summary: options.summary ?? '',
    attestation: options.attestation ?? '',
    acceptanceCriteria: options.acceptanceCriteria ?? '',
    configuration: options.configuration ?? '{}',
    priorFindings: options.priorFindings ?? [],
    packet: nodePacket(root),
  });
}

/** Runs `checker` on the packet directory `root` (options as for
 * `requestFromDir`). Throws `CheckError` for an `err`. */
export function runPacket(checker, root, options = {}) {
  return checker.run(requestFromDir(root, options));
}

/** A temporary packet directory holding `files` (packet path -> string or
 * bytes): `{ root, remove() }`. */
export function tempPacket(files) {
  const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'workstream-packet-'));
  for (const [path, content] of Object.entries(files)) {
    const full = nodePath.join(root, ...path.split('/'));
    fs.mkdirSync(nodePath.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  return { root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Calls `fn(root)` with a temporary packet holding `files`, removes it
 * afterwards and returns what `fn` returned. */
export function withTempPacket(files, fn) {
  const packet = tempPacket(files);
  try {
    return fn(packet.root);
  } finally {
    packet.remove();
  }
}
