import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSmoke } from '../../lib/commands/smoke';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { runCliCaptured, type CliRun } from '../helpers/cli';
import { runCliProcess } from '../helpers/cli-process';
import { configFromYaml } from '../helpers/config';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { FIXTURE_ENV } from '../helpers/fixture-state';
import { fakeIdentityToken, SMOKE_ENV_YAML, startStandIns, type StandIns } from '../helpers/sigstore-stand-ins';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * `sigstore-cdk smoke` against loopback stand-ins of Fulcio, the TSA, Rekor and the TUF repository
 * that sign with the state's own intermediate and keys: trust comes from TUF (the state's
 * 1.root.json), the bundle is made by sigstore-js's signer and verified by @sigstore/verify with the
 * CT log's SCT, the timestamp and the Rekor entry all required.
 */
/** Asserts a smoke run that passed every step, in order, with nothing on stderr naming an error; returns its --json result. */
function expectGreenSmoke(run: CliRun) {
  expect(run.stderr).not.toContain('error');
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout);
  expect(result.ok).toBe(true);
  expect(result.steps.map((step: { component: string; ok: boolean }) => `${step.component}:${step.ok}`)).toEqual(['tuf:true', 'fulcio:true', 'tsa:true', 'rekor:true', 'verify:true']);
  return result;
}

const ENV_YAML = SMOKE_ENV_YAML;

/** The fixture's environment on its way from Rekor v1 to Rekor v2 (`rotate rekor-log` needs the tree ids pinned). */
const MIGRATING_ENV_YAML = `${ENV_YAML.replace('  tuf: { hostname: tuf.example.com }\n', '  tuf: { hostname: tuf.example.com }\n  trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }\n')}logs: { rekor: v2 }
`;

/** The same environment with both logs on tiles (envs/tiles.example.yaml): Rekor v2 and TesseraCT. */
const TILES_ENV_YAML = `${ENV_YAML}logs: { rekor: v2, ct: tesseract }
`;

