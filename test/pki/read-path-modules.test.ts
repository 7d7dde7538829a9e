import { writeFileSync } from 'node:fs';
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
    const fromBuilder = mintingModulesAtStart(graph, 'lib/pki/certificate-builder.ts');
    expect(fromBuilder).toEqual(expect.arrayContaining([expect.stringMatching(/^lib\/pki\/certificate-builder\.ts → node_modules\/@peculiar\/x509\//)]));
    expect(fromBuilder).toEqual(expect.arrayContaining([expect.stringMatching(/node_modules\/reflect-metadata\//)]));
    // lib/pki/minting.ts requires the builder inside a function: reached by the bundle, not at start.
    expect(graph.bundled.has('lib/pki/certificate-builder.ts')).toBe(true);
    expect(mintingModulesAtStart(graph, 'lib/pki/minting.ts')).toEqual([]);
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
