import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured, type CliRun } from '../helpers/cli';
import { changedPodTemplates } from '../helpers/pod-templates';
import { synthFromState } from '../../lib/synth';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { serveDirectory } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { TufTestClient } from '../helpers/tuf-client';
import { credentialEnvironment, instantRetries, startEmulator, writeKmsEnvironment } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

/*
 * dist/trust/ is built from the configuration, the TUF repository from the state: after a change of
 * hostname or issuer the two must never disagree while synth exits 0. A TUF client (tuf-js) reads
 * what clients would get; it must be the bytes of dist/trust/trusted_root.json.
 */

/** What a TUF client gets for trusted_root.json from dist/trust/tuf/, trusting dist/trust/tuf/1.root.json. */
async function trustedRootThroughTuf(dist: string, cache: string): Promise<Buffer> {
  const server = await serveDirectory(join(dist, 'trust', 'tuf'));
  try {
    return await new TufTestClient(server.url, cache, join(dist, 'trust', 'tuf', '1.root.json')).fetchTarget('trusted_root.json');
  } finally {
    await server.close();
  }
}

describe('synth keeps dist/trust and the TUF targets consistent (local signer: it refreshes the targets itself)', () => {
  const temp = useTempDirectory();
  const env = (yaml: string) => writeFileSync(join(temp(), 'envs', `${FIXTURE_ENV}.yaml`), `organization: Test Org\nsigner: local\n${yaml}`);
  const synth = (...extra: string[]) =>
    runCliCaptured(['synth', '--env', FIXTURE_ENV, '--envs-dir', join(temp(), 'envs'), '--state-dir', join(temp(), '.sigstore'), '--out', join(temp(), 'dist'), ...extra]);

  beforeEach(() => {
    mkdirSync(join(temp(), 'envs'));
    copyFixtureState(temp());
  });

  it.each([
    ['a new hostname', 'services:\n  rekor: { hostname: rekor.example.com }\n'],
    ['a new OIDC issuer', 'oidc:\n  issuers:\n    - { url: https://issuer.example.com }\n'],
  ])('%s: synth publishes new targets, and a TUF client gets the bytes of dist/trust/trusted_root.json', async (_what, yaml) => {
    env('');
    expect((await synth()).code).toBe(0);
    env(yaml);
    const run = await synth('--json');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/the trust targets changed \(hostnames, OIDC issuers or keys\): published [^\n]*targets v2/);
    expect(JSON.parse(run.stdout).tufPublished).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'targets', version: 2 })]));
    const dist = join(temp(), 'dist');
    expect(await trustedRootThroughTuf(dist, join(temp(), 'cache'))).toEqual(readFileSync(join(dist, 'trust', 'trusted_root.json')));
    // The state agrees too: verify finds current targets.
    const verify = await runCliCaptured(['verify', '--env', FIXTURE_ENV, '--envs-dir', join(temp(), 'envs'), '--state-dir', join(temp(), '.sigstore'), '--json']);
    expect(JSON.parse(verify.stdout).tuf.targetsCurrent).toBe(true);
  });

  it('onboarding a tenant (one new issuer): the new manifests roll Fulcio (its config) and the TUF server (the new targets), no other pod', async () => {
    env('oidc:\n  tenants:\n    - name: acme\n      issuers: [{ url: https://login.acme.example }]\n');
    expect((await synth()).code).toBe(0);
    const manifest = () => readFileSync(join(temp(), 'dist', 'sigstore.k8s.yaml'), 'utf8');
    const before = manifest();
    env('oidc:\n  tenants:\n    - name: acme\n      issuers: [{ url: https://login.acme.example }]\n    - name: initech\n      issuers: [{ url: https://login.initech.example }]\n');
    expect((await synth()).code).toBe(0);
    expect(manifest()).toContain('https://login.initech.example');
    // Not Fulcio alone: the issuers are in the signing config, a TUF target, so the TUF server's repository changes too.
    expect(changedPodTemplates(before, manifest())).toEqual(['Deployment/fulcio', 'Deployment/tuf']);
  });

  it('the cdk8s app, which only reads the state, refuses stale targets and names the synth that refreshes them (exit 3)', async () => {
    env('');
    expect((await synth()).code).toBe(0);
    const config = fixtureConfig('services:\n  rekor: { hostname: rekor.example.com }\n');
    await expect(synthFromState({ config, stateRoot: join(temp(), '.sigstore'), outDir: join(temp(), 'dist') })).rejects.toMatchObject({
      code: 'TUF_TARGETS_STALE',
      exitCode: 3,
      message: expect.stringContaining('run "sigstore-cdk synth --env test"'),
    });
  });

  it('reports the settings minted certificates cannot take (organization, validity), in the output and in --json', async () => {
    writeFileSync(join(temp(), 'envs', `${FIXTURE_ENV}.yaml`), 'organization: Renamed Org\nsigner: local\npki:\n  fulcio: { intermediateValidity: 3y }\n');
    const run = await synth('--json');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'warning: organization is "Renamed Org", but the minted Fulcio root, Fulcio intermediate, TSA root, TSA intermediate, TSA leaf carry "Test Org": ' +
        'minted certificates are never re-minted, so the setting takes effect only with a rotation',
    );
    expect(run.stderr).toMatch(/warning: pki\.fulcio\.intermediateValidity is 3y, but the minted Fulcio intermediate carries valid \S+ to \S+/);
    const { settingsNotApplied } = JSON.parse(run.stdout);
    expect(settingsNotApplied.map((setting: { field: string; certificate: string }) => `${setting.field}: ${setting.certificate}`).sort()).toEqual([
      'organization: Fulcio intermediate',
      'organization: Fulcio root',
      'organization: TSA intermediate',
      'organization: TSA leaf',
      'organization: TSA root',
      'pki.fulcio.intermediateValidity: Fulcio intermediate',
    ]);
    // The configuration that minted the state reports nothing.
    env('');
    expect(JSON.parse((await synth('--json')).stdout).settingsNotApplied).toEqual([]);
  });
});

