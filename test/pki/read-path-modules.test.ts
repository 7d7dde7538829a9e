import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { LAUNCHER, runProcess } from '../helpers/cli-process';
import { startupGraph, type StartupGraph } from '../helpers/startup-graph';
import { REPO_ROOT, makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';
import type { KmsEmulator } from '../otc/kms-emulator';
import { credentialEnvironment, startEmulator, writeKmsEnvironment } from '../otc/kms-fixture';

/*
 * No program carries a certificate library: lib/pki writes certificates, names and extensions with
 * its own DER writer (lib/pki/der-writer.ts, lib/pki/certificate-fields.ts) and reads them with its
 * DER reader and node:crypto (lib/pki/certificate.ts). @peculiar/x509 with tsyringe and
 * reflect-metadata, pkijs, asn1js and the @peculiar/asn1-* packages (tens of milliseconds to
 * evaluate) are the tests' independent implementations only. Checked on the bundles' module graph,
 * and by running a cold and a warm synth through the bin.
 */

const CERTIFICATE_LIBRARIES = /^node_modules\/(@peculiar\/[^/]+|pkijs|asn1js|reflect-metadata|tsyringe)\//;

/** Every bundle scripts/build.js builds: the programs and the library bundles. */
const BUNDLES = ['bin/sigstore-cdk.ts', 'bin/k8s.ts', 'bin/cloud.ts', 'library-entry:cloud-libraries', 'library-entry:remote-libraries', 'library-entry:construct-libraries'];

describe('no bundle carries a certificate library', () => {
  let graph: StartupGraph;
  beforeAll(async () => {
    graph = await startupGraph();
  });

  it.each(BUNDLES)('%s holds none of @peculiar/x509, the @peculiar/asn1-* packages, pkijs, asn1js, tsyringe, reflect-metadata', (entry) => {
    expect(graph.bundledBy(entry).size).toBeGreaterThan(0);
    expect([...graph.bundledBy(entry)].filter((path) => CERTIFICATE_LIBRARIES.test(path))).toEqual([]);
  });

  it('the check matches where those packages are installed, and the minting code is in the CLI bundle', () => {
    for (const name of ['@peculiar/x509', '@peculiar/asn1-schema', 'pkijs', 'asn1js', 'reflect-metadata', 'tsyringe']) {
      const installed = relative(REPO_ROOT, realpathSync(require.resolve(name))).split(sep).join('/');
      expect({ name, matched: CERTIFICATE_LIBRARIES.test(installed.replace(/^.*?node_modules\//, 'node_modules/')) }).toEqual({ name, matched: true });
    }
    expect(graph.bundledBy('bin/sigstore-cdk.ts').has('lib/pki/certificate-builder.ts')).toBe(true);
    expect(graph.bundledBy('bin/sigstore-cdk.ts').has('lib/pki/certificate-fields.ts')).toBe(true);
    // lib/pki/minting.ts requires the builder inside a function: bundled, not evaluated at start.
    expect(graph.reachedFrom('bin/sigstore-cdk.ts').has('lib/pki/certificate-builder.ts')).toBe(false);
  });

  it('the build refuses a split that breaks either rule', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { checkBundleSplit } = require('../../scripts/build.js') as { checkBundleSplit: (metafile: unknown) => void };
    const metafile = (entryPoint: string, inputs: string[]) => ({ outputs: { 'out.js': { entryPoint, inputs: Object.fromEntries(inputs.map((path) => [path, {}])) } } });
    expect(() => checkBundleSplit(metafile('bin/sigstore-cdk.ts', ['lib/a.ts', 'node_modules/zod/index.js']))).not.toThrow();
    expect(() => checkBundleSplit(metafile('bin/sigstore-cdk.ts', ['lib/a.ts', 'node_modules/@aws-sdk/client-s3/dist-cjs/index.js']))).toThrow(/belong in their library bundle/);
    expect(() => checkBundleSplit(metafile('bin/k8s.ts', ['lib/a.ts', 'node_modules/cdktf/lib/index.js']))).toThrow(/belong in their library bundle/);
    const entry = 'library-entry:remote-libraries';
    expect(() => checkBundleSplit(metafile(entry, [entry, 'node_modules/@smithy/core/dist-cjs/index.js']))).not.toThrow();
    expect(() => checkBundleSplit(metafile(entry, [entry, 'lib/errors.ts']))).toThrow(/third-party packages only/);
    // constructs is shared: one copy, in construct-libraries; another library bundle only reads it from there
    expect(() => checkBundleSplit(metafile('library-entry:cloud-libraries', ['library-entry:cloud-libraries', 'node_modules/cdktf/lib/index.js', 'library-bundle:construct-libraries:constructs']))).not.toThrow();
    expect(() => checkBundleSplit(metafile('library-entry:cloud-libraries', ['library-entry:cloud-libraries', 'node_modules/constructs/lib/index.js']))).toThrow(/one copy of its packages/);
    expect(() => checkBundleSplit(metafile('bin/k8s.ts', ['lib/a.ts', 'node_modules/constructs/lib/index.js']))).toThrow(/belong in their library bundle/);
  });
});

describe('a warm synth through the bin', () => {
  const temp = useTempDirectory();

  it('evaluates no certificate library (reflect-metadata, which @peculiar/x509 and tsyringe need, stays undefined), in the synth that mints too; neither calls localeCompare', async () => {
    const project = makeTempProject(temp());
    // reflect-metadata defines Reflect.getMetadata when it is evaluated; the probe reports at exit. It
    // also counts String.prototype.localeCompare calls: the first one in a process loads ICU's
    // collator (about 13 ms), so the synth orders by code unit (lib/code-unit-order.ts).
    const probe = join(project, 'probe.js');
    writeFileSync(
      probe,
      [
        'let collations = 0;',
        'const localeCompare = String.prototype.localeCompare;',
        'String.prototype.localeCompare = function (...args) { collations++; return localeCompare.apply(this, args); };',
        "process.on('exit', () => process.stderr.write(`probe: Reflect.getMetadata ${typeof Reflect.getMetadata}\\nprobe: child_process ${process.moduleLoadList.includes('NativeModule child_process')}\\nprobe: localeCompare ${collations}\\n`));",
      ].join('\n'),
    );
    const synth = () => runProcess(process.execPath, ['--require', probe, LAUNCHER, 'synth', '--env', 'dev'], { cwd: project });
    const cold = await synth();
    expect(cold.stderr).toMatch(/^minted \d+ items/m);
    expect(cold.code).toBe(0);
    expect(cold.stderr).toContain('probe: Reflect.getMetadata undefined');
    expect(cold.stderr).toContain('probe: localeCompare 0');
    const warm = await synth();
    expect(warm.stderr).not.toMatch(/^minted/m);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toContain('probe: Reflect.getMetadata undefined');
    // commander and cdk8s require child_process at load; the build gives them a stand-in (next test)
    expect(warm.stderr).toContain('probe: child_process false');
    expect(warm.stderr).toContain('probe: localeCompare 0');
  });
});

describe('a command that talks to KMS, as a process', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  beforeAll(async () => {
    // The emulator keeps an idle connection open far longer than the process may run (below): a
    // keep-alive socket that held the event loop would keep the command from ending until it is killed.
    emulator = await startEmulator({ keepAliveTimeoutMs: 600_000 });
  });
  afterAll(() => emulator.stop());

  it('calls IAM and KMS over node:http, never loading undici (fetch: ~85 ms at its first call), and ends with its connection still open', async () => {
    const envsDir = writeKmsEnvironment(temp(), emulator);
    const probe = join(temp(), 'probe.js');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`probe: undici ${process.moduleLoadList.includes('NativeModule internal/deps/undici/undici')}\\n`));\n");
    const run = await runProcess(process.execPath, ['--require', probe, LAUNCHER, 'keys', 'ensure', '--env', 'kms', '--envs-dir', envsDir, '--json'], {
      cwd: temp(),
      env: credentialEnvironment('access-key'),
      timeoutMs: 30_000,
    });
    expect(run.stderr).toContain('probe: undici false');
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(run.stdout).keys).toHaveLength(3);
    expect(emulator.calls.filter((call) => call.api === 'create-key').length).toBeGreaterThanOrEqual(3);
  });
});

