#!/usr/bin/env node
/**
 * Builds the three programs of this project to plain JavaScript, one bundle each (esbuild), so that
 * no TypeScript is transformed at run time and Node resolves one file instead of a thousand:
 *
 *   bin/sigstore-cdk.ts → bin/compiled/sigstore-cdk.js   the CLI (`bin/sigstore-cdk.js` runs it)
 *   bin/k8s.ts          → bin/compiled/k8s.js            the cdk8s app (cdk8s.yaml)
 *   bin/cloud.ts        → bin/compiled/cloud.js          the cdktf app (cdktf.json)
 *
 * `npm ci` runs it (the `prepare` script); the launchers run it again when a source file is newer
 * than the build (lib/…/*.ts edited in a checkout), so a stale build is never run. Written in plain
 * JavaScript because it must run before anything is compiled.
 *
 * Each program is one bundle. What a command needs only sometimes is required lazily in lib/ and
 * stays unevaluated in the bundle until then. The project's code is not split into bundles of its
 * own: a second bundle would carry its own copies of lib/errors.ts and lib/redaction.ts, and an error
 * or a secret from it would no longer be recognised (instanceof) or redacted by the first.
 * Third-party code is: cdktf with the provider bindings, the S3 client, and `constructs` (which
 * cdk8s and cdktf share) are library bundles of their own (bin/compiled/<name>.js, see
 * LIBRARY_BUNDLES), built in a second pass from what the programs import. `bin/compiled/build-inputs.json`
 * lists every source file of every bundle, for the staleness check (bin/launch.js), and the library bundles.
 *
 * Usage: node scripts/build.js [--quiet] [--if-stale]
 *   --if-stale  build only when a bundle is missing or older than its sources (the `prepare` script:
 *               npm ci builds, and `npx sigstore-cdk`, which runs `prepare` too, does not rebuild)
 */
'use strict';
const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'bin', 'compiled');

/**
 * Packages left out of the bundles and loaded from node_modules by `require` when a command needs
 * them (`state export|import`, `smoke`, `verify` with sigstore-js). One copy each stays true: a
 * package is either bundled or external, never both.
 */
const EXTERNAL_PACKAGES = ['openpgp', '@sigstore/sign', '@sigstore/tuf', '@sigstore/verify', '@sigstore/bundle'];

/**
 * Library bundles: third-party packages that only some commands need, bundled apart from the
 * programs, each into bin/compiled/<name>.js. In a program's bundle an import of one of them becomes
 * a read from that bundle (bin/launch.js `libraryBundle`), which a process loads, with a V8 code cache
 * of its own, when it first needs it: a command that does not need them neither reads nor
 * deserializes their code, and one that does gets it compiled from the cache instead of compiling
 * hundreds of files from node_modules at every run (cdktf alone: 373 files, ~110 ms).
 * A bundle holds exactly the modules the programs import from its packages (an import path equal to
 * a package name or under it), each evaluated when first asked for. Third-party code only
 * (checkBundleSplit, after each build), so that lib/ keeps one copy of itself.
 *   cloud-libraries   cdktf and the provider bindings (the cloud stack)
 *   remote-libraries  the S3 client (a state in OBS)
 *   construct-libraries  `constructs`, the base of cdk8s's and of cdktf's constructs: `shared`, so every
 *                     import of it, from the project or from a package (cdk8s and cdk8s-plus-28 in the
 *                     programs, cdktf in cloud-libraries), reads this one copy. It used to be loaded
 *                     from node_modules, without a code cache: ~8 ms of every synth.
 */
const LIBRARY_BUNDLES = {
  'cloud-libraries': { packages: ['cdktf', '@cdktf/provider-opentelekomcloud'] },
  'remote-libraries': { packages: ['@aws-sdk/client-s3'] },
  'construct-libraries': { packages: ['constructs'], shared: true },
};

/** Entry points of the programs: output name → TypeScript source, relative to the project root. */
const ENTRY_POINTS = {
  'sigstore-cdk': 'bin/sigstore-cdk.ts',
  k8s: 'bin/k8s.ts',
  cloud: 'bin/cloud.ts',
};

/** The library bundle an import path belongs to, or undefined. */
function libraryBundleOf(path) {
  return Object.keys(LIBRARY_BUNDLES).find((name) => LIBRARY_BUNDLES[name].packages.some((pkg) => path === pkg || path.startsWith(`${pkg}/`)));
}

/** esbuild namespaces: a program's module that reads a library bundle, and a library bundle's entry. */
const LIBRARY_NAMESPACE = 'library-bundle';
const LIBRARY_ENTRY = 'library-entry';

