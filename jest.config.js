/** Jest runs TypeScript through SWC (type checking is `tsc --noEmit` in `npm test`). */
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
