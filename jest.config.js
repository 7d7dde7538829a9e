/** Jest runs TypeScript through SWC (type checking is `tsgo --noEmit`, TypeScript 7, in `npm test`). */
const { accessSync, constants, statfsSync } = require('node:fs');
const { availableParallelism } = require('node:os');

// The tests' temporary directories (os.tmpdir()) on tmpfs when the machine has a writable, roomy
// /dev/shm and TMPDIR is not set: the tests write, fsync, copy and remove tens of thousands of small
// state files, and on a disk each fsync waits for it (system CPU of a full run on the 2-core machine:
// 54-60 s on /tmp, 29 s on /dev/shm). Only with 2 GiB free: a container's default /dev/shm is 64 MB,
// where the tests would fail with ENOSPC. Set before the workers start, so they (and what they run)
// inherit it; the CLI processes the tests start get only PATH and HOME and keep their own default.
if (process.env.TMPDIR === undefined) {
  try {
    accessSync('/dev/shm', constants.W_OK);
    const { bavail, bsize } = statfsSync('/dev/shm');
    if (bavail * bsize >= 2 * 1024 ** 3) process.env.TMPDIR = '/dev/shm';
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
  // jest-runtime with a V8 code cache of the modules it compiles, shared by the suites (test/suites/code-cache-runtime.js).
  runtime: '<rootDir>/test/suites/code-cache-runtime.js',
  setupFiles: ['<rootDir>/test/setup.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60000,
  // One worker more than the machine has cores (jest's default is one fewer): most suites wait on
  // child processes (the CLI, openssl, servers on loopback), so more workers than cores use what the
  // others leave idle. Measured on the 2-core machine: 1 worker 244 s, 2 workers 151 s; later,
  // alternating runs of the same 850 tests: 2 workers 123 s and 122 s, 3 workers 112 s and 108 s;
  // with the in-process files in three suites (2026-12-07): 3 workers 85 s and 84 s, 4 workers 81 s
  // and 84 s. The run is bound by CPU, so a machine with more cores gets as many more workers.
  maxWorkers: availableParallelism() + 1,
};
