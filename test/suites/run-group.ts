import { relative } from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TEST_ROOT, suiteFiles } = require('./groups') as { TEST_ROOT: string; suiteFiles: (directory: string, index?: number) => string[] };

/** Registers the test files of one group (see groups.js), each inside a describe block named after its path. */
export function runGroup(directory: string, index = 0): void {
  const files = suiteFiles(directory, index);
  // jest.suites.config.js leaves out the suite of an empty group; one that still runs here has lost its files.
  if (files.length === 0) throw new Error(`test/suites: the group ${directory} ${index + 1} has no test file (see groups.js)`);
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
