/**
 * The order in which `npm test` (jest.suites.config.js) starts its test files: the longest first, so
 * that no worker is still running a long file when the others have finished.
 *
 * Jest orders by the durations it keeps in its cache (/tmp/jest_*), and without them by file size: on a
 * clean clone (CI) that started the README walk and the grouped suites (8-10 s each, small files)
 * last, and the run took seconds longer. This sequencer keeps jest's order and its timings; only for a
 * file jest has no timing of, it takes the duration from test/suites/durations.json (measured on
 * the 2-core development machine; `node scripts/test-durations.js` rewrites it from jest's cache after
 * a run). A file in neither is started before those, as jest starts any file it has no timing of.
 */
'use strict';
const { join, relative } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const { durations } = require('./durations.json');

const ROOT = join(__dirname, '..', '..');

class HintedSequencer extends Sequencer {
  time(test) {
    return super.time(test) ?? durations[relative(ROOT, test.path)];
  }
}

module.exports = HintedSequencer;
