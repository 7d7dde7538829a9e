import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startupGraph, writtenMetafile } from '../helpers/startup-graph';
import { REPO_ROOT } from '../helpers/temp-project';

/**
 * Issue 14: a command loads what it needs. What the CLI evaluates at every start (the modules
 * reachable through static imports from bin/sigstore-cdk.ts) holds what a synth with the local
 * signer runs, and not the modules of other commands or of OTC KMS, which lib/ requires on first use.
 */
describe('what bin/compiled/sigstore-cdk.js evaluates at start', () => {
  const LOADED_ON_USE = [
    // the OTC client stack: only a signer "otc-kms", a sealed state or `keys ensure` connect (lib/otc/kms-connection.ts)
    'lib/otc/kms-client.ts',
    'lib/otc/http-client.ts',
    'lib/otc/aksk-signer.ts',
    'lib/otc/iam-token.ts',
    'lib/otc/node-transport.ts',
    // commands other than synth and bootstrap (lib/cli/main.ts)
    'lib/commands/rotate.ts',
    'lib/commands/rotate-tuf-root.ts',
    'lib/commands/migrate-log.ts',
    'lib/commands/cloud-tofu.ts',
    'lib/commands/state-upgrade.ts',
    'lib/commands/state-remote.ts',
    'lib/commands/state-archive.ts',
    'lib/commands/smoke.ts',
    'lib/verify.ts',
    'lib/lifecycle/root-key-generations.ts',
    'lib/cloud/cloud-output.ts',
    // synth's and bootstrap's: the cluster charts (cdk8s, cdk8s-plus-28)
    'lib/synth.ts',
    'lib/k8s/cluster-manifests.ts',
    'node_modules/cdk8s-plus-28/lib/index.js',
  ];

  it.each(LOADED_ON_USE)('%s: in the bundle, evaluated only when a command needs it', async (path) => {
    const graph = await startupGraph();
    expect(graph.bundled.has(path)).toBe(true);
    expect(graph.reachedFrom('bin/sigstore-cdk.ts').has(path)).toBe(false);
  });

  it('evaluates what every command shares: the config, the state, custody, the TUF repository; synth adds the charts', async () => {
    const graph = await startupGraph();
    for (const path of ['lib/config/load.ts', 'lib/state/store.ts', 'lib/custody/check-custody.ts', 'lib/trust/tuf/repository.ts']) {
      expect(graph.reachedFrom('bin/sigstore-cdk.ts').has(path)).toBe(true);
    }
    for (const path of ['lib/k8s/cluster-manifests.ts', 'node_modules/cdk8s-plus-28/lib/index.js', 'lib/trust/trust-outputs.ts']) {
      expect(graph.reachedFrom('lib/synth.ts').has(path)).toBe(true);
    }
  });
});

describe('what the programs bundle of zod', () => {
  // `import { z } from 'zod'` binds zod's namespace object, which holds every export, so esbuild kept
  // all of them: 40 locales, z.compile, the JSON Schema importer (623 kB of zod in the CLI's bundle,
  // read and deserialized at every start; 160 kB with `import * as z`, which lets it keep what is used).
  it.each(['bin/sigstore-cdk.ts', 'bin/k8s.ts', 'bin/cloud.ts'])('%s: the English messages only, no compiler, no JSON Schema importer', async (entry) => {
    const graph = await startupGraph();
    const zod = [...graph.bytesInBundle(entry)].filter(([path]) => path.startsWith('node_modules/zod/'));
    const kept = (pattern: RegExp) => zod.filter(([path, bytes]) => pattern.test(path) && bytes > 0).map(([path]) => path);
    expect(kept(/\/core\/schemas\.js$/)).toEqual(['node_modules/zod/v4/core/schemas.js']);
    expect(kept(/\/locales\/(?!index\.js)/)).toEqual(['node_modules/zod/v4/locales/en.js']);
    expect(zod.filter(([path, bytes]) => /\/(compile|from-json-schema)\.js$/.test(path) && bytes > 1000)).toEqual([]);
    expect(zod.reduce((sum, [, bytes]) => sum + bytes, 0)).toBeLessThan(200_000);
  });
});

