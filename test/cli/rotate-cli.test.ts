import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { runCliCaptured } from '../helpers/cli';
import { runCliProcess } from '../helpers/cli-process';
import { useTempDirectory } from '../helpers/temp-directory';
import { makeTempProject } from '../helpers/temp-project';

/*
 * `rotate` as an operator runs it: the real CLI as a process in a copy of the project with the
 * fixture state (environment `test`), then `synth --at` and `verify`, as the README's runbook does.
 * The process reads the wall clock, so the state is the fixture's minted relative to now (the
 * committed one's TSA leaf expires 2028-01-01: rotating it 15 days ahead fails from mid-December 2027).
 */
describe('sigstore-cdk rotate (process)', () => {
  const temp = useTempDirectory();
  const DAY = 24 * 60 * 60 * 1000;
  const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

  it('rotates the TSA leaf with a planned cut-over, prints the deploy steps in order, and synth --at renders the new generation', async () => {
    const project = makeTempProject(temp());
    await mintAgedFixtureState(project);
    const cli = (...args: string[]) => runCliProcess([...args, '--env', 'test'], { cwd: project, timeoutMs: 120_000 });
    const at = iso(new Date(Math.ceil((Date.now() + 15 * DAY) / 1000) * 1000));

    const rotated = await cli('rotate', 'tsa-leaf', '--at', at, '--overlap', '2d', '--json');
    expect(rotated.stderr).not.toContain('error [');
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result.generations).toEqual([expect.objectContaining({ item: 'tsa-leaf', generation: 2, itemId: 'tsa-leaf-g2' })]);
    expect(result.activeFrom).toBe(at);
    expect(result.deploy[0]).toMatch(/^1\. now, the trust/);
    expect(result.deploy[1]).toMatch(new RegExp(`^2\\. at ${at} or later, the server switch: sigstore-cdk synth --env test --at ${at}`));

    const pending = await cli('rotate', 'tsa-leaf', '--at', at);
    expect(pending.code).toBe(3);
    expect(pending.stderr).toContain('error [STATE_ROTATION_PENDING]');

    // Without --json, as an operator reads it (on stderr, the human channel): what to deploy, in order (the trust first, then the server switch).
    const human = await cli('rotate', 'fulcio-intermediate', '--at', at);
    expect(human.code).toBe(0);
    const lines = human.stderr.split('\n');
    const step = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(lines[step(/^rotated fulcio-intermediate: /)]).toContain(`fulcio-intermediate g2 (fulcio-intermediate-g2); cut-over ${at}`);
    const order = [/^deploy, in order:$/, /^ {2}1\. now, the trust: sigstore-cdk synth --env test; publish dist\/trust\/tuf\//, new RegExp(`^ {2}2\\. at ${at} or later, the server switch: .*rolls deployment/fulcio`), /^ {2}3\. from /].map(step);
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    expect((await cli('synth')).code).toBe(0);
    const before = readFileSync(join(project, 'dist', 'sigstore.secrets.k8s.yaml'), 'utf8');
    expect((await cli('synth', '--at', at)).code).toBe(0);
    const after = readFileSync(join(project, 'dist', 'sigstore.secrets.k8s.yaml'), 'utf8');
    const newPassword = readFileSync(join(project, '.sigstore', 'test', 'tsa', 'g2', 'leaf.key.password'), 'utf8');
    expect(before).not.toContain(newPassword);
    // Parsed, not matched as text: YAML quotes a password that starts with "-".
    const passwords = parseAllDocuments(after).flatMap((document) => Object.entries((document.toJSON()?.stringData ?? {}) as Record<string, string>)).filter(([key]) => key === 'password').map(([, value]) => value);
    expect(passwords).toContain(newPassword);
    const trustedRoot = JSON.parse(readFileSync(join(project, 'dist', 'trust', 'trusted_root.json'), 'utf8'));
    expect(trustedRoot.timestampAuthorities).toHaveLength(2);

    const verified = await cli('verify', '--offline', '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout).expiry.filter((entry: { item: string }) => entry.item === 'tsa-leaf')).toHaveLength(4);
  });

  it('refuses a bad item, a bad --at and a bad --overlap with exit 2, naming the value', async () => {
    const project = makeTempProject(temp(), { fixtureState: true });
    // The first case as a process (its exit code); the others by the same CLI in process, on the project's envs/ and state.
    const asProcess = (...args: string[]) => runCliProcess([...args, '--env', 'test'], { cwd: project });
    const inProcess = (...args: string[]) => runCliCaptured([...args, '--env', 'test', '--envs-dir', join(project, 'envs'), '--state-dir', join(project, '.sigstore')]);
    const cases: [string[], string][] = [
      [['rotate', 'tsa-lief'], 'rotate: unknown item "tsa-lief"; expected one of tsa-leaf, fulcio-intermediate'],
      [['rotate', 'tsa-leaf', '--at', 'tomorrow'], '--at "tomorrow" is not a UTC time'],
      [['rotate', 'tsa-leaf', '--overlap', '3w'], '--overlap "3w" is not a duration such as'],
      [['rotate', 'tuf-root', '--overlap', '1d'], 'rotate tuf-root: --overlap "1d" does not apply'],
    ];
    for (const [index, [args, message]] of cases.entries()) {
      const run = await (index === 0 ? asProcess : inProcess)(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain(message);
    }
  });
});