/**
 * Writes `files` (path → content, below `directory`; `entry.js` is the entry), bundles them with
 * esbuild and `plugin` as scripts/build.js bundles the programs, runs the bundle and returns what it
 * printed as JSON (it must print nothing on stderr).
 */
async function bundleAndRun(directory: string, files: Readonly<Record<string, string>>, plugin: unknown): Promise<unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(directory, path)), { recursive: true });
    writeFileSync(join(directory, path), content);
  }
  await esbuild.build({ absWorkingDir: directory, entryPoints: ['entry.js'], bundle: true, platform: 'node', format: 'cjs', outfile: 'out.js', plugins: [plugin as import('esbuild').Plugin], logLevel: 'silent' });
  const run = await runProcess(process.execPath, [join(directory, 'out.js')], { cwd: directory });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout);
}

describe("the build's stand-in for the built-ins that packages require at load (scripts/build.js lazyBuiltinsPlugin)", () => {
  const temp = useTempDirectory();

  it("for child_process loads it at the first call, from a function taken at load time, and calls the real one", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lazyBuiltinsPlugin } = require('../../scripts/build.js') as { lazyBuiltinsPlugin: () => unknown };
    const printed = await bundleAndRun(
      temp(),
      {
        // As cdk8s's _child_process: the function is read from the module when the package loads.
        'node_modules/takes-early/index.js': "const { spawnSync } = require('node:child_process');\nmodule.exports = () => spawnSync('sh', ['-c', 'echo called']).stdout.toString().trim();\n",
        'entry.js': [
          "const loaded = () => process.moduleLoadList.includes('NativeModule child_process');",
          "const call = require('takes-early');",
          'const before = loaded();',
          'const output = call();',
          'const after = loaded();',
          // the project's own require (not from node_modules) is left alone: the real module
          "const ownIsStandIn = require('node:util').types.isProxy(require('node:child_process'));",
          'console.log(JSON.stringify({ before, output, after, ownIsStandIn }));',
        ].join('\n'),
      },
      lazyBuiltinsPlugin(),
    );
    expect(printed).toEqual({ before: false, output: 'called', after: true, ownIsStandIn: false });
  });
});

