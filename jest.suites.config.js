/**
 * The configuration of `npm test`: jest.config.js, with the in-process test files of test/ dealt
 * into a few suites (test/suites/in-process-<n>.suite.ts; which files, and why, in
 * test/suites/groups.js). Every test file still runs exactly once: a grouped file is left out as a
 * suite of its own.
 */
const base = require('./jest.config');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { SUITES, groupedFiles, suiteFileName } = require('./test/suites/groups');

// A suite without its file would never run: refuse to start instead.
for (let index = 0; index < SUITES; index++) {
  const suite = join(__dirname, 'test', 'suites', suiteFileName(index));
  if (!existsSync(suite)) throw new Error(`jest.suites.config.js: ${suite} is missing (test/suites/groups.js deals the grouped files into ${SUITES} suites)`);
}

// A grouped file's snapshots are looked up where jest's default resolver puts them (test/suites/file-snapshots.js).
if (base.snapshotResolver !== undefined) throw new Error('jest.suites.config.js: test/suites/file-snapshots.js assumes jest\'s default snapshot paths; teach it the snapshotResolver');

const escape = (path) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  ...base,
  testMatch: ['**/*.test.ts', '**/*.suite.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...groupedFiles().map((file) => `^${escape(file)}$`)],
  // The longest files first also on a clean clone, where jest has no timings (test/suites/sequencer.js).
  testSequencer: '<rootDir>/test/suites/sequencer.js',
};
