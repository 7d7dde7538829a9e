/*
 * Which test files `npm test` runs together in one jest suite (one module registry), and which alone.
 *
 * Jest loads lib/ and node_modules afresh for every test file, and V8 warms its JIT afresh for
 * every copy: measured in band, the 21 files of test/k8s cost 31.5 s CPU run as 21 suites and
 * 18.4 s run as one. `npm test` (jest.suites.config.js) therefore runs the in-process test files
 * of the whole of test/ as SUITES suites (test/suites/in-process-<n>.suite.ts), each file inside
 * its own describe block named after its path (so its top-level hooks stay its own, and a failure
 * names the file). `npx jest test/x/y.test.ts` (the default jest.config.js) still runs any file
 * alone, as before.
 *
 * Why two suites across directories, not one per directory: the directories' files load the same
 * lib/ and run the same code. Measured on the 2-core machine (2026-12-07), the same 952 tests,
 * three workers, user + system CPU of alternating runs: one suite per directory (16) 78.9, 85.8
 * and 78.1 s; four suites across directories 69.9, 69.9, 71.8, 77.7 and 68.7 s; three 71.4 and
 * 66.5 s; two 62.5 and 61.8 s. Two, not one: one suite would be a single sequential run as long
 * as all of them, which the other workers would wait for at the end.
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
 * Nothing else is chosen by hand: a new test file anywhere under test/ joins a suite unless one of
 * these rules keeps it alone.
 */
'use strict';
const { readdirSync, readFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const TEST_ROOT = join(__dirname, '..');

/** How many suites the grouped files are dealt into (test/suites/in-process-1.suite.ts …). */
const SUITES = 2;

const ALONE = [
  /Snapshot\(/,
  /^(?:setWallClock|jest\.useFakeTimers)\(/m,
  /jest\.setTimeout/,
  /\brunProcess\(|holdStateLock|mariadb-server|SIGKILL/,
  /jest-suite: alone/,
];

/** Why `file` runs alone, or undefined when it joins a group. */
function aloneReason(file) {
  const source = readFileSync(file, 'utf8');
  const rule = ALONE.find((pattern) => pattern.test(source));
  return rule === undefined ? undefined : String(rule);
}

/** Every *.test.ts under test/ (as jest.config.js finds them), absolute, in path order. */
function testFiles(directory = TEST_ROOT) {
  return readdirSync(directory, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith('.test.ts') ? [path] : [];
    })
    .sort((a, b) => (relative(TEST_ROOT, a) < relative(TEST_ROOT, b) ? -1 : 1));
}

/**
 * The grouped files, dealt into SUITES suites in path order (the first file to the first suite, the
 * second to the second, …): each suite gets files of every directory, and their counts differ by
 * one at most.
 */
function groupChunks() {
  const chunks = Array.from({ length: SUITES }, () => []);
  testFiles()
    .filter((file) => aloneReason(file) === undefined)
    .forEach((file, index) => chunks[index % SUITES].push(file));
  return chunks;
}

/** The files of suite `index` (0-based). */
function suiteFiles(index) {
  return groupChunks()[index] ?? [];
}

/** The suite file (in test/suites/) that runs suite `index` (0-based): `in-process-1.suite.ts`. */
function suiteFileName(index) {
  return `in-process-${index + 1}.suite.ts`;
}

/** Every file that runs inside a group (so not alone). */
function groupedFiles() {
  return groupChunks().flat();
}

module.exports = { SUITES, TEST_ROOT, aloneReason, groupedFiles, suiteFileName, suiteFiles, testFiles };