/**
 * In the programs' build: resolves an import of a library bundle's package in the project's own
 * code to a module that reads it from that bundle at run time, and records it in `wanted` (bundle
 * name → import paths) for the library build. Imports inside node_modules resolve as usual.
 */
function libraryImportsPlugin(wanted) {
  return {
    name: 'library-imports',
    setup(build) {
      build.onResolve({ filter: /^[@a-z]/ }, (args) => {
        if (args.namespace === LIBRARY_NAMESPACE) return undefined;
        const bundle = libraryBundleOf(args.path);
        if (bundle === undefined || (isInNodeModules(args.importer) && !LIBRARY_BUNDLES[bundle].shared)) return undefined;
        wanted.get(bundle)?.add(args.path);
        return { path: `${bundle}:${args.path}`, namespace: LIBRARY_NAMESPACE };
      });
      readFromLibraryBundle(build);
    },
  };
}

/** Whether a path (an importer, a bundle input) lies inside a node_modules directory. */
function isInNodeModules(path) {
  return path.split('\\').join('/').split('/').includes('node_modules');
}

/** The modules of LIBRARY_NAMESPACE: each reads one import path from its library bundle, through the launcher. */
function readFromLibraryBundle(build) {
  // The launcher, from bin/compiled/: the module instance that runs the program.
  build.onResolve({ filter: /^\.\.\/launch\.js$/, namespace: LIBRARY_NAMESPACE }, () => ({ path: '../launch.js', external: true }));
  build.onLoad({ filter: /.*/, namespace: LIBRARY_NAMESPACE }, (args) => {
    const [bundle, ...rest] = args.path.split(':');
    return { contents: `module.exports = require('../launch.js').libraryBundle(${JSON.stringify(bundle)})[${JSON.stringify(rest.join(':'))}];\n`, loader: 'js' };
  });
}

/**
 * In the library build: the entry of each library bundle, an object with one getter per import path
 * the programs use; and in the other library bundles, an import of a shared bundle's package reads
 * it from that bundle (it must be one the programs import too: that bundle has a getter for it).
 */
