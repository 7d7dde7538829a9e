import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { runCliCaptured } from '../helpers/cli';
import { mintAgedFixtureState } from '../helpers/aged-state';
import { FIXTURE_ENV } from '../helpers/fixture-state';
import { fakeIdentityToken, SMOKE_ENV_YAML, startStandIns, type StandIns } from '../helpers/sigstore-stand-ins';

/*
 * Where `smoke` takes its OIDC identity token from (issue 12: `--identity-token TOKEN | --token-file F`):
 * --token-file, else --identity-token, else SIGSTORE_ID_TOKEN. Which one was used is visible in the
 * certificate's SAN, which the stand-in Fulcio takes from the token's email. One deployment (a synth
 * of the fixture state, the stand-ins) for the whole file. The stand-ins sign at the wall clock: the
 * fixture state is minted relative to now (the committed one's TSA leaf expires 2028-01-01).
 */
const ENV_YAML = SMOKE_ENV_YAML;

let directory: string;
let standIns: StandIns;
let smokeArgs: string[];
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-smoke-token-'));
  const envsDir = join(directory, 'envs');
  mkdirSync(envsDir);
  writeFileSync(join(envsDir, `${FIXTURE_ENV}.yaml`), ENV_YAML);
  const stateRoot = await mintAgedFixtureState(directory);
  const dist = join(directory, 'dist');
  const synth = await runCliCaptured(['synth', '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--out', dist]);
  expect(synth.code).toBe(0);
  const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load());
  standIns = await startStandIns({ material, tufDirectory: join(dist, 'trust', 'tuf'), rekorOrigin: 'rekor.example.com' });
  const { urls } = standIns;
  smokeArgs = ['smoke', '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot, '--fulcio-url', urls.fulcio, '--tsa-url', urls.tsa, '--rekor-url', urls.rekor, '--tuf-url', urls.tuf, '--json'];
});
afterAll(async () => {
  await standIns?.close();
  rmSync(directory, { recursive: true, force: true });
});

function tokenFile(email: string): string {
  const path = join(directory, `token-${email}`);
  writeFileSync(path, `${fakeIdentityToken(email)}\n`, { mode: 0o600 });
  return path;
}

/** smoke with these extra arguments and environment: the SAN of its certificate, or its error. */
async function smoke(extra: string[], environment: NodeJS.ProcessEnv = {}): Promise<{ code: number; san?: string; error?: { code: string; message: string }; output: string }> {
  const run = await runCliCaptured([...smokeArgs, ...extra], { environment });
  const result = JSON.parse(run.stdout);
  return { code: run.code, san: result.identity?.subjectAlternativeName, error: result.error, output: run.stdout + run.stderr };
}

describe('smoke: the identity token', () => {
  it('--identity-token TOKEN: signs as that identity, and the token is never printed', async () => {
    const token = fakeIdentityToken('argument@example.com');
    const run = await smoke(['--identity-token', token]);
    expect({ code: run.code, san: run.san }).toEqual({ code: 0, san: 'argument@example.com' });
    expect(run.output).not.toContain(token.split('.')[1]);
  });

  it('--token-file wins over --identity-token, which wins over SIGSTORE_ID_TOKEN', async () => {
    const environment = { SIGSTORE_ID_TOKEN: fakeIdentityToken('environment@example.com') };
    expect((await smoke(['--token-file', tokenFile('file@example.com'), '--identity-token', fakeIdentityToken('argument@example.com')], environment)).san).toBe('file@example.com');
    expect((await smoke(['--identity-token', fakeIdentityToken('argument@example.com')], environment)).san).toBe('argument@example.com');
    expect((await smoke([], environment)).san).toBe('environment@example.com');
  });

  it('without a token, or with one that is not a JWT: exit 2 naming where it came from, before any request; the value is not echoed', async () => {
    const before = standIns.requests.length;
    const none = await smoke([]);
    expect(none.code).toBe(2);
    expect(none.error).toEqual({ code: 'CONFIG_INVALID', message: expect.stringContaining('--token-file <file>, --identity-token <token> or SIGSTORE_ID_TOKEN') });
    const garbled = await smoke(['--identity-token', 'not-a-token-secret-value']);
    expect(garbled.code).toBe(2);
    expect(garbled.error?.message).toContain('--identity-token is not an OIDC identity token');
    expect(garbled.output).not.toContain('not-a-token-secret-value');
    const unreadable = await smoke(['--token-file', join(directory, 'no-such-token')]);
    expect({ code: unreadable.code, error: unreadable.error?.code }).toEqual({ code: 2, error: 'CONFIG_UNREADABLE' });
    expect(standIns.requests.length).toBe(before);
  });
});
