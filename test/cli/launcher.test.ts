import { isAscii } from 'node:buffer';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../helpers/cli-process';
import { makeTempProject, REPO_ROOT } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { commandOf, staleReason } = require('../../bin/launch.js') as {
  staleReason: (name: string, compiled?: string, root?: string) => string | undefined;
  commandOf: (argument: string | undefined) => string;
};
const FORBID_TYPESCRIPT = join(__dirname, '..', 'helpers', 'forbid-typescript.js');

describe('the compiled launchers (bin/*.js run bin/compiled/, never TypeScript)', () => {
  const temp = useTempDirectory();

  it.each([
    ['bin/sigstore-cdk.js', ['synth', '--env', 'test']],
    ['bin/k8s.js', []],
  ])('%s synthesizes an environment without loading a .ts file or tsx', async (bin, args) => {
    const project = makeTempProject(join(temp(), 'project'), { fixtureState: true });
    const run = await runProcess(process.execPath, ['-r', FORBID_TYPESCRIPT, join(REPO_ROOT, bin), ...args], {
      cwd: project,
      env: { SIGSTORE_ENV: 'test', CDK8S_OUTDIR: join(project, '.cdk8s.out') },
    });
    expect(run.stderr).not.toContain('forbidden at run time');
    expect(run.code).toBe(0);
  });

  it('bin/compiled/sigstore-cdk.js leaves the packages of single commands out: to node_modules or to a library bundle, loaded when one runs', () => {
    // Bundled, they were 4 of its 7 MB: read, compiled and kept in memory by every synth.
    const compiled = (name: string) => readFileSync(join(REPO_ROOT, 'bin', 'compiled', `${name}.js`), 'utf8');
    const bundle = compiled('sigstore-cdk');
    for (const external of ['openpgp', '@sigstore/sign']) expect(bundle).toContain(`require("${external}")`);
    // cdktf, the provider bindings and the S3 client come from their library bundles, through the launcher.
    // (import paths that are not identifiers: the minifier writes `.cdktf` for `["cdktf"]`)
    for (const [library, path] of [
      ['cloud-libraries', '@cdktf/provider-opentelekomcloud/lib/obs-bucket'],
      ['remote-libraries', '@aws-sdk/client-s3'],
    ]) {
      expect(bundle).toContain(`require("../launch.js").libraryBundle("${library}")["${path}"]`);
      expect(compiled(library)).toContain(`get"${path}"()`);
    }
    // Their code is not in it (texts that only their sources hold), but in the library bundles.
    expect(bundle).not.toContain('.S3Client=');
    expect(bundle).not.toContain('Cannot create TerraformStack with id');
    expect(compiled('remote-libraries')).toContain('S3Client');
    expect(compiled('cloud-libraries')).toContain('Cannot create TerraformStack with id');
    // constructs is one copy, in its shared library bundle: cdk8s's (in the programs) and cdktf's (in
    // cloud-libraries) both read it from there, none from node_modules.
    for (const name of ['sigstore-cdk', 'k8s', 'cloud', 'cloud-libraries']) {
      expect({ name, reads: compiled(name).includes('require("../launch.js").libraryBundle("construct-libraries").constructs') }).toEqual({ name, reads: true });
      expect({ name, loads: compiled(name).includes('require("constructs")') }).toEqual({ name, loads: false });
      expect({ name, holds: compiled(name).includes('Cannot add children during synthesis') }).toEqual({ name, holds: false });
    }
    expect(compiled('construct-libraries')).toContain('Cannot add children during synthesis');
    expect(bundle.length).toBeLessThan(5_000_000);
  });

  it('bin/cloud.js (cdktf.json) writes the example stack without loading a .ts file or tsx', async () => {
    const prdExample = readFileSync(join(REPO_ROOT, 'envs', 'prd.example.yaml'), 'utf8');
    const project = makeTempProject(join(temp(), 'project'), { files: { 'envs/prd.yaml': prdExample } });
    const run = await runProcess(process.execPath, ['-r', FORBID_TYPESCRIPT, join(REPO_ROOT, 'bin', 'cloud.js')], {
      cwd: project,
      env: { SIGSTORE_ENV: 'prd', CDKTF_OUTDIR: 'cdktf.out' },
    });
    expect(run.stderr).not.toContain('forbidden at run time');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('cdktf.out/stacks/sigstore-prd/cdk.tf.json');
  });

  describe('staleness (a checkout whose sources are newer than bin/compiled/ is rebuilt before it runs)', () => {
    const layout = () => {
      const root = join(temp(), 'root');
      const compiled = join(root, 'bin', 'compiled');
      mkdirSync(join(root, 'lib'), { recursive: true });
      mkdirSync(compiled, { recursive: true });
      writeFileSync(join(root, 'lib', 'a.ts'), 'export {};\n');
      writeFileSync(join(compiled, 'cli.js'), '');
      writeFileSync(join(compiled, 'remote-libraries.js'), '');
      writeFileSync(join(compiled, 'build-inputs.json'), JSON.stringify({ buildId: 'x', libraryBundles: ['remote-libraries'], inputs: ['lib/a.ts', 'lib/gone.ts'] }));
      utimesSync(join(root, 'lib', 'a.ts'), 1000, 1000);
      utimesSync(join(compiled, 'build-inputs.json'), 2000, 2000);
      return { root, compiled };
    };

    it('is current when every listed source is older than the stamp (a source that is gone is ignored)', () => {
      const { root, compiled } = layout();
      expect(staleReason('cli', compiled, root)).toBeUndefined();
    });

    it('names the source that changed since the build', () => {
      const { root, compiled } = layout();
      utimesSync(join(root, 'lib', 'a.ts'), 3000, 3000);
      expect(staleReason('cli', compiled, root)).toBe('lib/a.ts changed');
    });

    it('says so when the bundle, the library bundle or the stamp is missing', () => {
      const { root, compiled } = layout();
      expect(staleReason('other', compiled, root)).toBe('bin/compiled/ is missing or incomplete');
      rmSync(join(compiled, 'remote-libraries.js'));
      expect(staleReason('cli', compiled, root)).toBe('bin/compiled/ is missing or incomplete');
    });
  });

  it('the real build is current after npm ci (the prepare script) or the test setup', () => {
    expect(staleReason('sigstore-cdk')).toBeUndefined();
  });

  it('the bundles are ASCII, so the launcher reads them as latin1 (no UTF-8 decoding)', () => {
    for (const name of ['sigstore-cdk', 'k8s', 'cloud', 'cloud-libraries', 'remote-libraries', 'construct-libraries']) expect(isAscii(readFileSync(join(REPO_ROOT, 'bin', 'compiled', `${name}.js`)))).toBe(true);
  });

  it('each command keeps its own V8 code cache, named after its first argument', async () => {
    expect(commandOf('synth')).toBe('synth');
    expect(commandOf('state')).toBe('state');
    for (const argument of [undefined, '--version', '-V', '../synth', 'Synth', 'a'.repeat(33), '']) expect(commandOf(argument)).toBe('other');
    // A run writes its command's cache when it is missing (at exit); another command's does not count.
    const caches = () => readdirSync(join(REPO_ROOT, 'bin', 'compiled')).filter((file) => file.startsWith('sigstore-cdk.') && file.endsWith('.v8cache'));
    for (const [args, command] of [
      [['--version'], 'other'],
      [['images', '--help'], 'images'],
    ] as const) {
      const ofCommand = (file: string) => file.endsWith(`.${process.version}.${command}.v8cache`);
      // Gone first (another run may write it again meanwhile: that is the same name), so this run must write it.
      for (const file of caches().filter(ofCommand)) rmSync(join(REPO_ROOT, 'bin', 'compiled', file), { force: true });
      const run = await runProcess(process.execPath, [join(REPO_ROOT, 'bin', 'sigstore-cdk.js'), ...args], { cwd: temp() });
      expect(run.code).toBe(0);
      expect(caches().some(ofCommand)).toBe(true);
    }
  });

  it('runs the programs without V8\'s optimizing compiler (--no-opt): a function asked to be optimized stays interpreted', async () => {
    // V8's %GetOptimizationStatus: bit 16 is "optimized". The probe forces an optimization at exit.
    const probe = join(temp(), 'probe.js');
    writeFileSync(
      probe,
      'process.on("exit", () => { function f(x) { return x + 1; } %PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3); process.stderr.write(`probe: optimized ${(%GetOptimizationStatus(f) & 16) !== 0}\\n`); });\n',
    );
    const project = makeTempProject(join(temp(), 'project'), { fixtureState: true });
    for (const [bin, args] of [
      ['sigstore-cdk.js', ['--version']],
      ['k8s.js', []],
    ] as const) {
      const run = await runProcess(process.execPath, ['--allow-natives-syntax', '-r', probe, join(REPO_ROOT, 'bin', bin), ...args], {
        cwd: project,
        env: { SIGSTORE_ENV: 'test', CDK8S_OUTDIR: join(project, '.cdk8s.out') },
      });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('probe: optimized false');
    }
    // The probe itself works: without the launcher the function is optimized.
    const plain = await runProcess(process.execPath, ['--allow-natives-syntax', '-r', probe, '-e', '0'], { cwd: temp() });
    expect(plain.stderr).toContain('probe: optimized true');
  });

  it('a synth that mints writes the `.mint` code cache, which every later synth loads (and none writes again)', async () => {
    // A private copy of bin/ (the launchers and the build, no cache): the shared one gets caches from every test.
    const root = join(temp(), 'checkout');
    const compiled = join(root, 'bin', 'compiled');
    mkdirSync(compiled, { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
    for (const file of ['launch.js', 'sigstore-cdk.js']) copyFileSync(join(REPO_ROOT, 'bin', file), join(root, 'bin', file));
    for (const file of readdirSync(join(REPO_ROOT, 'bin', 'compiled')).filter((name) => /^(sigstore-cdk|[a-z]+-libraries)\.js$|^build-inputs\.json$/.test(name))) {
      copyFileSync(join(REPO_ROOT, 'bin', 'compiled', file), join(compiled, file));
    }
    // The stamp's time is the build's (the copy would make it now; the inputs it lists are not in the copy anyway).
    const stamp = statSync(join(REPO_ROOT, 'bin', 'compiled', 'build-inputs.json'));
    utimesSync(join(compiled, 'build-inputs.json'), stamp.atime, stamp.mtime);
    const project = makeTempProject(join(temp(), 'project'), { fixtureState: true });
    const synth = async (...args: string[]) => {
      const run = await runProcess(process.execPath, [join(root, 'bin', 'sigstore-cdk.js'), 'synth', '--env', 'test', ...args], { cwd: project });
      expect(run.stderr).not.toContain('building bin/compiled/');
      if (run.code !== 0) throw new Error(`synth ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
      return run;
    };
    /** The caches, `<bundle>.<command>[.mint].v8cache` (without the build id and Node version), each with its modification time. */
    const caches = () =>
      Object.fromEntries(
        readdirSync(compiled)
          .filter((file) => file.endsWith('.v8cache'))
          .map((file) => [file.replace(/^([a-z-]+)\.[a-z0-9]+\.v[\d.]+\./, '$1.'), statSync(join(compiled, file)).mtimeMs]),
      );
    /** The path of the cache named `<bundle>.<command>[.mint].v8cache` as caches() names it. */
    const cacheFile = (cache: string) => {
      const [bundle, ...rest] = cache.split('.');
      return join(compiled, readdirSync(compiled).find((file) => file.startsWith(`${bundle}.`) && file.endsWith(`.${rest.join('.')}`))!);
    };
    const size = (cache: string) => statSync(cacheFile(cache)).size;

    // A synth of the complete state: the cache of a run that only read, its program's and constructs'
    // (every synth reads it).
    expect((await synth()).stderr).not.toMatch(/^minted/m);
    expect(Object.keys(caches()).sort()).toEqual(['construct-libraries.synth.v8cache', 'sigstore-cdk.synth.v8cache']);
    // One that mints (a new state): the `.mint` caches, with the minting code compiled.
    expect((await synth('--state-dir', join(project, 'new-state'), '--out', join(project, 'new-dist'))).stderr).toMatch(/^minted \d+ items/m);
    const written = caches();
    expect(Object.keys(written).sort()).toEqual([
      'construct-libraries.synth.mint.v8cache',
      'construct-libraries.synth.v8cache',
      'sigstore-cdk.synth.mint.v8cache',
      'sigstore-cdk.synth.v8cache',
    ]);
    expect(size('sigstore-cdk.synth.mint.v8cache')).toBeGreaterThan(size('sigstore-cdk.synth.v8cache'));
    // Later synths, reading or minting, load it and write no cache.
    await synth();
    expect((await synth('--state-dir', join(project, 'newer-state'), '--out', join(project, 'newer-dist'))).stderr).toMatch(/^minted/m);
    expect(caches()).toEqual(written);

    // A `.mint` cache V8 refuses (here: damaged) is removed by the next synth that only reads, which
    // writes its own; the one after it loads that and writes nothing (it did not refuse it run after run).
    writeFileSync(cacheFile('sigstore-cdk.synth.mint.v8cache'), Buffer.alloc(4096, 7));
    await synth();
    expect(Object.keys(caches()).sort()).toEqual(['construct-libraries.synth.mint.v8cache', 'construct-libraries.synth.v8cache', 'sigstore-cdk.synth.v8cache']);
    const rewritten = caches();
    await synth();
    expect(caches()).toEqual(rewritten);
  });
});
