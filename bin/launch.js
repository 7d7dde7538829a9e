// Shared by the launchers (bin/sigstore-cdk.js, bin/k8s.js, bin/cloud.js): runs the compiled bundle
// bin/compiled/<name>.js that scripts/build.js writes (`npm ci` runs it through `prepare`). In a
// checkout whose sources are newer than that build (a file listed in bin/compiled/build-inputs.json
// changed), it builds again first, with one line on stderr, so an edited lib/*.ts never runs stale.
'use strict';
const { isAscii } = require('node:buffer');
const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
// The CommonJS Module class, as `require('node:module')` exports it, without loading that builtin (it
// brings the ESM loader and the source-map support: ~1 ms at every start).
const Module = module.constructor;
const { dirname, join, sep } = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const ROOT = join(__dirname, '..');
const COMPILED = join(__dirname, 'compiled');

/** Why the build of `name` in `compiled` must be redone, or undefined when it is current. */
function staleReason(name, compiled = COMPILED, root = ROOT) {
  let stampTime;
  let inputs;
  try {
    stampTime = statSync(join(compiled, 'build-inputs.json')).mtimeMs;
    const stamp = JSON.parse(readFileSync(join(compiled, 'build-inputs.json'), 'utf8'));
    inputs = stamp.inputs;
    // The library bundles (scripts/build.js LIBRARY_BUNDLES) are part of every build.
    for (const bundle of [name, ...(stamp.libraryBundles ?? [])]) statSync(join(compiled, `${bundle}.js`));
  } catch {
    return 'bin/compiled/ is missing or incomplete';
  }
  // The inputs are relative paths with `/` (scripts/build.js): joined by hand, as path.join
  // normalizing each of the ~170 again cost more than the stat calls (2.2 → 0.9 ms at every start).
  const prefix = root.endsWith(sep) ? root : root + sep;
  for (const input of inputs) {
    let stats;
    try {
      stats = statSync(prefix + input, { throwIfNoEntry: false });
    } catch {
      continue; // unreadable: as a source that is gone
    }
    // a source that is gone: the build no longer needs it, or nothing can rebuild it
    if (stats !== undefined && stats.mtimeMs > stampTime) return `${input} changed`;
  }
  return undefined;
}

/**
 * Set by lib/pki/minting.ts when a run loads the minting code (the certificate builder and the
 * profiles): the code cache such a run writes covers it too.
 */
const MINTING_LOADED = Symbol.for('sigstore-cdk.code-cache.minting');

/**
 * Runs the bundle like `require` does, with V8's code cache: the first run of a build saves the
 * compiled code (bin/compiled/<name>.<build id>.<node version>.<command>[.mint].v8cache, written at
 * exit, atomically), later runs skip most of the compilation. A cache holds the functions its run
 * compiled, so each command (the first argument: synth, verify, …) has its own: a synth after a
 * `--version` still finds its code cached. A run that minted writes the `.mint` cache, which has the
 * program's minting code as well (bootstrap, the ceremony log, the state commit), and every later run
 * of the command loads that one first: a synth that mints after a cache written by one that did not
 * (a checkout whose state exists) compiled that code again at each cold run (~20 ms when it still
 * included the certificate libraries); a warm run loads the larger cache at no measurable cost. The library bundles (libraryBundle) keep caches of their own, named the same way.
 * The build id in the name means a cache never outlives its bundle; V8 itself refuses a cache from
 * another V8 version or flags, and then it is written again.
 */