describe("the build's stand-in for packages that libraries require at load (scripts/build.js lazyPackagesPlugin)", () => {
  const temp = useTempDirectory();

  it('evaluates archiver only when cdktf first calls it (a TerraformAsset), and then forwards calls and properties', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lazyPackagesPlugin, LAZY_PACKAGES } = require('../../scripts/build.js') as { lazyPackagesPlugin: () => unknown; LAZY_PACKAGES: Record<string, { importer: string }> };
    expect(LAZY_PACKAGES.archiver.importer).toBe('cdktf/lib/private/fs.js');
    const printed = await bundleAndRun(
      temp(),
      {
        // As cdktf's lib/private/fs.js: archiver is required when the module loads, called much later.
        'node_modules/cdktf/lib/private/fs.js': "const archiver = require('archiver');\nexports.zip = (name) => archiver('zip', { name });\nexports.formats = () => archiver.formats;\n",
        'node_modules/archiver/index.js': "globalThis.archiverEvaluated = true;\nconst archiver = (format, options) => `${format}:${options.name}`;\narchiver.formats = ['zip', 'tar'];\nmodule.exports = archiver;\n",
        // Another module's require of the same package is left alone: the real module at once.
        'node_modules/other/index.js': "module.exports = () => require('util').types.isProxy(require('archiver'));\n",
        'entry.js': [
          "const fs = require('cdktf/lib/private/fs.js');",
          'const before = globalThis.archiverEvaluated === true;',
          "const zipped = fs.zip('asset');",
          'const after = globalThis.archiverEvaluated === true;',
          'const formats = fs.formats();',
          "const otherGetsStandIn = require('other')();",
          'console.log(JSON.stringify({ before, zipped, after, formats, otherGetsStandIn }));',
        ].join('\n'),
      },
      lazyPackagesPlugin(),
    );
    expect(printed).toEqual({ before: false, zipped: 'zip:asset', after: true, formats: ['zip', 'tar'], otherGetsStandIn: false });
  });

  it('keeps archiver unevaluated in a cloud synth through the bin (its streams would load node:zlib, which nothing else there needs)', async () => {
    const project = makeTempProject(temp());
    writeFileSync(join(project, 'envs', 'prd.yaml'), readFileSync(join(REPO_ROOT, 'envs', 'prd.example.yaml')));
    const probe = join(project, 'probe.js');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`probe: zlib ${process.moduleLoadList.includes('NativeModule zlib')}\\n`));\n");
    const run = await runProcess(process.execPath, ['--require', probe, LAUNCHER, 'cloud', 'synth', '--env', 'prd'], { cwd: project });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('cloud stack cdktf.out/stacks/sigstore-prd/cdk.tf.json');
    expect(run.stderr).toContain('probe: zlib false');
  });
});
