/*
 * jest's V8 code cache (test/suites/code-cache-runtime.js installs it): the compile wrapper, the
 * cache's directory and its pruning. No side effect on load: test/global-setup.ts and the tests
 * require it without installing anything.
 */
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { isAbsolute, join } = require('node:path');

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
    try {
      writeFileSync(temporary, bytes);
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
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

module.exports = { CACHE_DIRECTORY, codeCachedCompile, pruneCodeCache };
