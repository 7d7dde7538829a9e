import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expiryFindings, expiryReport, type ItemExpiry } from '../../lib/lifecycle/expiry';
import { stateCertificates } from '../../lib/lifecycle/generations';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { runCliCaptured } from '../helpers/cli';
import { configError, configFromYaml } from '../helpers/config';
import { runBootstrap } from '../../lib/synth';
import { runVerify } from '../../lib/verify';
import { setWallClock } from '../helpers/fake-date';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The fixture state was minted on 2026-01-01: TSA leaf until 2028-01-01 (2y), intermediates until
 * 2031-01-01 (5y), roots until 2036-01-01 (10y). Every time below is injected, never the wall clock.
 */
describe('expiry of the state items and trusted_root.json validFor', () => {
  const temp = useTempDirectory();

  async function report(now: string, tufTimestampExpires: string, extraYaml = '') {
    const snapshot = await new StateStore({ root: copyFixtureState(temp()), env: FIXTURE_ENV }).load();
    const material = await readPkiMaterial(snapshot);
    const trustedRoot = {
      certificateAuthorities: [{ validFor: { start: '2026-01-01T00:00:00Z', end: material.fulcio.intermediate.notAfter.toISOString() } }],
      timestampAuthorities: [{ validFor: { start: '2026-01-01T00:00:00Z', end: material.tsa.leaf.notAfter.toISOString() } }],
      ctlogs: [{ publicKey: { validFor: { start: '2026-01-01T00:00:00Z' } } }],
      tlogs: [{ publicKey: { validFor: { start: '2026-01-01T00:00:00Z' } } }],
    };
    const config = extraYaml ? configFromYaml(`organization: Test Org\nsigner: local\n${extraYaml}`, FIXTURE_ENV) : fixtureConfig();
    return expiryReport({ certificates: stateCertificates(snapshot, material, new Date(now)), trustedRoot, tufTimestampExpires: new Date(tufTimestampExpires), config, now: new Date(now) });
  }
  const find = (entries: ItemExpiry[], source: string) => entries.find((entry) => entry.source === source)!;

  it('lists every certificate and every validFor with notAfter and days left', async () => {
    const entries = await report('2026-06-01T00:00:00Z', '2026-06-15T00:00:00Z');
    expect(entries.map((entry) => entry.source)).toEqual([
      'certificate fulcio/root.crt.pem',
      'certificate fulcio/intermediate.crt.pem',
      'certificate tsa/root.crt.pem',
      'certificate tsa/intermediate.crt.pem',
      'certificate tsa/leaf.crt.pem',
      'trusted_root.json certificateAuthorities[0].validFor',
      'trusted_root.json timestampAuthorities[0].validFor',
      'trusted_root.json ctlogs[0].validFor',
      'trusted_root.json tlogs[0].validFor',
    ]);
    expect(find(entries, 'certificate tsa/leaf.crt.pem')).toEqual({
      item: 'tsa-leaf',
      generation: 1,
      source: 'certificate tsa/leaf.crt.pem',
      notAfter: '2028-01-01T00:00:00Z',
      daysLeft: 579,
      renewBefore: '90d',
      inUse: true,
      status: 'valid',
    });
    expect(find(entries, 'trusted_root.json tlogs[0].validFor')).toMatchObject({ notAfter: null, daysLeft: null, status: 'valid' });
    expect(entries.every((entry) => entry.status === 'valid')).toBe(true);
    expect(expiryFindings(entries, 'test', new Date('2026-06-15T00:00:00Z'))).toEqual({ problems: [], warnings: [] });
  });

  it('warns inside the renewal window (90 days for the TSA leaf by default)', async () => {
    const entries = await report('2027-10-15T00:00:00Z', '2027-10-29T00:00:00Z');
    expect(find(entries, 'certificate tsa/leaf.crt.pem')).toMatchObject({ status: 'due', daysLeft: 78 });
    expect(find(entries, 'trusted_root.json timestampAuthorities[0].validFor')).toMatchObject({ status: 'due' });
    expect(find(entries, 'certificate tsa/intermediate.crt.pem').status).toBe('valid');
    const findings = expiryFindings(entries, 'test', new Date('2027-10-29T00:00:00Z'));
    expect(findings.problems).toEqual([]);
    expect(findings.warnings[0]).toBe(
      'tsa-leaf g1 (certificate tsa/leaf.crt.pem) expires 2028-01-01T00:00:00Z (in 78 days, inside its 90d renewal window); run "sigstore-cdk rotate tsa-leaf --env test"',
    );
  });

  it('takes the renewal windows from pki.renewBefore', async () => {
    const entries = await report('2027-10-15T00:00:00Z', '2027-10-29T00:00:00Z', 'pki:\n  renewBefore: { tsaLeaf: 30d, fulcioIntermediate: 4y }\n');
    expect(find(entries, 'certificate tsa/leaf.crt.pem')).toMatchObject({ status: 'valid', renewBefore: '30d' });
    expect(find(entries, 'certificate fulcio/intermediate.crt.pem')).toMatchObject({ status: 'due', renewBefore: '4y' });
  });

  it('fails an item that expires before the TUF timestamp does, and one that has expired', async () => {
    const before = await report('2027-12-25T00:00:00Z', '2028-01-08T00:00:00Z');
    expect(find(before, 'certificate tsa/leaf.crt.pem').status).toBe('expires-before-tuf-timestamp');
    expect(expiryFindings(before, 'test', new Date('2028-01-08T00:00:00Z')).problems[0]).toContain(
      'expires 2028-01-01T00:00:00Z, before the TUF timestamp does (2028-01-08T00:00:00Z)',
    );
    const after = await report('2028-01-01T00:00:00Z', '2028-01-15T00:00:00Z');
    expect(find(after, 'certificate tsa/leaf.crt.pem')).toMatchObject({ status: 'expired', daysLeft: 0 });
    expect(expiryFindings(after, 'test', new Date('2028-01-15T00:00:00Z')).problems).toEqual(
      expect.arrayContaining([expect.stringContaining('tsa-leaf g1 (certificate tsa/leaf.crt.pem) expired 2028-01-01T00:00:00Z')]),
    );
  });

  it('never fails a superseded trusted_root.json entry (an older generation), only lists it', () => {
    const entries = expiryReport({
      certificates: [],
      trustedRoot: {
        timestampAuthorities: [
          { validFor: { start: '2026-01-01T00:00:00Z', end: '2026-03-01T00:00:00Z' } },
          { validFor: { start: '2026-02-20T00:00:00Z', end: '2028-02-20T00:00:00Z' } },
        ],
      },
      tufTimestampExpires: new Date('2026-06-15T00:00:00Z'),
      config: fixtureConfig(),
      now: new Date('2026-06-01T00:00:00Z'),
    });
    expect(entries.map((entry) => [entry.generation, entry.status, entry.inUse])).toEqual([
      [1, 'superseded', false],
      [2, 'valid', true],
    ]);
  });
});