describe('sigstore-cdk smoke', () => {
  const temp = useTempDirectory();
  let standIns: StandIns | undefined;
  afterEach(async () => {
    await standIns?.close();
    standIns = undefined;
  });

  /**
   * Writes the environment, synthesizes it (minting the state when `copyFixture` is false) and returns where it went.
   * `copyFixture`: the fixture state, minted relative to now (the stand-ins sign at the wall clock, so the
   * committed fixture's TSA leaf, which expires 2028-01-01, would fail the timestamp then).
   */
  async function synthesize(
    root: string,
    envYaml: string,
    copyFixture: boolean,
    beforeSynth?: (envsDir: string, stateRoot: string) => Promise<void>,
  ): Promise<{ envsDir: string; stateRoot: string; dist: string }> {
    const envsDir = join(root, 'envs');
    mkdirSync(envsDir);
    writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), envYaml);
    const stateRoot = copyFixture ? await mintAgedFixtureState(root) : join(root, '.sigstore');
    const dist = join(root, 'dist');
    await beforeSynth?.(envsDir, stateRoot);
    // synth publishes the TUF targets for these hostnames (and re-signs the expired fixture roles).
    const synth = await runCliCaptured(['synth', '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--out', dist]);
    expect(synth.stderr).not.toContain('error');
    expect(synth.code).toBe(0);
    return { envsDir, stateRoot, dist };
  }

  /** Stand-ins signing with the state's keys, and the smoke arguments that point at them. */
  async function standInsFor(deployed: { envsDir: string; stateRoot: string; dist: string }, ctLog: 'ct_server' | 'tesseract' = 'ct_server') {
    const { envsDir, stateRoot, dist } = deployed;
    const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load());
    standIns = await startStandIns({ material, tufDirectory: join(dist, 'trust', 'tuf'), rekorOrigin: 'rekor.example.com', ctLog });
    const tokenFile = join(temp(), 'token');
    writeFileSync(tokenFile, `${fakeIdentityToken('smoke@example.com')}\n`, { mode: 0o600 });
    const { urls } = standIns;
    const args = (...extra: string[]) => [
      'smoke', '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--token-file', tokenFile,
      '--fulcio-url', urls.fulcio, '--tsa-url', urls.tsa, '--rekor-url', urls.rekor, '--tuf-url', urls.tuf, ...extra,
    ];
    return { args, standIns };
  }

  /** The fixture state (Rekor v1, ct_server), synthesized for ENV_YAML, with stand-ins. */
  async function deploy(): Promise<{ args: (...extra: string[]) => string[]; standIns: StandIns }> {
    return standInsFor(await synthesize(temp(), ENV_YAML, true));
  }

  it('bootstraps trust from TUF, signs with Fulcio, the TSA and Rekor, and verifies with @sigstore/verify; each step timed', async () => {
    const { args, standIns } = await deploy();
    const run = await runCliCaptured(args('--json'));
    const result = expectGreenSmoke(run);
    for (const step of result.steps) expect(step.ms).toEqual(expect.any(Number));
    expect(result.identity).toEqual({ subjectAlternativeName: 'smoke@example.com', issuer: 'https://issuer.example.com' });
    expect(run.stderr).toMatch(/✓ tuf: bootstrap trust from 1\.root\.json of the state[^\n]*\(\d+ ms\)/);
    expect(run.stderr).toMatch(/✓ verify: verify the bundle[^\n]*\(\d+ ms\)/);
    expect(standIns.requests).toEqual(expect.arrayContaining(['POST /fulcio/api/v2/signingCert', 'POST /tsa/api/v1/timestamp', 'POST /rekor/api/v1/log/entries', 'GET /tuf/timestamp.json']));
    expect(standIns.requests).not.toContain('POST /rekor/api/v2/log/entries');
    expect(result.steps.find((step: { component: string }) => step.component === 'rekor').step).toBe('hashedrekord entry in the log through API v1');
    // The token is a secret: never printed.
    expect(run.stdout + run.stderr).not.toContain(fakeIdentityToken('smoke@example.com').split('.')[1]);
  });

  describe('an environment on tiles (logs.rekor v2, logs.ct tesseract)', () => {
    // One state minted for the describe (a published Rekor v1 state cannot switch by configuration); smoke writes nothing.
    let root: string;
    let tiles: { envsDir: string; stateRoot: string; dist: string };
    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'sigstore-cdk-smoke-tiles-'));
      tiles = await synthesize(root, TILES_ENV_YAML, false);
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('logs.rekor v2 (rekor-tiles, with TesseraCT): writes through API v2 and verifies the entry (checkpoint by the Rekor v2 key) with the timestamp', async () => {
      const { args, standIns } = await standInsFor(tiles, 'tesseract');
      const result = expectGreenSmoke(await runCliCaptured(args('--json')));
      expect(result.steps.find((step: { component: string }) => step.component === 'rekor')).toMatchObject({ step: 'hashedrekord entry in the log through API v2', url: standIns.urls.rekor });
      expect(result.identity).toEqual({ subjectAlternativeName: 'smoke@example.com', issuer: 'https://issuer.example.com' });
      expect(standIns.requests).toEqual(expect.arrayContaining(['POST /fulcio/api/v2/signingCert', 'POST /tsa/api/v1/timestamp', 'POST /rekor/api/v2/log/entries']));
      expect(standIns.requests).not.toContain('POST /rekor/api/v1/log/entries');
    });

    it('logs.rekor v2: a failing Rekor v2 is exit 6, SMOKE_REKOR_FAILED, naming API v2 and the URL', async () => {
      const { args, standIns } = await standInsFor(tiles, 'tesseract');
      standIns.fail('rekor');
      const run = await runCliCaptured(args('--json'));
      expect(run.code).toBe(6);
      const { error } = JSON.parse(run.stdout);
      expect(error.code).toBe('SMOKE_REKOR_FAILED');
      expect(error.message).toContain(`rekor failed: hashedrekord entry in the log through API v2 at ${standIns.urls.rekor}`);
      expect(standIns.requests).toContain('POST /rekor/api/v2/log/entries');
    });
  });

  it('after rotate rekor-log: Rekor v1 until the cut-over, Rekor v2 (API v2) from it, each entry verified against the published trust', async () => {
    const cutOver = new Date(Date.now() + 24 * 60 * 60 * 1000);
    const deployed = await synthesize(temp(), MIGRATING_ENV_YAML, true, async (envsDir, stateRoot) => {
      const rotate = await runCliCaptured(['rotate', 'rekor-log', '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--at', cutOver.toISOString(), '--overlap', '1d']);
      expect(rotate.stderr).not.toMatch(/error \[/);
      expect(rotate.code).toBe(0);
    });
    const { args, standIns } = await standInsFor(deployed);
    const before = await runCliCaptured(args('--json'));
    expect(before.stderr).not.toContain('error');
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).steps.find((step: { component: string }) => step.component === 'rekor').step).toBe('hashedrekord entry in the log through API v1');
    expect(standIns.requests).toContain('POST /rekor/api/v1/log/entries');
    expect(standIns.requests).not.toContain('POST /rekor/api/v2/log/entries');

    // From the cut-over on (an injected "now"; certificates and timestamps keep the wall clock).
    standIns.requests.length = 0;
    const { urls } = standIns;
    const after = await runSmoke({
      config: configFromYaml(MIGRATING_ENV_YAML, FIXTURE_ENV),
      stateRoot: deployed.stateRoot,
      identityToken: fakeIdentityToken('smoke@example.com'),
      urls: { fulcio: urls.fulcio, tsa: urls.tsa, rekor: urls.rekor, tuf: urls.tuf },
      clock: () => new Date(cutOver.getTime() + 60 * 60 * 1000),
    });
    expect(after.ok).toBe(true);
    expect(after.steps.map((step) => `${step.component}:${step.ok}`)).toEqual(['tuf:true', 'fulcio:true', 'tsa:true', 'rekor:true', 'verify:true']);
    expect(after.steps.find((step) => step.component === 'rekor')?.step).toBe('hashedrekord entry in the log through API v2');
    expect(standIns.requests).toContain('POST /rekor/api/v2/log/entries');
    expect(standIns.requests).not.toContain('POST /rekor/api/v1/log/entries');
  });

  it.each([
    ['fulcio', 'SMOKE_FULCIO_FAILED'],
    ['tsa', 'SMOKE_TSA_FAILED'],
    ['rekor', 'SMOKE_REKOR_FAILED'],
    ['tuf', 'SMOKE_TUF_FAILED'],
  ] as const)('a failing %s: exit 6 with %s, the component and its URL named', async (component, code) => {
    const { args, standIns } = await deploy();
    standIns.fail(component);
    const run = await runCliCaptured(args('--json'));
    expect(run.code).toBe(6);
    const { error, result } = JSON.parse(run.stdout);
    expect(error.code).toBe(code);
    expect(error.message).toContain(`${component} failed:`);
    expect(error.message).toContain(standIns.urls[component]);
    expect(result.steps.at(-1)).toMatchObject({ component, ok: false });
  });

  it('a certificate from another CA fails verification (exit 6, SMOKE_VERIFY_FAILED): the check is real', async () => {
    const { args } = await deploy();
    // Stand-ins that sign with another environment's keys (a freshly minted state), while TUF serves this one's trust.
    const otherRoot = join(temp(), 'other');
    mkdirSync(join(otherRoot, 'envs'), { recursive: true });
    writeFileSync(join(otherRoot, 'envs', 'other.yaml'), ENV_YAML);
    const other = await runCliCaptured(['synth', '--env', 'other', '--envs-dir', join(otherRoot, 'envs'), '--state-dir', join(otherRoot, '.sigstore'), '--out', join(otherRoot, 'dist')]);
    expect(other.code).toBe(0);
    const otherMaterial = await readPkiMaterial(await new StateStore({ root: join(otherRoot, '.sigstore'), env: 'other' }).load());
    const impostor = await startStandIns({ material: otherMaterial, tufDirectory: join(temp(), 'dist', 'trust', 'tuf'), rekorOrigin: 'rekor.example.com' });
    try {
      const base = args('--json');
      const swapped = base.map((value) => value.replace(/http:\/\/127\.0\.0\.1:\d+/, impostor.url));
      const run = await runCliCaptured(swapped);
      expect(run.code).toBe(6);
      expect(JSON.parse(run.stdout).error.code).toBe('SMOKE_VERIFY_FAILED');
    } finally {
      await impostor.close();
    }
  });

  it('as a process: the exit code is 6 and the error line names the component', async () => {
    const { args, standIns } = await deploy();
    standIns.fail('rekor');
    const run = await runCliProcess(args(), { cwd: temp() });
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/error \[SMOKE_REKOR_FAILED\]: rekor failed: hashedrekord entry in the log through API v1 at http:\/\/127\.0\.0\.1:\d+\/rekor/);
  });
});
