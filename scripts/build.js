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
 * Each program is one bundle. What a command needs only sometimes (the cloud stack's provider
 * bindings, the S3 client, OpenPGP, the sigstore-js signer) is required lazily in lib/ and stays
 * unevaluated in the bundle until then. The project's code is not split into bundles of its own: a
 * second bundle would carry its own copies of lib/errors.ts and lib/redaction.ts, and an error or a
 * secret from it would no longer be recognised (instanceof) or redacted by the first. Third-party
 * code can be: the certificate libraries only minting uses are a bundle of their own
 * (bin/compiled/mint-libraries.js, see MINT_LIBRARIES). `bin/compiled/build-inputs.json`
 * lists every source file of every bundle, for the staleness check (bin/launch.js).
 *
 * Usage: node scripts/build.js [--quiet] [--if-stale]
 *   --if-stale  build only when a bundle is missing or older than its sources (the `prepare` script:
 *               npm ci builds, and `npx sigstore-cdk`, which runs `prepare` too, does not rebuild)
 */
'use strict';
const { mkdirSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'bin', 'compiled');

/**
 * Packages left out of the bundles and loaded from node_modules by `require` when a command needs
 * them: each is reached only through a lazy require (cloud output, remote state, archives, smoke), so
 * bundling them made every start read, compile and keep in memory code that synth never runs (they
 * were 4 of the 7 MB of bin/compiled/sigstore-cdk.js). One copy each stays true: a package is either
 * bundled or external, never both. `constructs` goes with cdktf so cdk8s (bundled) and cdktf share
 * the one copy in node_modules.
 */
const EXTERNAL_PACKAGES = [
  '@aws-sdk/*',
  '@smithy/*',
  '@cdktf/*',
  'cdktf',
  'constructs',
  'openpgp',
  '@sigstore/sign',
  '@sigstore/tuf',
  '@sigstore/verify',
  '@sigstore/bundle',
];

/**
 * The packages only minting uses, bundled once into a bundle of their own (bin/mint-libraries.ts →
 * bin/compiled/mint-libraries.js), not into the programs: there an import of one of them becomes a
 * read from that bundle (bin/launch.js `libraryBundle`), which a process loads, with its own V8 code
 * cache, when it first mints. A command that does not mint neither reads nor deserializes their code.
 * Third-party code only (checkBundleSplit, after each build), so that lib/ keeps one copy.
 */
const MINT_LIBRARIES = ['reflect-metadata', '@peculiar/asn1-schema', '@peculiar/asn1-x509', '@peculiar/asn1-ecc', '@peculiar/x509'];
const MINT_LIBRARY_BUNDLE = 'mint-libraries';

/** Entry points: output name → TypeScript source, relative to the project root. */
const ENTRY_POINTS = {
  'sigstore-cdk': 'bin/sigstore-cdk.ts',
  k8s: 'bin/k8s.ts',
  cloud: 'bin/cloud.ts',
  [MINT_LIBRARY_BUNDLE]: 'bin/mint-libraries.ts',
};

/**
 * Resolves an import of a MINT_LIBRARIES package in the project's own code (lib/, bin/) to a module
 * that reads it from the library bundle at run time; the packages' imports among themselves, and
 * those of bin/mint-libraries.ts, resolve as usual (into that bundle).
 */
function mintLibrariesPlugin() {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const filter = new RegExp(`^(${MINT_LIBRARIES.map(escape).join('|')})$`);
  return {
    name: MINT_LIBRARY_BUNDLE,
    setup(build) {
      build.onResolve({ filter }, (args) => {
        const importer = args.importer.split('\\').join('/');
        if (importer.split('/').includes('node_modules') || importer.endsWith(`/${ENTRY_POINTS[MINT_LIBRARY_BUNDLE]}`)) return undefined;
        return { path: args.path, namespace: MINT_LIBRARY_BUNDLE };
      });
      // The launcher, from bin/compiled/: the module instance that runs the program.
      build.onResolve({ filter: /^\.\.\/launch\.js$/, namespace: MINT_LIBRARY_BUNDLE }, () => ({ path: '../launch.js', external: true }));
      build.onLoad({ filter: /.*/, namespace: MINT_LIBRARY_BUNDLE }, (args) => ({
        contents: `module.exports = require('../launch.js').libraryBundle(${JSON.stringify(MINT_LIBRARY_BUNDLE)})[${JSON.stringify(args.path)}];\n`,
        loader: 'js',
      }));
    },
  };
}

/** Throws when the library bundle holds a module of the project, or a program's bundle one of MINT_LIBRARIES. */
function checkBundleSplit(metafile) {
  const isMintLibrary = (path) => MINT_LIBRARIES.some((name) => path.includes(`node_modules/${name}/`));
  for (const [output, { entryPoint, inputs }] of Object.entries(metafile.outputs)) {
    if (!entryPoint) continue;
    const paths = Object.keys(inputs).map((path) => path.split('\\').join('/'));
    const libraryBundle = entryPoint === ENTRY_POINTS[MINT_LIBRARY_BUNDLE];
    const misplaced = libraryBundle
      ? paths.filter((path) => !path.split('/').includes('node_modules') && path !== entryPoint)
      : paths.filter(isMintLibrary);
    if (misplaced.length > 0) {
      throw new Error(
        `${output} bundles ${misplaced.slice(0, 3).join(', ')}: ${libraryBundle ? 'the library bundle takes third-party packages only' : `${MINT_LIBRARIES.join(', ')} belong in the library bundle`}`,
      );
    }
  }
}

/** The esbuild options of the bundles, without the output settings (test/cli/startup-graph.test.ts builds with them too). */
function bundleOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    bundle: true,
    external: EXTERNAL_PACKAGES,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Keep class and function names: error classes are matched by name, constructs are named.
    keepNames: true,
    // Whitespace and syntax only: less to parse at every start; identifiers stay as written.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    plugins: [mintLibrariesPlugin()],
  };
}

async function build({ quiet = false } = {}) {
  const esbuild = require('esbuild');
  const started = Date.now();
  // Beside bin/compiled/, so the renames below stay on one file system; .gitignore covers `.*.tmp-*`.
  const staging = join(ROOT, 'bin', `.compiled.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const result = await esbuild.build({ ...bundleOptions(), outdir: staging, sourcemap: 'linked', metafile: true });
    checkBundleSplit(result.metafile);
    // Packages are not listed one by one (see below), wherever node_modules is: a worktree's may be a
    // symlink to another checkout's, which esbuild names by its real path (`../main/node_modules/…`).
    const inputs = Object.keys(result.metafile.inputs)
      .filter((path) => !path.split('/').includes('node_modules'))
      .sort();
    // node_modules counts as one input: npm ci and npm install rewrite node_modules/.package-lock.json.
    inputs.push('node_modules/.package-lock.json', 'scripts/build.js');
    const stamp = join(staging, 'build-inputs.json');
    // A new id per build: bin/launch.js names its V8 code caches after it, so no cache outlives its bundle.
    const buildId = `${started.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    writeFileSync(stamp, `${JSON.stringify({ buildId, inputs }, null, 2)}\n`);
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
    process.stderr.write(`sigstore-cdk build: ${relative(ROOT, OUT)}/ (${Object.keys(ENTRY_POINTS).join(', ')}) in ${Date.now() - started} ms\n`);
  }
}

module.exports = { build, bundleOptions, checkBundleSplit, MINT_LIBRARIES, MINT_LIBRARY_BUNDLE, OUT, ROOT };

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
