import { relative } from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TEST_ROOT, suiteFiles } = require('./groups') as { TEST_ROOT: string; suiteFiles: (index: number) => string[] };

/** Registers the test files of suite `index` (0-based; see groups.js), each inside a describe block named after its path. */
export function runGroup(index: number): void {
  const files = suiteFiles(index);
  // jest.suites.config.js refuses to start without a suite's file; one that runs empty has lost its files.
  if (files.length === 0) throw new Error(`test/suites: suite ${index + 1} has no test file (see groups.js)`);
  for (const file of files) {
    describe(relative(TEST_ROOT, file), () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(file);
      // A file's clock and mocks are its own (jest resets neither between describe blocks).
      afterAll(() => {
        jest.useRealTimers();
        jest.restoreAllMocks();
      });
    });
  }
}