describe('the issue\'s reproduction: a state minted with a 1-hour TSA leaf', () => {
  const temp = useTempDirectory();

  it('verify fails (exit 5) instead of "ok": true, because the leaf expires before the TUF timestamp does', async () => {
    const config = configFromYaml('organization: Test Org\nsigner: local\npki:\n  tsa: { leafValidity: 1h }\n', 'short');
    const stateRoot = join(temp(), '.sigstore');
    const minted = new Date('2026-03-01T00:00:00Z');
    await runBootstrap({ config, stateRoot, clock: () => minted });
    const result = await runVerify({ config, stateRoot, offline: true, clock: () => new Date('2026-03-01T00:10:00Z') });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'tsa-leaf g1 (certificate tsa/leaf.crt.pem) expires 2026-03-01T01:00:00Z, before the TUF timestamp does (2026-03-15T00:00:00Z): clients holding it would trust an expired item; run "sigstore-cdk rotate tsa-leaf --env short --at 2026-03-01T01:00:00Z" (or an earlier cut-over)',
      'tsa-leaf g1 (trusted_root.json timestampAuthorities[0].validFor) expires 2026-03-01T01:00:00Z, before the TUF timestamp does (2026-03-15T00:00:00Z): clients holding it would trust an expired item; run "sigstore-cdk rotate tsa-leaf --env short --at 2026-03-01T01:00:00Z" (or an earlier cut-over)',
    ]);
    expect(result.expiry.find((entry) => entry.source === 'certificate tsa/leaf.crt.pem')).toMatchObject({ notAfter: '2026-03-01T01:00:00Z', daysLeft: 0, status: 'expires-before-tuf-timestamp' });
    // The CLI turns a result that is not ok into exit 5 (VERIFY_FAILED): the tests below run it.
  });

  it('refuses a bad renewal window before anything is written, naming the field, the value and what is accepted', () => {
    const error = configError('organization: Test Org\nsigner: local\npki:\n  renewBefore: { tsaLeaf: 90 days }\n');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('pki.renewBefore.tsaLeaf');
    expect(error.message).toContain('90 days');
    expect(error.message).toContain('expected a duration such as "10y", "90d" or "12h"');
  });
});

