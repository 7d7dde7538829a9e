import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCHER, runProcess } from '../helpers/cli-process';
import { startupGraph, type StartupGraph } from '../helpers/startup-graph';
import { makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * What mints certificates (@peculiar/x509 with tsyringe and reflect-metadata, pkijs, asn1js, the
 * @peculiar/asn1-* packages: tens of milliseconds to evaluate) is loaded only when a command mints
 * (lib/pki/minting.ts); everything that only reads the state parses certificates with
 * lib/pki/certificate.ts. Checked twice: statically, on the bundle's module graph (no static path
 * from a program's entry reaches them), and by running a warm synth through the bin.
 */

const MINTING_PACKAGES = /^node_modules\/(@peculiar\/[^/]+|pkijs|asn1js|reflect-metadata|tsyringe)\//;

/** Each minting package that `from` reaches at start, as the chain of imports to it. */
function mintingModulesAtStart(graph: StartupGraph, from: string): string[] {
  const chains = new Map<string, string>();
  for (const path of graph.reachedFrom(from).keys()) {
    const match = MINTING_PACKAGES.exec(path);
    if (match && !chains.has(match[1])) chains.set(match[1], graph.chain(from, path));
  }
  return [...chains.values()];
}

describe('the read path does not load the minting libraries', () => {
  let graph: StartupGraph;
  beforeAll(async () => {
    graph = await startupGraph();
  });

  it.each(['bin/sigstore-cdk.ts', 'bin/k8s.ts'])('no import that runs at the start of %s reaches @peculiar/x509, pkijs, asn1js or reflect-metadata', (entry) => {
    expect(graph.bundled.has(entry)).toBe(true);
    expect(mintingModulesAtStart(graph, entry)).toEqual([]);
  });

  it('the check finds them where they are: from the certificate builder, and not through a lazy require', () => {
    // The builder imports them; in the programs' bundles each import reads the library bundle (scripts/build.js).
    const fromBuilder = [...graph.reachedFrom('lib/pki/certificate-builder.ts').keys()];
    const fromLibraryBundle = ['@peculiar/x509', 'reflect-metadata'].map((name) => `library-bundle:mint-libraries:${name}`);
    expect(fromBuilder).toEqual(expect.arrayContaining(fromLibraryBundle));
    // lib/pki/minting.ts requires the builder inside a function: reached by the bundle, not at start.
    expect(graph.bundled.has('lib/pki/certificate-builder.ts')).toBe(true);
    expect([...graph.reachedFrom('lib/pki/minting.ts').keys()].filter((path) => path.startsWith('library-bundle:'))).toEqual([]);
    expect(mintingModulesAtStart(graph, 'lib/pki/minting.ts')).toEqual([]);
  });

  it('they are bundled only into bin/compiled/mint-libraries.js, which holds no module of the project', () => {
    for (const entry of ['bin/sigstore-cdk.ts', 'bin/k8s.ts', 'bin/cloud.ts', 'library-entry:cloud-libraries', 'library-entry:remote-libraries']) {
      expect([...graph.bundledBy(entry)].filter((path) => MINTING_PACKAGES.test(path))).toEqual([]);
    }
    const libraries = [...graph.bundledBy('library-entry:mint-libraries')];
    for (const name of ['@peculiar/x509', '@peculiar/asn1-schema', '@peculiar/asn1-x509', '@peculiar/asn1-ecc', 'asn1js', 'tsyringe', 'reflect-metadata']) {
      expect(libraries.some((path) => path.startsWith(`node_modules/${name}/`))).toBe(true);
    }
    expect(libraries.filter((path) => !path.startsWith('node_modules/'))).toEqual(['library-entry:mint-libraries']);
  });

  it('the build refuses a split that breaks either rule', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { checkBundleSplit } = require('../../scripts/build.js') as { checkBundleSplit: (metafile: unknown) => void };
    const metafile = (entryPoint: string, inputs: string[]) => ({ outputs: { 'out.js': { entryPoint, inputs: Object.fromEntries(inputs.map((path) => [path, {}])) } } });
    expect(() => checkBundleSplit(metafile('bin/sigstore-cdk.ts', ['lib/a.ts', 'node_modules/zod/index.js']))).not.toThrow();
    expect(() => checkBundleSplit(metafile('bin/sigstore-cdk.ts', ['lib/a.ts', 'node_modules/@peculiar/x509/build/x509.cjs.js']))).toThrow(/belong in their library bundle/);
    expect(() => checkBundleSplit(metafile('bin/k8s.ts', ['lib/a.ts', 'node_modules/cdktf/lib/index.js']))).toThrow(/belong in their library bundle/);
    const entry = 'library-entry:mint-libraries';
    expect(() => checkBundleSplit(metafile(entry, [entry, 'node_modules/asn1js/build/index.js']))).not.toThrow();
    expect(() => checkBundleSplit(metafile(entry, [entry, 'lib/errors.ts']))).toThrow(/third-party packages only/);
    // constructs is shared: one copy, in construct-libraries; another library bundle only reads it from there
    expect(() => checkBundleSplit(metafile('library-entry:cloud-libraries', ['library-entry:cloud-libraries', 'node_modules/cdktf/lib/index.js', 'library-bundle:construct-libraries:constructs']))).not.toThrow();
    expect(() => checkBundleSplit(metafile('library-entry:cloud-libraries', ['library-entry:cloud-libraries', 'node_modules/constructs/lib/index.js']))).toThrow(/one copy of its packages/);
    expect(() => checkBundleSplit(metafile('bin/k8s.ts', ['lib/a.ts', 'node_modules/constructs/lib/index.js']))).toThrow(/belong in their library bundle/);
  });
});