describe('cdk8s-plus-28 in the CLI bundle', () => {
  // esbuild copies a CommonJS package's exports at each module that imports it (`__toESM`, 101
  // getters for cdk8s-plus-28): lib/k8s/kplus.ts imports it once for the chart's twenty modules.
  it('is imported by one module of the project, and copied once in the bundle', async () => {
    const graph = await startupGraph();
    const importers = [...graph.bundledBy('bin/sigstore-cdk.ts')].filter((path) => path.startsWith('lib/') && /from 'cdk8s-plus-28'/.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
    expect(importers).toEqual(['lib/k8s/kplus.ts']);
    const bundle = readFileSync(join(REPO_ROOT, 'bin', 'compiled', 'sigstore-cdk.js'), 'latin1');
    const copies = [...bundle.matchAll(/=__toESM\((require_[A-Za-z0-9_]+)\(\)\)/g)].map((match) => match[1]);
    const kplusRequire = /\bkplus=__toESM\((require_[A-Za-z0-9_]+)\(\)\)/.exec(bundle)?.[1];
    expect(kplusRequire).toBeDefined();
    expect(copies.filter((name) => name === kplusRequire)).toHaveLength(1);
  });
});

describe('the programs need no development dependency (an `npm ci --omit=dev` runs them)', () => {
  // package-lock.json marks what only the development dependencies bring ("dev": true).
  const lock = (): Record<string, { dev?: boolean }> => JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')).packages;
  /** `node_modules/a/node_modules/@b/c` of a bundled source path, as package-lock.json keys it. */
  const packageOf = (path: string) => /^((?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+)/.exec(path)?.[1].replace(/\/$/, '');

  it('every package bundled into bin/compiled/ is a production one', async () => {
    const graph = await startupGraph();
    const packages = new Set([...graph.bundled].map(packageOf).filter((name): name is string => name !== undefined));
    expect(packages.size).toBeGreaterThan(50);
    const locked = lock();
    expect([...packages].filter((name) => locked[name] === undefined || locked[name].dev)).toEqual([]);
    // the check sees a development package where there is one
    expect(locked['node_modules/@peculiar/x509']?.dev).toBe(true);
  });

  it('every package the bundles require at run time is a production one (or absent: an optional require)', () => {
    const compiled = join(REPO_ROOT, 'bin', 'compiled');
    const required = new Set<string>();
    for (const file of readdirSync(compiled).filter((name) => name.endsWith('.js'))) {
      for (const match of readFileSync(join(compiled, file), 'latin1').matchAll(/\brequire\("([^".][^"]*)"\)/g)) {
        const name = match[1].split('/').slice(0, match[1].startsWith('@') ? 2 : 1).join('/');
        if (!isBuiltin(name)) required.add(name);
      }
    }
    expect([...required]).toEqual(expect.arrayContaining(['openpgp', '@sigstore/sign', '@sigstore/verify']));
    const packages = lock();
    expect([...required].filter((name) => packages[`node_modules/${name}`]?.dev)).toEqual([]);
  });
});

describe("a package's own copy of a dependency of the project's version", () => {
  it("is left out for the project's copy: cdk8s's yaml 2.9.1 (the project's is 2.9.1)", async () => {
    const graph = await startupGraph();
    for (const entry of ['bin/sigstore-cdk.ts', 'bin/k8s.ts']) {
      const kept = [...graph.bytesInBundle(entry)].filter(([, bytes]) => bytes > 0).map(([path]) => path);
      expect(kept).toContain('node_modules/yaml/dist/index.js');
      expect(kept.filter((path) => path.startsWith('node_modules/cdk8s/node_modules/yaml/'))).toEqual([]);
    }
  });

  it('takes the project copy only when the versions are the same', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { sameVersionCopiesPlugin } = require('../../scripts/build.js') as { sameVersionCopiesPlugin: (root: string) => import('esbuild').Plugin };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    const root = mkdtempSync(join(tmpdir(), 'sigstore-cdk-copies-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      const pkg = (path: string, version: string, value: string) => {
        write(`${path}/package.json`, JSON.stringify({ name: path.split('/').pop(), version, main: 'index.js' }));
        write(`${path}/index.js`, `module.exports = ${JSON.stringify(value)};\n`);
      };
      pkg('node_modules/dep', '1.0.0', 'project dep 1.0.0');
      pkg('node_modules/same/node_modules/dep', '1.0.0', 'same own dep 1.0.0');
      pkg('node_modules/other/node_modules/dep', '2.0.0', 'other own dep 2.0.0');
      write('node_modules/same/index.js', "module.exports = require('dep');\n");
      write('node_modules/same/package.json', JSON.stringify({ name: 'same', version: '1.0.0', main: 'index.js' }));
      write('node_modules/other/index.js', "module.exports = require('dep');\n");
      write('node_modules/other/package.json', JSON.stringify({ name: 'other', version: '1.0.0', main: 'index.js' }));
      write('entry.js', "console.log(JSON.stringify([require('same'), require('other'), require('dep')]));\n");
      const result = await esbuild.build({ absWorkingDir: root, entryPoints: ['entry.js'], bundle: true, platform: 'node', write: false, metafile: true, plugins: [sameVersionCopiesPlugin(root)], logLevel: 'silent' });
      const inputs = Object.keys(result.metafile.inputs).sort();
      expect(inputs).toEqual(['entry.js', 'node_modules/dep/index.js', 'node_modules/other/index.js', 'node_modules/other/node_modules/dep/index.js', 'node_modules/same/index.js']);
      const output = result.outputFiles[0].text;
      expect(output).not.toContain('same own dep');
      expect(output).toContain('other own dep 2.0.0');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('where the module graph comes from (test/helpers/startup-graph.ts)', () => {
  it("is the metafile the current build wrote, bin/compiled/metafile.json, which describes the bundles on disk", async () => {
    // test/global-setup.ts builds before a run when the build is stale, so the written metafile is current.
    const graph = await startupGraph();
    const written = JSON.parse(readFileSync(join(REPO_ROOT, 'bin', 'compiled', 'metafile.json'), 'utf8')) as import('esbuild').Metafile & { buildId: string };
    expect(written.buildId).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'bin', 'compiled', 'build-inputs.json'), 'utf8')) as { buildId: string }).buildId);
    const bundles = Object.entries(written.outputs).filter(([, output]) => output.entryPoint !== undefined);
    expect(bundles.map(([path]) => path).sort()).toEqual(readdirSync(join(REPO_ROOT, 'bin', 'compiled')).filter((file) => file.endsWith('.js')).map((file) => `bin/compiled/${file}`).sort());
    for (const [path, output] of bundles) {
      expect({ path, bytes: statSync(join(REPO_ROOT, path)).size }).toEqual({ path, bytes: output.bytes });
      // The graph's modules of each bundle are the metafile's.
      expect({ path, modules: graph.bundledBy(output.entryPoint!).size }).toEqual({ path, modules: Object.keys(output.inputs).length });
    }
  });

  it('is not read from a stale build, from a build that wrote none, or from another build', () => {
    const out = mkdtempSync(join(tmpdir(), 'sigstore-cdk-metafile-'));
    try {
      const script = (stale: string | undefined) => ({ staleBuild: () => stale, METAFILE: 'metafile.json', OUT: out });
      writeFileSync(join(out, 'build-inputs.json'), JSON.stringify({ buildId: 'b1', inputs: [] }));
      expect(writtenMetafile(script(undefined))).toBeUndefined();
      writeFileSync(join(out, 'metafile.json'), JSON.stringify({ buildId: 'b0', inputs: {}, outputs: {} }));
      expect(writtenMetafile(script(undefined))).toBeUndefined();
      writeFileSync(join(out, 'metafile.json'), JSON.stringify({ buildId: 'b1', inputs: {}, outputs: {} }));
      expect(writtenMetafile(script(undefined))).toEqual({ buildId: 'b1', inputs: {}, outputs: {} });
      expect(writtenMetafile(script('lib/synth.ts changed'))).toBeUndefined();
      writeFileSync(join(out, 'metafile.json'), '{"buildId": "b1", ');
      expect(writtenMetafile(script(undefined))).toBeUndefined();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
