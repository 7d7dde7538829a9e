import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { LAUNCHER, REPO_ROOT, runProcess } from '../helpers/cli-process';
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

const { ENTRY_POINTS, EXTERNAL_PACKAGES } = require(join(REPO_ROOT, 'scripts', 'build.js')) as {
  ENTRY_POINTS: Record<string, string>;
  EXTERNAL_PACKAGES: string[];
};

/**
 * The modules a program evaluates at start: those reached from `entry` by imports that run when the
 * importing module runs. An `import` statement does; a dynamic `import()` does not; a `require(…)`
 * in the project's code does when it is a top-level statement (column 0: `const x = require(…)`),
 * not when it sits inside a function (indented: the lazy loads). In node_modules every require
 * counts (conservative). Returns each module with the module that imported it, to print the path.
 */
function startupModules(metafile: Metafile, entry: string): Map<string, string | undefined> {
  const reached = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  const sources = new Map<string, string>();
  const sourceOf = (path: string) => {
    if (!sources.has(path)) sources.set(path, readFileSync(join(REPO_ROOT, path), 'utf8'));
    return sources.get(path)!;
  };
  while (queue.length > 0) {
    const from = queue.shift()!;
    const ownCode = !from.startsWith('node_modules/');
    for (const edge of metafile.inputs[from]?.imports ?? []) {
      if (edge.external || edge.kind === 'dynamic-import') continue;
      if (ownCode && edge.kind === 'require-call') {
        const quoted = [`require('${edge.original}')`, `require("${edge.original}")`];
        const topLevel = sourceOf(from)
          .split('\n')
          .some((line) => /^\S/.test(line) && quoted.some((call) => line.includes(call)));
        if (!topLevel) continue;
      }
      if (!reached.has(edge.path)) {
        reached.set(edge.path, from);
        queue.push(edge.path);
      }
    }
  }
  return reached;
}

/** Each minting package the start reaches, as the chain of imports from the entry to it. */
function mintingModulesAtStart(metafile: Metafile, entry: string): string[] {
  const reached = startupModules(metafile, entry);
  const chains = new Map<string, string>();
  for (const path of reached.keys()) {
    const match = MINTING_PACKAGES.exec(path);
    if (!match || chains.has(match[1])) continue;
    const chain: string[] = [];
    for (let at: string | undefined = path; at !== undefined; at = reached.get(at)) {
      if (at === path || !at.startsWith('node_modules/')) chain.unshift(at);
    }
    chains.set(match[1], chain.join(' → '));
  }
  return [...chains.values()];
}

describe('the read path does not load the minting libraries', () => {
  let metafile: Metafile;
  beforeAll(async () => {
    // Bundled as scripts/build.js bundles, without writing anything: only the module graph is read.
    const result = await build({
      absWorkingDir: REPO_ROOT,
      entryPoints: ENTRY_POINTS,
      outdir: join(REPO_ROOT, 'bin', 'compiled'),
      bundle: true,
      external: EXTERNAL_PACKAGES,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    metafile = result.metafile;
  });

  it.each(['bin/sigstore-cdk.ts', 'bin/k8s.ts'])('no import that runs at the start of %s reaches @peculiar/x509, pkijs, asn1js or reflect-metadata', (entry) => {
    expect(metafile.inputs[entry]).toBeDefined();
    expect(mintingModulesAtStart(metafile, entry)).toEqual([]);
  });

  it('the check finds them where they are: from the certificate builder, and not through a lazy require', () => {
    const fromBuilder = mintingModulesAtStart(metafile, 'lib/pki/certificate-builder.ts');
    expect(fromBuilder).toEqual(expect.arrayContaining([expect.stringMatching(/^lib\/pki\/certificate-builder\.ts → node_modules\/@peculiar\/x509\//)]));
    expect(fromBuilder).toEqual(expect.arrayContaining([expect.stringMatching(/node_modules\/reflect-metadata\//)]));
    // lib/pki/minting.ts requires the builder inside a function: reached by the bundle, not at start.
    expect(metafile.inputs['lib/pki/minting.ts'].imports.map((edge) => edge.path)).toContain('lib/pki/certificate-builder.ts');
    expect(mintingModulesAtStart(metafile, 'lib/pki/minting.ts')).toEqual([]);
  });
});

describe('a warm synth through the bin', () => {
  const temp = useTempDirectory();

  it('does not evaluate reflect-metadata (nor, so, @peculiar/x509 and tsyringe, which need it); the synth that mints does', async () => {
    const project = makeTempProject(temp());
    // reflect-metadata defines Reflect.getMetadata when it is evaluated; the probe reports at exit.
    const probe = join(project, 'probe.js');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`probe: Reflect.getMetadata ${typeof Reflect.getMetadata}\\n`));\n");
    const synth = () => runProcess(process.execPath, ['--require', probe, LAUNCHER, 'synth', '--env', 'dev'], { cwd: project });
    const cold = await synth();
    expect(cold.stderr).toMatch(/^minted \d+ items/m);
    expect(cold.code).toBe(0);
    expect(cold.stderr).toContain('probe: Reflect.getMetadata function');
    const warm = await synth();
    expect(warm.stderr).not.toMatch(/^minted/m);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toContain('probe: Reflect.getMetadata undefined');
  });
});