function libraryEntriesPlugin(wanted) {
  return {
    name: 'library-entries',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^${LIBRARY_ENTRY}:`) }, (args) => ({ path: args.path.slice(LIBRARY_ENTRY.length + 1), namespace: LIBRARY_ENTRY }));
      build.onResolve({ filter: /^[@a-z]/ }, (args) => {
        if (args.namespace === LIBRARY_NAMESPACE) return undefined;
        const bundle = libraryBundleOf(args.path);
        if (bundle === undefined || !LIBRARY_BUNDLES[bundle].shared) return undefined;
        // the shared bundle's own entry takes the package itself
        if (args.namespace === LIBRARY_ENTRY && args.importer === bundle) return undefined;
        if (!wanted.get(bundle).has(args.path)) {
          return { errors: [{ text: `${args.importer} imports ${args.path}, which the programs do not: the shared library bundle ${bundle} has no getter for it` }] };
        }
        return { path: `${bundle}:${args.path}`, namespace: LIBRARY_NAMESPACE };
      });
      readFromLibraryBundle(build);
      build.onLoad({ filter: /.*/, namespace: LIBRARY_ENTRY }, (args) => {
        const getters = [...wanted.get(args.path)].sort().map((path) => `  get ${JSON.stringify(path)}() {\n    return require(${JSON.stringify(path)});\n  },\n`);
        return { contents: `module.exports = {\n${getters.join('')}};\n`, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/** esbuild namespace of the lazy stand-ins for Node built-ins (lazyBuiltinsPlugin). */
const LAZY_BUILTIN = 'lazy-builtin';

/**
 * Built-ins that third-party code requires at load time but calls only on paths our commands rarely
 * take: commander (executable subcommands) and cdk8s (helm charts, YAML from a URL) require
 * `child_process`, which brings `dgram` and the child-process internals, ~6 ms at every start
 * (warm synth, same-run A/B: 221 → 215 ms wall, 229 → 224 ms CPU).
 */
const LAZY_BUILTINS = {
  // its functions: what the stand-in can hand out before the module is loaded
  child_process: ['exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'],
};

/**
 * In the programs' build: a `require()` of a LAZY_BUILTINS module from inside node_modules gets a
 * stand-in that loads the built-in on first use. Its functions can be taken at load time (cdk8s's
 * `_child_process` copies `spawnSync` into an object of its own): until the built-in is loaded, the
 * stand-in hands out a function that loads it and calls the real one; any other property loads it
 * at once. Only `require` calls: an ESM import of a CommonJS module reads its keys at import time.
 */
function lazyBuiltinsPlugin() {
  const pattern = new RegExp(`^(node:)?(${Object.keys(LAZY_BUILTINS).join('|')})$`);
  return {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter: pattern }, (args) => {
        if (args.kind !== 'require-call' || !isInNodeModules(args.importer)) return undefined;
        return { path: args.path.replace(/^node:/, ''), namespace: LAZY_BUILTIN };
      });
      build.onLoad({ filter: /.*/, namespace: LAZY_BUILTIN }, (args) => ({
        contents: [
          `let loaded;`,
          `const load = () => (loaded ??= require(${JSON.stringify(`node:${args.path}`)}));`,
          `const functions = new Set(${JSON.stringify(LAZY_BUILTINS[args.path])});`,
          `module.exports = new Proxy({}, {`,
          `  get(_target, name) {`,
          `    if (loaded === undefined && functions.has(name)) return (...parameters) => load()[name](...parameters);`,
          `    return load()[name];`,
          `  },`,
          `});`,
          ``,
        ].join('\n'),
        loader: 'js',
      }));
    },
  };
}

/** esbuild namespace of the lazy stand-ins for packages (lazyPackagesPlugin). */
const LAZY_PACKAGE = 'lazy-package';

/**
 * Packages that a library requires at load time but calls only on a path our code never takes,
 * each with the module (a path suffix) whose `require` of it gets the stand-in, and why:
 *   archiver  cdktf's lib/private/fs.js requires it to zip a TerraformAsset's directory; our stacks
 *             have no asset. Evaluating it and its 30 dependencies (zip-stream, compress-commons,
 *             readable-stream, lodash parts) was ~20 ms of every command that loads cdktf.
 */
const LAZY_PACKAGES = {
  archiver: { importer: 'cdktf/lib/private/fs.js' },
};

/**
 * In the library build: a `require()` of a LAZY_PACKAGES package from its importer gets a stand-in
 * that loads the package (bundled as usual, evaluated only then) at first use. The stand-in is a
 * function proxy: calling it (`archiver("zip", …)`), constructing it or reading a property loads the
 * package and forwards to it.
 */
function lazyPackagesPlugin() {
  const pattern = new RegExp(`^(${Object.keys(LAZY_PACKAGES).join('|')})$`);
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onResolve({ filter: pattern }, (args) => {
        // the stand-in's own require: resolved as usual, from the importer's directory
        if (args.namespace === LAZY_PACKAGE || args.kind !== 'require-call') return undefined;
        if (!args.importer.split('\\').join('/').endsWith(`/node_modules/${LAZY_PACKAGES[args.path].importer}`)) return undefined;
        return { path: args.path, namespace: LAZY_PACKAGE, pluginData: { resolveDir: dirname(args.importer) } };
      });
      build.onLoad({ filter: /.*/, namespace: LAZY_PACKAGE }, (args) => ({
        contents: [
          `let loaded;`,
          `const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
          `module.exports = new Proxy(function () {}, {`,
          `  apply: (_target, self, parameters) => Reflect.apply(load(), self, parameters),`,
          `  construct: (_target, parameters) => Reflect.construct(load(), parameters),`,
          `  get: (_target, name) => load()[name],`,
          `  has: (_target, name) => name in load(),`,
          `});`,
          ``,
        ].join('\n'),
        loader: 'js',
        resolveDir: args.pluginData.resolveDir,
      }));
    },
  };
}

/**
 * A package's own copy of a dependency that is the same version as the project's (cdk8s ships yaml
 * 2.9.1 in cdk8s/node_modules/yaml, beside the project's yaml 2.9.1): imports of it from inside
 * node_modules take the project's copy, so the bundle holds and evaluates one (172 kB less in the
 * CLI's bundle). A copy of another version stays its package's own.
 * @param root the project whose node_modules holds the copies to prefer @default ROOT
 */
function sameVersionCopiesPlugin(root = ROOT) {
  const versions = new Map();
  const versionAt = (packageRoot) => {
    if (!versions.has(packageRoot)) {
      let version;
      try {
        version = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;
      } catch {
        version = undefined;
      }
      versions.set(packageRoot, version);
    }
    return versions.get(packageRoot);
  };
  return {
    name: 'same-version-copies',
    setup(build) {
      build.onResolve({ filter: /^[@a-z]/ }, async (args) => {
        if (args.pluginData?.sameVersionCopies || !isInNodeModules(args.importer)) return undefined;
        const options = { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { sameVersionCopies: true } };
        const own = await build.resolve(args.path, options);
        if (own.errors.length > 0 || own.external || !own.path) return undefined;
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        const parts = own.path.split('\\').join('/').split('/node_modules/');
        // only a nested copy: …/node_modules/<package>/node_modules/<name>/…
        if (parts.length < 3 || !parts[parts.length - 1].startsWith(`${name}/`)) return undefined;
        const nestedRoot = `${parts.slice(0, -1).join('/node_modules/')}/node_modules/${name}`;
        const projectRoot = join(root, 'node_modules', name);
        const version = versionAt(nestedRoot);
        if (version === undefined || version !== versionAt(projectRoot)) return undefined;
        const project = await build.resolve(args.path, { ...options, resolveDir: root, importer: join(root, 'package.json') });
        return project.errors.length > 0 ? undefined : { path: project.path, sideEffects: project.sideEffects };
      });
    },
  };
}

