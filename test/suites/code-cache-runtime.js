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
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { isAbsolute, join } = require('node:path');
const vm = require('node:vm');
const Runtime = require('jest-runtime').default;

const CACHE_DIRECTORY = join(__dirname, '..', '..', 'node_modules', '.cache', 'sigstore-cdk', 'jest-code-cache');

/** Above this size the cache is emptied at the start of a run (test/global-setup.ts): edits leave old entries behind. */
const CACHE_LIMIT_BYTES = 512 * 1024 * 1024;

/**
 * `compile` (vm.compileFunction) with a code cache in `directory`, for jest's compilations only: a
 * module file (absolute filename) compiled for a test's context (parsingContext). Anything else
 * passes through unchanged.
 */
function codeCachedCompile(compile, directory) {
  let directoryMade = false;
  const write = (path, bytes) => {
    if (!directoryMade) {
      mkdirSync(directory, { recursive: true });
      directoryMade = true;
    }
    // Atomically: another worker may read the same entry at the same moment.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  };
  return function cachedCompileFunction(code, params = [], options = {}) {
    if (options.parsingContext === undefined || typeof options.filename !== 'string' || !isAbsolute(options.filename) || options.cachedData !== undefined) {
      return compile(code, params, options);
    }
    const hash = createHash('sha256').update(process.version).update('\0').update(params.join(',')).update('\0').update(code).digest('hex');
    const path = join(directory, `${hash.slice(0, 40)}.v8cache`);
    let cachedData;
    try {
      cachedData = readFileSync(path);
    } catch {
      // not cached yet
    }
    if (cachedData !== undefined) {
      const compiled = compile(code, params, { ...options, cachedData });
      if (!compiled.cachedDataRejected) return compiled;
    }
    const compiled = compile(code, params, { ...options, produceCachedData: true });
    if (compiled.cachedDataProduced && compiled.cachedData) {
      try {
        write(path, compiled.cachedData);
      } catch {
        // a cache that cannot be written costs only the next compilation its time
      }
    }
    return compiled;
  };
}

/** Empties the cache when it has grown past `limit` bytes; returns whether it did. */
function pruneCodeCache(directory = CACHE_DIRECTORY, limit = CACHE_LIMIT_BYTES) {
  let total = 0;
  try {
    for (const name of readdirSync(directory)) total += statSync(join(directory, name), { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return false;
  }
  if (total <= limit) return false;
  rmSync(directory, { recursive: true, force: true });
  return true;
}

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
module.exports = { __esModule: true, default: Runtime, CACHE_DIRECTORY, codeCachedCompile, pruneCodeCache };
