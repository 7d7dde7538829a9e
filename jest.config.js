/** Jest runs TypeScript through SWC (type checking is `tsc --noEmit` in `npm test`). */
const { accessSync, constants } = require('node:fs');

// The tests' temporary directories (os.tmpdir()) on tmpfs when the machine has a writable
// /dev/shm and TMPDIR is not set: the tests write, fsync, copy and remove tens of thousands of
// small state files, and on a disk each fsync waits for it. Measured on the 2-core machine, three
// suites of state and rotation tests back to back: /tmp (ext4) 7.3 s and 11.1 s of system CPU,
// /dev/shm 3.4 s and 2.8 s. Set before the workers start, so they (and what they run) inherit it;
// the CLI processes the tests start get only PATH and HOME and keep their own default.
if (process.env.TMPDIR === undefined) {
  try {
    accessSync('/dev/shm', constants.W_OK);
    process.env.TMPDIR = '/dev/shm';
  } catch {
    // no tmpfs: the system's temporary directory
  }
}

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  setupFiles: ['<rootDir>/test/setup.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60000,
  // Three workers on two cores (jest's default there is one): most suites wait on child processes
  // (the CLI, openssl, servers on loopback), so more workers than cores use what the others leave idle.
  // Measured on the 2-core machine: 1 worker 244 s, 2 workers 151 s; later, alternating runs of the
  // same 850 tests: 2 workers 123 s and 122 s, 3 workers 112 s and 108 s.
  maxWorkers: 3,
};