describe('sigstore-cdk verify: certificate expiry (wall clock injected)', () => {
  const temp = useTempDirectory();
  let envsDir: string;
  let stateRoot: string;

  beforeEach(() => {
    envsDir = join(temp(), 'envs');
    mkdirSync(envsDir);
    writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), 'organization: Test Org\nsigner: local\n');
    stateRoot = copyFixtureState(temp());
  });
  afterEach(() => jest.useRealTimers());

  const cli = (...args: string[]) => runCliCaptured([...args, '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot]);

  it('passes with a warning inside the TSA leaf renewal window, and lists every item in --json', async () => {
    setWallClock('2027-11-01T00:00:00Z');
    expect((await cli('tuf', 'refresh')).code).toBe(0);
    const run = await cli('verify', '--offline', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(expect.arrayContaining([expect.stringContaining('tsa-leaf g1 (certificate tsa/leaf.crt.pem) expires 2028-01-01T00:00:00Z (in 61 days')]));
    expect(result.expiry).toHaveLength(9);
    expect(result.expiry.find((entry: ItemExpiry) => entry.source === 'certificate tsa/leaf.crt.pem')).toMatchObject({ notAfter: '2028-01-01T00:00:00Z', daysLeft: 61, status: 'due' });
    const human = await cli('verify', '--offline');
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/tsa-leaf g1 +: expires 2028-01-01T00:00:00Z \(in 61 days; renewal window 90d\): due/);
  });

  it('fails with exit 5 once the TSA leaf expires before the TUF timestamp, and once it has expired', async () => {
    setWallClock('2027-12-25T00:00:00Z');
    expect((await cli('tuf', 'refresh')).code).toBe(0);
    const before = await cli('verify', '--offline', '--json');
    expect(before.code).toBe(5);
    const report = JSON.parse(before.stdout);
    expect(report.error.code).toBe('VERIFY_FAILED');
    expect(report.result.problems).toEqual([expect.stringContaining('tsa-leaf g1 (certificate tsa/leaf.crt.pem) expires 2028-01-01T00:00:00Z, before the TUF timestamp does')]
      .concat([expect.stringContaining('timestampAuthorities[0].validFor')]));

    setWallClock('2028-01-02T00:00:00Z');
    expect((await cli('tuf', 'refresh')).code).toBe(0);
    const after = await cli('verify', '--offline');
    expect(after.code).toBe(5);
    expect(after.stderr).toContain('tsa-leaf g1 (certificate tsa/leaf.crt.pem) expired 2028-01-01T00:00:00Z');
  });

  it('following the advice settles it: after the rotate verify names, with its cut-over before the expiry, verify passes', async () => {
    setWallClock('2027-12-25T00:00:00Z');
    expect((await cli('tuf', 'refresh')).code).toBe(0);
    const failing = JSON.parse((await cli('verify', '--offline', '--json')).stdout).result;
    const advice = /run "sigstore-cdk (rotate [^"]+)"/.exec(failing.problems[0])?.[1];
    expect(advice).toBe('rotate tsa-leaf --env test --at 2028-01-01T00:00:00Z');
    const rotated = await cli(...advice!.replace(' --env test', '').split(' '));
    expect(rotated.stderr).not.toContain('error [');
    expect(rotated.code).toBe(0);
    const run = await cli('verify', '--offline', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.problems).toEqual([]);
    expect(result.warnings.filter((warning: string) => warning.includes('tsa-leaf'))).toEqual([]);
    const leaves = result.expiry.filter((entry: ItemExpiry) => entry.item === 'tsa-leaf').map((entry: ItemExpiry) => [entry.source, entry.status]);
    expect(leaves).toEqual([
      ['certificate tsa/leaf.crt.pem', 'cut-over-planned'],
      ['certificate tsa/g2/leaf.crt.pem', 'valid'],
      ['trusted_root.json timestampAuthorities[0].validFor', 'superseded'],
      ['trusted_root.json timestampAuthorities[1].validFor', 'valid'],
    ]);
  });

  it('a renewal inside the window (the yearly runbook) stops the "due" warning at once, not only at the cut-over', async () => {
    setWallClock('2027-11-01T00:00:00Z');
    expect((await cli('rotate', 'tsa-leaf', '--at', '2027-11-16T00:00:00Z')).code).toBe(0);
    const result = JSON.parse((await cli('verify', '--offline', '--json')).stdout);
    expect(result.ok).toBe(true);
    expect(result.warnings.filter((warning: string) => warning.includes('tsa-leaf g1'))).toEqual([]);
    expect(result.expiry.find((entry: ItemExpiry) => entry.source === 'certificate tsa/leaf.crt.pem')).toMatchObject({ notAfter: '2028-01-01T00:00:00Z', inUse: true, status: 'cut-over-planned' });
    // A cut-over that has come: the old leaf is superseded.
    setWallClock('2027-11-17T00:00:00Z');
    expect((await cli('tuf', 'refresh')).code).toBe(0);
    const later = JSON.parse((await cli('verify', '--offline', '--json')).stdout);
    expect(later.expiry.find((entry: ItemExpiry) => entry.source === 'certificate tsa/leaf.crt.pem')).toMatchObject({ inUse: false, status: 'superseded' });
  });
});
