#!/usr/bin/env node
/**
 * Rewrites test/suites/durations.json (what test/suites/sequencer.js orders a run by when jest has no
 * timings of its own, as on a clean clone) from the durations jest recorded in its cache for
 * jest.suites.config.js: run `npm test` first, on an otherwise idle machine, then this.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'test', 'suites', 'durations.json');

async function main() {
  // The configuration as `npm test` resolves it (its id names the cache file).
  const shown = execFileSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', 'jest.suites.config.js', '--showConfig'], { cwd: ROOT, encoding: 'utf8' });
  const projectConfig = JSON.parse(shown).configs[0];
  const cachePath = new Sequencer({})._getCachePath({ config: projectConfig });
  const cache = JSON.parse(readFileSync(cachePath, 'utf8'));
  const durations = Object.fromEntries(
    Object.entries(cache)
      .map(([path, [, milliseconds]]) => [relative(ROOT, path), Math.round(milliseconds)])
      .filter(([path]) => !path.startsWith('..'))
      .sort((a, b) => b[1] - a[1]),
  );
  writeFileSync(OUT, `${JSON.stringify({ comment: 'milliseconds per test file of `npm test`; written by scripts/test-durations.js', durations }, null, 2)}\n`);
  process.stdout.write(`${relative(ROOT, OUT)}: ${Object.keys(durations).length} files, from ${cachePath}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
