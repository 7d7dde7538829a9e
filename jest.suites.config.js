/**
 * The configuration of `npm test`: jest.config.js, with the in-process test files of a directory
 * run as one suite each (test/suites/*.suite.ts; which files, and why, in test/suites/groups.js).
 * Every test file still runs exactly once: a grouped file is left out as a suite of its own.
 */
const base = require('./jest.config');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { GROUPED, groupedFiles, suiteFileName, suiteFiles } = require('./test/suites/groups');

// A group without its suite file would never run: refuse to start instead. A group whose every
// file runs alone has nothing to run: its suite is left out.
const emptySuites = [];
for (const [directory, count] of Object.entries(GROUPED)) {
  for (let index = 0; index < count; index++) {
    const suite = join(__dirname, 'test', 'suites', suiteFileName(directory, index));
    if (!existsSync(suite)) throw new Error(`jest.suites.config.js: ${suite} is missing (test/suites/groups.js groups test/${directory} into ${count})`);
    if (suiteFiles(directory, index).length === 0) emptySuites.push(suite);
  }
}

const escape = (path) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  ...base,
  testMatch: ['**/*.test.ts', '**/*.suite.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...[...groupedFiles(), ...emptySuites].map((file) => `^${escape(file)}$`)],
  // The longest files first also on a clean clone, where jest has no timings (test/suites/sequencer.js).
  testSequencer: '<rootDir>/test/suites/sequencer.js',
};
