// The component's entry module (what componentize-js builds): the checker of
// ./checker.js as the exports `info` and `check` of the `checker` world, with
// the packet read through wasi:filesystem at `/packet`. Nothing to change
// here: the rule is in ./checker.js.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { exportChecker } from '../workstream-checker-sdk/workstream-checker.js';
import { checker } from './checker.js';

const component = exportChecker(checker, { getDirectories });

export function info() {
  return component.info();
}

// `result<report, string>`: returning the report is `ok`; `component.check`
// throws a string for `err`.
export function check(input) {
  return component.check(input);
}
