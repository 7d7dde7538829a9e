/*
 * Which test files `npm test` runs together in one jest suite (one module registry), and which alone.
 *
 * Jest loads lib/ and node_modules afresh for every test file, and V8 warms its JIT afresh for
 * every copy: measured in band, the 21 files of test/k8s cost 31.5 s CPU run as 21 suites and
 * 18.4 s run as one. `npm test` (jest.suites.config.js) therefore runs the in-process test files of
 * a directory as one suite, each file inside its own describe block named after it (so its
 * top-level hooks stay its own, and a failure names the file). `npx jest test/x/y.test.ts` (the
 * default jest.config.js) still runs any file alone, as before.
 *
 * A file stays a suite of its own when sharing could change what it proves or slow the run:
 *  - it uses snapshots (they are stored per test file),
 *  - it fakes the clock at its top level (a clock set inside a test or hook ends with the file:
 *    run-group.ts restores real timers after each file),
 *  - it sets jest.setTimeout (the last call would apply to every test of the suite),
 *  - it runs a walk of processes, holds the state lock from another process, starts MariaDB or
 *    kills processes (such files wait more than they compute: alone, other workers use the time;
 *    a few CLI runs or short `openssl`/`sh` calls do not count), or
 *  - it says `// jest-suite: alone` (for any other reason; say which beside it).
 * Nothing else is chosen by hand: a new test file in a grouped directory joins its group.
 */
'use strict';
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const TEST_ROOT = join(__dirname, '..');

/** The directories (under test/) whose in-process files are grouped, and into how many suites each. */
const GROUPED = { cli: 2, config: 1, otc: 1, k8s: 2, trust: 1, state: 1, pki: 2, custody: 1, output: 1, lifecycle: 1, cloud: 1, commands: 1, '.': 1 };

const ALONE = [
  /Snapshot\(/,
  /^(?:setWallClock|jest\.useFakeTimers)\(/m,
  /jest\.setTimeout/,
  /\brunProcess\(|holdStateLock|mariadb-server|SIGKILL/,
  /jest-suite: alone/,
];

/** Why `file` runs alone, or undefined when it joins its directory's group. */
function aloneReason(file) {
  const source = readFileSync(file, 'utf8');
  const rule = ALONE.find((pattern) => pattern.test(source));
  return rule === undefined ? undefined : String(rule);
}

/** The grouped files of `directory` (relative to test/), in name order, split into its suites. */
function groupChunks(directory) {
  const files = readdirSync(join(TEST_ROOT, directory))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(TEST_ROOT, directory, name))
    .filter((file) => aloneReason(file) === undefined);
  const count = GROUPED[directory] ?? 0;
  const chunks = Array.from({ length: count }, () => []);
  files.forEach((file, index) => chunks[index % count].push(file));
  return chunks;
}

/** The files of suite `index` (0-based) of `directory`. */
function suiteFiles(directory, index = 0) {
  return groupChunks(directory)[index] ?? [];
}

/** The suite file (in test/suites/) that runs suite `index` of `directory`: `k8s-1.suite.ts`, `config.suite.ts`. */
function suiteFileName(directory, index = 0) {
  const name = directory === '.' ? 'top-level' : directory;
  return `${name}${GROUPED[directory] > 1 ? `-${index + 1}` : ''}.suite.ts`;
}

/** Every file that runs inside a group (so not alone). */
function groupedFiles() {
  return Object.keys(GROUPED).flatMap((directory) => groupChunks(directory).flat());
}

module.exports = { GROUPED, TEST_ROOT, aloneReason, groupedFiles, suiteFileName, suiteFiles };
