#!/usr/bin/env node
/**
 * Rewrites test/suites/durations.json from the last `npm test`: run `npm test` first, on an otherwise
 * idle machine, then this. It holds
 *  - `durations`: each jest suite's wall time, which jest recorded in its cache for
 *    jest.suites.config.js (what test/suites/sequencer.js orders a run by when jest has no timings of
 *    its own, as on a clean clone);
 *  - `files`: each grouped file's wall time, which test/suites/run-group.ts recorded at the end of
 *    each suite (what test/suites/groups.js deals the grouped files into suites by). A grouped file
 *    that no suite measured keeps its committed time.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'test', 'suites', 'durations.json');
const { GROUPED_DURATIONS, groupedFiles, repositoryPath } = require('../test/suites/groups');

/**
 * The grouped files' wall times: for each file grouped now (`grouped`, paths relative to the repository), the
 * newest of the suites' `records` that measured it, else its `committed` time; heaviest first.
 */
function mergeFileDurations(records, committed, grouped) {
  const newestFirst = [...records].sort((a, b) => (a.written < b.written ? 1 : -1));
  const files = {};
  for (const file of grouped) {
    const record = newestFirst.find((candidate) => typeof candidate.files?.[file] === 'number');
    const milliseconds = record ? record.files[file] : committed[file];
    if (typeof milliseconds === 'number') files[file] = milliseconds;
  }
  return Object.fromEntries(Object.entries(files).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/** The files of the suites' records (test/suites/run-group.ts) of the last runs; none before the first. */
function readSuiteRecords() {
  let names = [];
  try {
    names = readdirSync(GROUPED_DURATIONS).filter((name) => name.endsWith('.json'));
  } catch {
    // no suite recorded anything yet
  }
  return names.map((name) => JSON.parse(readFileSync(join(GROUPED_DURATIONS, name), 'utf8')));
}

async function main() {
  // The configuration as `npm test` resolves it (its id names the cache file).
  const shown = execFileSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', 'jest.suites.config.js', '--showConfig'], { cwd: ROOT, encoding: 'utf8' });
  const projectConfig = JSON.parse(shown).configs[0];
  const cachePath = new Sequencer({})._getCachePath({ config: projectConfig });
  const cache = JSON.parse(readFileSync(cachePath, 'utf8'));
  const grouped = groupedFiles().map(repositoryPath);
  const groupedNow = new Set(grouped);
  const durations = Object.fromEntries(
    Object.entries(cache)
      .map(([path, [, milliseconds]]) => [relative(ROOT, path), Math.round(milliseconds)])
      // a file that is gone (a renamed suite) or now runs inside a suite stays in jest's cache, not here
      .filter(([path]) => !path.startsWith('..') && existsSync(join(ROOT, path)) && !groupedNow.has(path))
      .sort((a, b) => b[1] - a[1]),
  );
  let committed = {};
  try {
    committed = JSON.parse(readFileSync(OUT, 'utf8')).files ?? {};
  } catch {
    // none yet
  }
  const records = readSuiteRecords();
  const files = mergeFileDurations(records, committed, grouped);
  const measured = grouped.filter((file) => records.some((record) => typeof record.files?.[file] === 'number')).length;
  const comment = 'milliseconds of `npm test`: per jest suite (durations) and per grouped file (files); written by scripts/test-durations.js';
  writeFileSync(OUT, `${JSON.stringify({ comment, durations, files }, null, 2)}\n`);
  process.stdout.write(`${relative(ROOT, OUT)}: ${Object.keys(durations).length} suites, from ${cachePath}; ${measured} of ${grouped.length} grouped files measured, from ${relative(ROOT, GROUPED_DURATIONS)}\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
}

module.exports = { mergeFileDurations };
