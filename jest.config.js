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
  // Two workers on two cores (jest's default there is one): most suites wait on child processes
  // (the CLI, openssl, servers on loopback), so a second worker uses what the first leaves idle.
  // Measured on the 2-core machine: 151 s instead of 244 s for the same 850 tests.
  maxWorkers: 2,
};
