import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { runCliCaptured } from '../helpers/cli';
import { setWallClock } from '../helpers/fake-date';
import { copyFixtureState, FIXTURE_CLOCK, FIXTURE_ENV, FIXTURE_WALL_TIME, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';
import { readTree } from '../helpers/tree';

/*
 * The operator commands, in process. The fixture repository was signed on 2026-01-01, so at any wall
 * time after 2026-01-15 its timestamp has expired: `verify` must fail until `tuf refresh` re-signs.
 * The commands read the wall clock: it is set to FIXTURE_WALL_TIME, not left to the year the suite
 * runs in (from mid-December 2027 the fixture's TSA leaf would expire before a new timestamp does).
 */
describe('sigstore-cdk tuf refresh / verify', () => {
  const temp = useTempDirectory();
  let envsDir: string;
  let stateRoot: string;

  beforeEach(() => {
    setWallClock(FIXTURE_WALL_TIME);
    envsDir = join(temp(), 'envs');
    mkdirSync(envsDir);
    writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), 'organization: Test Org\nsigner: local\n');
    stateRoot = copyFixtureState(temp());
  });

  afterEach(() => jest.useRealTimers());

  const cli = (...args: string[]) => runCliCaptured([...args, '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot]);

  it('verify fails with exit code 5 on an expired repository and reports it in JSON; refresh fixes it', async () => {
    const failed = await cli('verify', '--json');
    expect(failed.code).toBe(5);
    const report = JSON.parse(failed.stdout);
    expect(report.error.code).toBe('VERIFY_FAILED');
    expect(report.result.ok).toBe(false);
    expect(report.result.problems).toEqual(expect.arrayContaining([expect.stringContaining('TUF timestamp v1 expired 2026-01-15T00:00:00Z')]));
    expect(report.result.tuf.expiry.map((role: { role: string }) => role.role)).toEqual(['root', 'timestamp', 'snapshot', 'targets']);
    expect(failed.stderr).toContain('error [VERIFY_FAILED]');

    const refreshed = await cli('tuf', 'refresh', '--json');
    expect(refreshed.code).toBe(0);
    const result = JSON.parse(refreshed.stdout);
    expect(result.stateWritten).toBe(true);
    expect(result.published.map((entry: { role: string }) => entry.role)).toEqual(expect.arrayContaining(['targets', 'snapshot', 'timestamp']));
    expect(result.expiry.every((role: { status: string }) => role.status === 'valid')).toBe(true);

    const verified = await cli('verify');
    expect(verified.code).toBe(0);
    expect(verified.stderr).toContain('environment "test" verified');
    expect(verified.stderr).toMatch(/TUF timestamp v\d+: expires .*: valid/);

    const again = await cli('tuf', 'refresh');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing due');
  });

  it('verify fails when the configuration moved a service but the targets were not refreshed', async () => {
    await cli('tuf', 'refresh');
    writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), 'organization: Test Org\nsigner: local\nservices:\n  rekor: { hostname: rekor.example.com }\n');
    const stale = await cli('verify');
    expect(stale.code).toBe(5);
    expect(stale.stderr).toContain('do not match the current trust material');
  });

  it('verify and refresh report a state without a TUF repository as a state problem (exit code 3)', async () => {
    const bare = join(temp(), 'bare');
    await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: bare, env: FIXTURE_ENV }), rootKeys: new LocalRootKeys(), clock: FIXTURE_CLOCK });
    stateRoot = bare;
    const verify = await cli('verify');
    expect(verify.code).toBe(3);
    expect(verify.stderr).toContain('error [TUF_REPOSITORY_MISSING]');
    expect((await cli('tuf', 'refresh')).code).toBe(3);
  });
});

describe('synth and the TUF repository', () => {
  const temp = useTempDirectory();

  it('copies the repository from the state into dist/trust/tuf/ and changes no byte of the state, run after run', async () => {
    const stateRoot = copyFixtureState(temp());
    const before = readTree(join(stateRoot, FIXTURE_ENV));
    const first = await synth({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'dist'), clock: FIXTURE_CLOCK });
    await synth({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'dist'), clock: () => new Date('2026-03-01T00:00:00Z') });
    expect(first.minted).toEqual([]);
    expect(readTree(join(stateRoot, FIXTURE_ENV))).toEqual(before); // bytes, modes and mtimes
    for (const name of readdirSync(join(stateRoot, FIXTURE_ENV, 'tuf', 'repository'))) {
      if (name === 'targets') continue;
      expect(readFileSync(join(temp(), 'dist', 'trust', 'tuf', name))).toEqual(readFileSync(join(stateRoot, FIXTURE_ENV, 'tuf', 'repository', name)));
    }
    expect(readFileSync(join(temp(), 'dist', 'trust', 'tuf', 'root.json'))).toEqual(readFileSync(join(temp(), 'dist', 'trust', 'tuf', '1.root.json')));
    expect(statSync(join(temp(), 'dist', 'trust', 'tuf', 'timestamp.json')).mode & 0o777).toBe(0o644);
    expect(first.files.filter((path) => path.startsWith('trust/tuf/targets/'))).toHaveLength(9);
    // No private material reaches the public output (the cluster Secrets manifest, 0600, is not public).
    for (const path of first.files.filter((file) => file !== 'sigstore.secrets.k8s.yaml')) {
      expect(readFileSync(join(temp(), 'dist', path), 'utf8')).not.toMatch(/PRIVATE KEY/);
    }
  });

  it('with a KMS signer, refuses to publish a state that has no TUF repository (bootstrap makes it)', async () => {
    const stateRoot = join(temp(), '.sigstore');
    await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: stateRoot, env: FIXTURE_ENV }), rootKeys: new LocalRootKeys(), clock: FIXTURE_CLOCK });
    // A valid KMS configuration (synth checks the configuration before the state).
    const kms = 'otc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-root-g1, tsaRootKeyAlias: t-root-g1, tufRootKeyAlias: u-root-g1 }\n';
    const config = { ...fixtureConfig(kms), signer: 'otc-kms' as const };
    await expect(synth({ config, stateRoot, outDir: join(temp(), 'dist') })).rejects.toMatchObject({
      code: 'STATE_MISSING_ROOTS',
      message: expect.stringContaining('the TUF repository'),
    });
  });
});
