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
 * Why a few suites across directories, not one per directory: the directories' files load the same
 * lib/ and run the same code. Measured on the 2-core machine (2026-12-07), the same 952 tests,
 * three workers, user + system CPU of alternating runs: one suite per directory (16) 78.9, 85.8
 * and 78.1 s; four suites across directories 69.9, 69.9, 71.8, 77.7 and 68.7 s; three 71.4 and
 * 66.5 s; two 62.5 and 61.8 s. The whole `npm test`, three alternating runs each: 16 suites 180,
 * 146 and 180 s of CPU (95, 76, 95 s wall); two 154, 142, 152 s (81, 76, 81 s); three 161, 154,
 * 141 s (85, 82, 74 s). Three, not fewer: a suite runs its files one after another, and the longest
 * suite is a floor under the run's wall time (two suites took 50-59 s each, three dealt by name
 * 21-62 s, three dealt by weight (deal, below) 43-49 s).
 *
 * A file stays a suite of its own when sharing could change what it proves or slow the run:
 *  - it uses inline snapshots (jest rewrites the test file; a file's other snapshots stay in its own
 *    __snapshots__/<file>.snap when it is grouped: file-snapshots.js. Grouping the eight files with
 *    snapshots too, measured in three alternating runs of the whole `npm test` on a slower day:
 *    188.8, 183.6 and 193.4 s of CPU (99.9, 97.3, 103.1 s wall) against 197.3, 191.4 and 195.1 s
 *    (105.9, 102.5, 104.8 s)),
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
const { join, relative, sep } = require('node:path');

const TEST_ROOT = join(__dirname, '..');
const ROOT = join(TEST_ROOT, '..');

/** A file's path as durations.json names it: relative to the repository, with `/`. */
function repositoryPath(file) {
  return relative(ROOT, file).split(sep).join('/');
}

/** How many suites the grouped files are dealt into (test/suites/in-process-1.suite.ts …). */
const SUITES = 3;

/**
 * Where each suite leaves the wall time of its files at its end (run-group.ts; one JSON file per
 * suite), for scripts/test-durations.js to write into durations.json. Beside tsgo's build info: a
 * clean clone has none, and the committed durations serve.
 */
const GROUPED_DURATIONS = join(ROOT, 'node_modules', '.cache', 'sigstore-cdk', 'grouped-durations');

/**
 * The wall time of each grouped file in a run of `npm test` (test/suites/durations.json `files`, which
 * scripts/test-durations.js writes from what run-group.ts recorded): what the dealing balances.
 */
function fileWeights() {
  try {
    return require('./durations.json').files ?? {};
  } catch {
    return {};
  }
}

const ALONE = [
  /InlineSnapshot\(/,
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
    .sort();
}

/**
 * Deals `files` (absolute) into `count` suites of about equal weight: the heaviest file first, each
 * to the suite that weighs least so far (the first of equals). `weights` are by repositoryPath; a
 * file without one (new since durations.json was written) weighs as the median of the rest.
 * The suites' weights then differ by at most the heaviest file's. Each suite keeps path order.
 */
function deal(files, weights, count) {
  const measured = (file) => weights[repositoryPath(file)];
  const known = files.map(measured).filter((weight) => typeof weight === 'number').sort((a, b) => a - b);
  const median = known.length === 0 ? 1 : known[Math.floor(known.length / 2)];
  const weightOf = (file) => (typeof measured(file) === 'number' ? measured(file) : median);
  const chunks = Array.from({ length: count }, () => ({ weight: 0, files: [] }));
  for (const file of [...files].sort().sort((a, b) => weightOf(b) - weightOf(a))) {
    const lightest = chunks.reduce((best, chunk) => (chunk.weight < best.weight ? chunk : best));
    lightest.weight += weightOf(file);
    lightest.files.push(file);
  }
  return chunks.map((chunk) => chunk.files.sort());
}

/** The grouped files, dealt into SUITES suites by their weights in test/suites/durations.json. */
function groupChunks() {
  return deal(
    testFiles().filter((file) => aloneReason(file) === undefined),
    fileWeights(),
    SUITES,
  );
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

module.exports = { GROUPED_DURATIONS, SUITES, TEST_ROOT, aloneReason, deal, fileWeights, groupedFiles, repositoryPath, suiteFileName, suiteFiles, testFiles };
