import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured } from '../helpers/cli';
import { runCliProcess } from '../helpers/cli-process';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { copyFixtureState, FIXTURE_ENV } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';

/*
 * `sigstore-cdk rotate tuf-root` as a process, on a copy of the fixture state (local signer); the
 * refusals after the first (exit 2 as a process) by the same CLI in process.
 */
describe('sigstore-cdk rotate tuf-root (CLI)', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let envsDir: string;
  const writeEnv = (extra = '') => writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), `organization: Test Org\nsigner: local\n${extra}`);
  const cli = (...args: string[]) => runCliProcess([...args, '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot], { cwd: temp() });
  const inProcess = (...args: string[]) => runCliCaptured([...args, '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot]);

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
    envsDir = join(temp(), 'envs');
    mkdirSync(envsDir);
    writeEnv();
  });

  it('refuses an unknown item, a bad --at and the keys the root already has with exit 2, writing nothing', async () => {
    const before = treeContents(stateRoot);
    const unknown = await cli('rotate', 'tuf-roots');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error [CONFIG_INVALID]: rotate: unknown item "tuf-roots"; expected one of');
    expect(unknown.stderr).toContain('tuf-root');
    const badTime = await inProcess('rotate', 'tuf-root', '--at', 'tomorrow');
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--at "tomorrow" is not a UTC time');
    const overlap = await inProcess('rotate', 'tuf-root', '--overlap', '1d');
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toContain('--overlap "1d" does not apply');
    const same = await inProcess('rotate', 'tuf-root');
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('nothing to rotate');
    writeEnv('tuf:\n  root:\n    threshold: 2\n');
    const invalid = await inProcess('rotate', 'tuf-root');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('tuf.root.threshold');
    expect(treeContents(stateRoot)).toEqual(before);
  });

  it('rotates to a new local key, prints the deploy steps in order, and verify accepts the rotated state', async () => {
    // The processes read the wall clock: the fixture state minted relative to now, not the committed
    // one (whose TSA leaf, 2028-01-01, would fail verify from mid-December 2027).
    stateRoot = await mintAgedFixtureState(join(temp(), 'aged'));
    writeEnv('tuf:\n  root:\n    keys: [{ local: tuf-root-g2 }]\n');
    // Signed now (the fixture's online roles have expired by the wall clock: the rotation re-signs them too).
    const rotated = await cli('rotate', 'tuf-root', '--json');
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result).toMatchObject({ env: FIXTURE_ENV, item: 'tuf-root', stateWritten: true, rotation: { to: { version: 2, generation: 2 } } });
    expect(result.published.map((entry: { role: string; version: number }) => `${entry.role} v${entry.version}`)).toEqual(['root v2', 'targets v2', 'snapshot v2', 'timestamp v2']);
    expect(result.deploy[0]).toMatch(/^sigstore-cdk synth --env test/);
    expect(result.deploy[1]).toMatch(/^deploy dist\/trust\/tuf\//);
    expect(rotated.stdout + rotated.stderr).not.toMatch(/PRIVATE KEY/);
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'signer', 'tuf-root-g2.key.pem'), 'utf8')).toContain('ENCRYPTED');

    const verify = await cli('verify');
    expect(verify.stderr).not.toContain('error [');
    expect(verify.stderr).toContain('environment "test" verified');
  });
});