describe('a warm synth through the bin', () => {
  const temp = useTempDirectory();

  it('does not evaluate reflect-metadata (nor, so, @peculiar/x509 and tsyringe, which need it); the synth that mints does; neither calls localeCompare', async () => {
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
    expect(cold.stderr).toContain('probe: Reflect.getMetadata function');
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

describe("the build's stand-in for the built-ins that packages require at load (scripts/build.js lazyBuiltinsPlugin)", () => {
  const temp = useTempDirectory();

  it("for child_process loads it at the first call, from a function taken at load time, and calls the real one", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lazyBuiltinsPlugin } = require('../../scripts/build.js') as { lazyBuiltinsPlugin: () => unknown };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild');
    const directory = temp();
    mkdirSync(join(directory, 'node_modules', 'takes-early'), { recursive: true });
    // As cdk8s's _child_process: the function is read from the module when the package loads.
    writeFileSync(join(directory, 'node_modules', 'takes-early', 'index.js'), "const { spawnSync } = require('node:child_process');\nmodule.exports = () => spawnSync('sh', ['-c', 'echo called']).stdout.toString().trim();\n");
    writeFileSync(
      join(directory, 'entry.js'),
      [
        "const loaded = () => process.moduleLoadList.includes('NativeModule child_process');",
        "const call = require('takes-early');",
        "const before = loaded();",
        "const output = call();",
        "const after = loaded();",
        // the project's own require (not from node_modules) is left alone: the real module
        "const ownIsStandIn = require('node:util').types.isProxy(require('node:child_process'));",
        "console.log(JSON.stringify({ before, output, after, ownIsStandIn }));",
      ].join('\n'),
    );
    await esbuild.build({ absWorkingDir: directory, entryPoints: ['entry.js'], bundle: true, platform: 'node', format: 'cjs', outfile: 'out.js', plugins: [lazyBuiltinsPlugin() as import('esbuild').Plugin], logLevel: 'silent' });
    const run = await runProcess(process.execPath, [join(directory, 'out.js')], { cwd: directory });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ before: false, output: 'called', after: true, ownIsStandIn: false });
  });
});
