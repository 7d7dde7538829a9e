/*
 * The jest runtime of `npm test` and of `npx jest` (jest.config.js `runtime`): jest-runtime itself,
 * with a V8 code cache for the modules it compiles, shared by the suites of a run and by later runs.
 *
 * Jest compiles every module afresh for every test file (vm.compileFunction): the 20 suites of
 * `npm test` each compile lib/, cdk8s, cdk8s-plus-28, zod, pkijs and the rest again. Here the first
 * compilation of a module's source writes V8's code cache for it (`produceCachedData`) to
 * node_modules/.cache/sigstore-cdk/jest-code-cache/, and every later one, in any worker, reads it
 * (`cachedData`). What runs is unchanged: a cache is named by a SHA-256 of the Node version, the
 * module wrapper's parameters and the exact source jest compiles (after its transform), and V8
 * rejects a cache that does not fit its version and flags (then the module compiles as before and
 * its cache is written again). Measured on the 2-core machine, whole `npm test`, the cache emptied
 * before each run (as on a clean CI clone), three alternating runs: 164.2, 158.8 and 160.2 s of CPU
 * (87.0, 84.8, 85.7 s wall) against 169.2, 166.2 and 161.0 s (90.0, 88.3, 85.7 s) without it. In one
 * suite (in-process-2, in band) the compile time fell from 493 ms to 192 ms.
 */
'use strict';
const vm = require('node:vm');
const Runtime = require('jest-runtime').default;
const { CACHE_DIRECTORY, codeCachedCompile } = require('./code-cache');

// jest-runtime 30.5.2 compiles a module in ModuleExecutor.compile (build/index.js) through the vm
// module's compileFunction, looked up at each call, with the test file's context as parsingContext.
// Installed once per worker process (jest loads this file in each).
const INSTALLED = Symbol.for('sigstore-cdk.jest-code-cache');
if (!vm[INSTALLED]) {
  const original = vm.compileFunction;
  vm.compileFunction = codeCachedCompile((code, params, options) => original.call(vm, code, params, options), CACHE_DIRECTORY);
  vm[INSTALLED] = true;
}

// jest-runner reads the runtime class as the module's `default` (interopRequireDefault).
module.exports = { __esModule: true, default: Runtime };