/** The options both builds share. */
function commonOptions() {
  return {
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Keep class and function names: error classes are matched by name, constructs are named.
    keepNames: true,
    // Whitespace and syntax only: less to parse at every start; identifiers stay as written.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  };
}

/**
 * Both builds, programs then library bundles, with `options` (output settings) added to each.
 * Returns one metafile of both (build() writes it to bin/compiled/metafile.json).
 */
async function buildBundles(esbuild, options) {
  const wanted = new Map(Object.keys(LIBRARY_BUNDLES).map((name) => [name, new Set()]));
  const programs = await esbuild.build({
    ...commonOptions(),
    ...options,
    entryPoints: ENTRY_POINTS,
    external: EXTERNAL_PACKAGES,
    plugins: [lazyBuiltinsPlugin(), libraryImportsPlugin(wanted), sameVersionCopiesPlugin()],
  });
  const used = Object.keys(LIBRARY_BUNDLES).filter((name) => wanted.get(name).size > 0);
  const libraries = await esbuild.build({
    ...commonOptions(),
    ...options,
    entryPoints: Object.fromEntries(used.map((name) => [name, `${LIBRARY_ENTRY}:${name}`])),
    external: EXTERNAL_PACKAGES,
    plugins: [lazyPackagesPlugin(), libraryEntriesPlugin(wanted)],
  });
  const metafile = {
    inputs: { ...programs.metafile.inputs, ...libraries.metafile.inputs },
    outputs: { ...programs.metafile.outputs, ...libraries.metafile.outputs },
  };
  checkBundleSplit(metafile);
  return { metafile, libraryBundles: used, outputFiles: [...(programs.outputFiles ?? []), ...(libraries.outputFiles ?? [])] };
}

/**
 * Throws when a library bundle holds a module of the project, a program's bundle a library bundle's
 * package, or a library bundle a shared bundle's package (each has one copy, in its own bundle).
 */
function checkBundleSplit(metafile) {
  const packagesOf = (names) => names.flatMap((name) => LIBRARY_BUNDLES[name].packages);
  const inPackages = (packages) => (path) => packages.some((pkg) => path.includes(`node_modules/${pkg}/`));
  const isLibraryPackage = inPackages(packagesOf(Object.keys(LIBRARY_BUNDLES)));
  for (const [output, { entryPoint, inputs }] of Object.entries(metafile.outputs)) {
    if (!entryPoint) continue;
    const paths = Object.keys(inputs).map((path) => path.split('\\').join('/'));
    const libraryBundle = entryPoint.startsWith(`${LIBRARY_ENTRY}:`) ? entryPoint.slice(LIBRARY_ENTRY.length + 1) : undefined;
    let misplaced;
    let rule;
    if (libraryBundle === undefined) {
      misplaced = paths.filter(isLibraryPackage);
      rule = 'those packages belong in their library bundle (LIBRARY_BUNDLES)';
    } else {
      // (a read from a shared bundle is not code: LIBRARY_NAMESPACE; nor is a package's lazy stand-in: LAZY_PACKAGE)
      misplaced = paths.filter((path) => !isInNodeModules(path) && path !== entryPoint && !path.startsWith(`${LIBRARY_NAMESPACE}:`) && !path.startsWith(`${LAZY_PACKAGE}:`));
      rule = 'a library bundle takes third-party packages only';
      if (misplaced.length === 0) {
        const sharedElsewhere = Object.keys(LIBRARY_BUNDLES).filter((name) => name !== libraryBundle && LIBRARY_BUNDLES[name].shared);
        misplaced = paths.filter(inPackages(packagesOf(sharedElsewhere)));
        rule = 'a shared library bundle holds the one copy of its packages';
      }
    }
    if (misplaced.length > 0) throw new Error(`${output} bundles ${misplaced.slice(0, 3).join(', ')}: ${rule}`);
  }
}

/**
 * bin/compiled/metafile.json: esbuild's metafile of the build (every bundle's inputs, their imports
 * and the bytes each puts into its bundle; what `esbuild --analyze` reads), with the build's id and
 * the output paths under bin/compiled/. test/helpers/startup-graph.ts reads the module graph from it
 * instead of building the bundles again in memory (1.5 s, twice a test run).
 */
const METAFILE = 'metafile.json';

/** The metafile of a build into `staging`, as the files are once moved: outputs named bin/compiled/<file>. */
function builtMetafile(metafile, staging, buildId) {
  const from = `${relative(ROOT, staging).split('\\').join('/')}/`;
  const to = `${relative(ROOT, OUT).split('\\').join('/')}/`;
  const outputs = Object.fromEntries(Object.entries(metafile.outputs).map(([path, output]) => [path.startsWith(from) ? to + path.slice(from.length) : path, output]));
  return { buildId, inputs: metafile.inputs, outputs };
}

async function build({ quiet = false } = {}) {
  const esbuild = require('esbuild');
  const started = Date.now();
  let libraryBundles = [];
  // Beside bin/compiled/, so the renames below stay on one file system; .gitignore covers `.*.tmp-*`.
  const staging = join(ROOT, 'bin', `.compiled.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const result = await buildBundles(esbuild, { outdir: staging, sourcemap: 'linked', metafile: true });
    libraryBundles = result.libraryBundles;
    // Packages are not listed one by one (see below), wherever node_modules is: a worktree's may be a
    // symlink to another checkout's, which esbuild names by its real path (`../main/node_modules/…`).
    // Nor the plugins' virtual modules (`library-bundle:…`, `lazy-builtin:…`, `lazy-package:…`): no file to check.
    const inputs = Object.keys(result.metafile.inputs)
      .filter((path) => !isInNodeModules(path) && !/^[a-z-]+:/.test(path))
      .sort();
    // node_modules counts as one input: npm ci and npm install rewrite node_modules/.package-lock.json.
    inputs.push('node_modules/.package-lock.json', 'scripts/build.js');
    const stamp = join(staging, 'build-inputs.json');
    // A new id per build: bin/launch.js names its V8 code caches after it, so no cache outlives its bundle.
    const buildId = `${started.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    // The library bundles are listed for bin/launch.js: a build missing one is incomplete.
    writeFileSync(stamp, `${JSON.stringify({ buildId, libraryBundles: result.libraryBundles, inputs }, null, 2)}\n`);
    writeFileSync(join(staging, METAFILE), JSON.stringify(builtMetafile(result.metafile, staging, buildId)));
    // The stamp's time is the build's start: a source saved during the build is newer, so stale.
    utimesSync(stamp, started / 1000, started / 1000);
    // File by file, each an atomic rename, the stamp last: a process starting meanwhile (tests run
    // many at once) reads either the old or the new copy of a file, never a half-written one.
    mkdirSync(OUT, { recursive: true });
    const files = readdirSync(staging).filter((file) => file !== 'build-inputs.json');
    for (const file of [...files, 'build-inputs.json']) renameSync(join(staging, file), join(OUT, file));
    // What earlier builds left is dead weight now (and a process still running has its code): code
    // caches of other builds, bundles of entry points that no longer exist.
    const current = new Set([...files, 'build-inputs.json']);
    for (const file of readdirSync(OUT)) {
      const stale = file.endsWith('.v8cache') ? !file.includes(`.${buildId}.`) : !current.has(file);
      if (stale) rmSync(join(OUT, file), { force: true });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!quiet) {
    process.stderr.write(`sigstore-cdk build: ${relative(ROOT, OUT)}/ (${[...Object.keys(ENTRY_POINTS), ...libraryBundles].join(', ')}) in ${Date.now() - started} ms\n`);
  }
}

module.exports = { build, checkBundleSplit, METAFILE, lazyBuiltinsPlugin, lazyPackagesPlugin, LAZY_BUILTINS, LAZY_PACKAGES, LIBRARY_BUNDLES, OUT, ROOT, sameVersionCopiesPlugin };

/** Why the build must be redone (the first bundle that is missing or stale), or undefined. */
function staleBuild() {
  const { staleReason } = require('../bin/launch.js');
  return Object.keys(ENTRY_POINTS).map((name) => staleReason(name)).find((reason) => reason !== undefined);
}

module.exports.staleBuild = staleBuild;

if (require.main === module) {
  if (process.argv.includes('--if-stale') && staleBuild() === undefined) return;
  build({ quiet: process.argv.includes('--quiet') }).catch((error) => {
    process.stderr.write(`sigstore-cdk build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