function runCompiled(name) {
  const file = join(COMPILED, `${name}.js`);
  const bytes = readFileSync(file);
  // esbuild writes ASCII (its default charset escapes the rest): read as latin1, which is the same
  // string without UTF-8 decoding (6.8 ms → 1.7 ms for the 3.4 MB bundle); UTF-8 if it ever is not.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  let buildId = 'unknown';
  try {
    buildId = JSON.parse(readFileSync(join(COMPILED, 'build-inputs.json'), 'utf8')).buildId ?? buildId;
  } catch {
    // no stamp: the cache is keyed on 'unknown' and V8's own checks
  }
  const base = join(COMPILED, `${name}.${buildId}.${process.version}.${commandOf(process.argv[2])}`);
  const mintingCache = `${base}.mint.v8cache`;
  const readingCache = `${base}.v8cache`;
  let cachedData;
  let loaded;
  for (const candidate of [mintingCache, readingCache]) {
    try {
      cachedData = readFileSync(candidate);
      loaded = candidate;
      break;
    } catch {
      // not written yet
    }
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const accepted = loaded !== undefined && !script.cachedDataRejected;
  if (!(accepted && loaded === mintingCache)) {
    process.once('exit', () => {
      const minting = globalThis[MINTING_LOADED] === true;
      // A run that only read, with its cache: nothing compiled that the cache lacks.
      if (accepted && !minting) return;
      const cacheFile = minting ? mintingCache : readingCache;
      try {
        const temporary = `${cacheFile}.tmp-${process.pid}`;
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, cacheFile);
        // A `.mint` cache V8 refused is loaded first by every later run, refused again each time: gone,
        // the cache just written serves until a run mints again.
        if (!minting && loaded === mintingCache) rmSync(mintingCache, { force: true });
      } catch {
        // a read-only checkout runs without the cache
      }
    });
  }
  const compiledModule = new Module(file, module);
  compiledModule.filename = file;
  compiledModule.paths = Module._nodeModulePaths(dirname(file));
  script.runInThisContext()(compiledModule.exports, Module.createRequire(file), compiledModule, file, dirname(file));
  return compiledModule.exports;
}

const loadedLibraryBundles = new Map();

/**
 * The exports of the library bundle bin/compiled/<name>.js (scripts/build.js LIBRARY_BUNDLES), run
 * at the first call in a process as runCompiled runs a program, with a V8 code cache of its own per
 * command. The programs' bundles call it (the build resolves their imports of those packages to it).
 */
function libraryBundle(name) {
  if (!/^[a-z][a-z-]*$/.test(name)) throw new Error(`no library bundle ${name}`);
  let exports = loadedLibraryBundles.get(name);
  if (exports === undefined) {
    exports = runCompiled(name);
    loadedLibraryBundles.set(name, exports);
  }
  return exports;
}

/**
 * V8 flags the programs run with, set before their bundle is compiled. `--no-opt`: no optimizing
 * compiler (TurboFan). A command runs for a fraction of a second, mostly code that runs once, and
 * TurboFan spent a tenth of its CPU, on a second thread, compiling functions that had finished by the
 * time their optimized code was ready. Measured with hyperfine on the 2-core machine (user + system
 * CPU, then wall): warm synth 214 → 193 ms CPU, cold synth 319 → 283 ms, `cloud synth` (cdktf)
 * 314 → 275 ms; wall unchanged on an idle machine, 3-30 % lower on a loaded one (a CI runner, npm test).
 */
const V8_FLAGS = ['--no-opt'];

/** Sets V8_FLAGS in this process (test/cli/launcher.test.ts checks that a program runs with them). */
function applyV8Flags() {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
}

/** Runs bin/compiled/<name>.js, building it first when it is missing or older than its sources. */
function launch(name) {
  applyV8Flags();
  const reason = staleReason(name);
  const run = () => runCompiled(name);
  if (reason === undefined) return run();
  let build;
  try {
    ({ build } = require('../scripts/build.js'));
    require.resolve('esbuild');
  } catch {
    process.stderr.write(`error [BUILD_MISSING]: ${reason} and esbuild is not installed; run npm ci (or npm run build)\n`);
    process.exitCode = 1;
    return undefined;
  }
  process.stderr.write(`sigstore-cdk: ${reason} since the last build; building bin/compiled/ first\n`);
  return build({ quiet: true }).then(run, (error) => {
    process.stderr.write(`error [BUILD_FAILED]: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

/** The code cache's name for a run whose first argument is `argument`: a command name, else `other`. */
function commandOf(argument) {
  return typeof argument === 'string' && /^[a-z][a-z0-9-]{0,31}$/.test(argument) ? argument : 'other';
}

module.exports = { launch, libraryBundle, staleReason, commandOf };
