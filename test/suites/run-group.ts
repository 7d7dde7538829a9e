import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { GROUPED_DURATIONS, TEST_ROOT, repositoryPath, suiteFiles } = require('./groups') as {
  GROUPED_DURATIONS: string;
  TEST_ROOT: string;
  repositoryPath: (file: string) => string;
  suiteFiles: (index: number) => string[];
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useFileSnapshots } = require('./file-snapshots') as { useFileSnapshots: (file: string, describeName: string) => void };

/** Registers the test files of suite `index` (0-based; see groups.js), each inside a describe block named after its path. */
export function runGroup(index: number): void {
  const files = suiteFiles(index);
  // jest.suites.config.js refuses to start without a suite's file; one that runs empty has lost its files.
  if (files.length === 0) throw new Error(`test/suites: suite ${index + 1} has no test file (see groups.js)`);
  const durations: Record<string, number> = {};
  for (const file of files) {
    const name = relative(TEST_ROOT, file);
    describe(name, () => {
      let started = 0;
      beforeAll(() => {
        started = performance.now();
      });
      // Its snapshots in its own __snapshots__/<file>.snap, named as when it runs alone.
      useFileSnapshots(file, name);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(file);
      // A file's clock and mocks are its own (jest resets neither between describe blocks).
      afterAll(() => {
        jest.useRealTimers();
        jest.restoreAllMocks();
        durations[repositoryPath(file)] = Math.round(performance.now() - started);
      });
    });
  }
  afterAll(() => writeDurations(index, durations));
}

/** Writes what suite `index` measured into groups.js GROUPED_DURATIONS, atomically; a read-only checkout keeps none. */
function writeDurations(index: number, durations: Record<string, number>): void {
  try {
    mkdirSync(GROUPED_DURATIONS, { recursive: true });
    const path = join(GROUPED_DURATIONS, `in-process-${index + 1}.json`);
    const temporary = `${path}.tmp-${process.pid}`;
    writeFileSync(temporary, `${JSON.stringify({ written: new Date().toISOString(), files: durations })}\n`);
    renameSync(temporary, path);
  } catch {
    // the dealing falls back to the committed durations
  }
}
