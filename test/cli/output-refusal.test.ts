import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { snapshotTree } from '../helpers/snapshot';
import { runCliProcess, type ProcessRun } from '../helpers/cli-process';
import { makeTempProject } from '../helpers/temp-project';

/** A cloud section, so that synth would write a cloud stack to --cloud-out. */
const CLOUD_YAML = 'otc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1 }\ncloud:\n  bootstrapBucket: { name: test-sigstore-bootstrap }\n';

interface RefusalCase {
  /** The synth arguments after `synth` (`{project}` is the project's absolute path). */
  readonly args: readonly string[];
  /** The directory whose bytes must not change, relative to the project (`/` for the root). */
  readonly guarded: string;
  /** Start from the fixture state (environment `test`) rather than from none. */
  readonly withState?: boolean;
  /** Words the one error line must contain besides the directory. */
  readonly why: RegExp;
}

const CASES: readonly RefusalCase[] = [
  { args: ['--out', 'envs'], guarded: 'envs', why: /environment files/ },
  { args: ['--out', 'lib'], guarded: 'lib', why: /did not write/ },
  { args: ['--env', 'test', '--out', '{project}'], guarded: '.', withState: true, why: /project/ },
  { args: ['--env', 'test', '--out', '.sigstore'], guarded: '.sigstore', withState: true, why: /state/ },
  { args: ['--out', '.sigstore/dev'], guarded: '.sigstore', why: /state/ },
  { args: ['--out', '/'], guarded: '/', why: /project/ },
  { args: ['--out', '..'], guarded: '..', why: /project/ },
  { args: ['--cloud-out', '.sigstore/dev'], guarded: '.sigstore', why: /state/ },
  { args: ['--env', 'test', '--cloud-out', '.sigstore/test'], guarded: '.sigstore', withState: true, why: /state/ },
];

describe('synth refuses output directories it did not write (as a process)', () => {
  let temp: string;
  // Every case in its own project, all at once (each run is a separate process); then one test per case.
  let runs: Promise<Map<RefusalCase, { project: string; args: string[]; run: ProcessRun; before: object; after: object }>>;
  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'sigstore-cdk-refusal-'));
    runs = Promise.all(
      CASES.map(async (c, index) => {
        const project = makeTempProject(join(temp, `case-${index}`, 'project'), { fixtureState: c.withState, testEnvYaml: CLOUD_YAML });
        mkdirSync(join(project, 'lib'));
        writeFileSync(join(project, 'lib', 'index.ts'), 'export const mine = true;\n');
        const snapshot = () => (c.guarded === '/' ? { '/': readdirSync('/').sort().join(' ') } : snapshotTree(resolve(project, c.guarded)));
        const before = snapshot();
        const args = c.args.map((arg) => arg.replace('{project}', project));
        const run = await runCliProcess(['synth', ...args], { cwd: project });
        return [c, { project, args, run, before, after: snapshot() }] as const;
      }),
    ).then((entries) => new Map(entries));
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it.each(CASES.map((c) => [c.args.join(' '), c] as const))('synth %s: exit 2, one line naming the directory, nothing changed', async (_, c) => {
    const { project, args, run, before, after } = (await runs).get(c)!;
    const errorLines = run.stderr.split('\n').filter((line) => line.startsWith('error'));
    const option = args.includes('--cloud-out') ? '--cloud-out' : '--out';
    const given = args[args.indexOf(option) + 1];
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: expect.any(String) });
    expect(errorLines).toEqual([expect.stringMatching(/^error \[OUTPUT_DIR_(PROTECTED|FOREIGN)\]: /)]);
    expect(errorLines[0]).toContain(`${option} "${given}"`);
    expect(errorLines[0]).toMatch(c.why);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(after).toEqual(before);
    if (!c.withState) expect(existsSync(join(project, '.sigstore'))).toBe(false);
    expect(existsSync(join(project, 'dist'))).toBe(false);
  });
});