describe('with the KMS signer synth never signs: stale targets exit 3 with the command to run', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  beforeEach(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => emulator.stop());

  it('a hostname change: TUF_TARGETS_STALE naming "tuf refresh", dist/ not written; after tuf refresh synth agrees with the TUF client', async () => {
    const envsDir = writeKmsEnvironment(temp(), emulator);
    const cli = (args: string[], environment: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
      runCliCaptured([...args, '--env', 'kms', '--envs-dir', envsDir, ...(args[0] === 'keys' ? [] : ['--state-dir', join(temp(), '.sigstore')])], {
        environment,
        kms: { http: instantRetries().options },
      });
    expect((await cli(['keys', 'ensure'], credentialEnvironment('access-key'))).code).toBe(0);
    expect((await cli(['bootstrap'], credentialEnvironment('access-key'))).code).toBe(0);
    writeKmsEnvironment(temp(), emulator, 'kms', 'services:\n  tsa: { hostname: tsa.example.com }\n');
    const dist = join(temp(), 'dist');

    // synth signs nothing; it opens the state's sealed passwords (decrypt-datakey), so it needs credentials.
    const stale = await cli(['synth', '--out', dist, '--json'], credentialEnvironment('access-key'));
    expect(stale.code).toBe(3);
    const { error } = JSON.parse(stale.stdout);
    expect(error.code).toBe('TUF_TARGETS_STALE');
    expect(error.message).toContain('run "sigstore-cdk tuf refresh --env kms", then "sigstore-cdk synth --env kms"');
    expect(existsSync(dist)).toBe(false);

    // The targets key is an online key in the state: the refresh signs nothing in KMS (the root is not due);
    // it only decrypts the state's data key, which its sealed password opens under.
    const callsBefore = emulator.calls.length;
    expect((await cli(['tuf', 'refresh'], credentialEnvironment('access-key'))).code).toBe(0);
    expect(emulator.calls.slice(callsBefore).map((call) => call.api)).toEqual(['decrypt-datakey']);
    expect((await cli(['synth', '--out', dist], credentialEnvironment('access-key'))).code).toBe(0);
    expect(await trustedRootThroughTuf(dist, join(temp(), 'cache'))).toEqual(readFileSync(join(dist, 'trust', 'trusted_root.json')));
  });
});
