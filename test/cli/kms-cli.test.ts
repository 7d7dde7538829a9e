import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured, type CliRun } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';
import { credentialEnvironment, FAKE, FAKE_SECRETS, FULCIO_ALIAS, instantRetries, startEmulator, TSA_ALIAS, TUF_ALIAS, writeKmsEnvironment } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

describe('sigstore-cdk keys ensure / bootstrap with otc-kms', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let envsDir: string;
  let stateDir: string;
  const outputs: string[] = [];

  beforeEach(async () => {
    emulator = await startEmulator();
    envsDir = writeKmsEnvironment(temp(), emulator);
    writeFileSync(join(envsDir, 'dev.yaml'), 'organization: Dev\nsigner: local\n');
    stateDir = join(temp(), '.sigstore');
    outputs.length = 0;
  });
  afterEach(() => emulator.stop());

  async function cli(args: string[], environment: NodeJS.ProcessEnv): Promise<CliRun> {
    const run = await runCliCaptured([...args, '--envs-dir', envsDir], { environment, kms: { http: instantRetries().options } });
    outputs.push(run.stdout, run.stderr);
    return run;
  }

  it('keys ensure creates the root keys, prints their ids, and is idempotent', async () => {
    const first = await cli(['keys', 'ensure', '--env', 'kms', '--json'], credentialEnvironment('access-key'));
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ env: 'kms', region: 'eu-de', projectId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(result.keys.map((key: { root: string; alias: string; keySpec: string; keyUsage: string; created: boolean }) => [key.root, key.alias, key.keySpec, key.keyUsage, key.created])).toEqual([
      ['fulcio', FULCIO_ALIAS, 'EC_P384', 'SIGN_VERIFY', true],
      ['tsa', TSA_ALIAS, 'EC_P384', 'SIGN_VERIFY', true],
      ['tuf', TUF_ALIAS, 'EC_P256', 'SIGN_VERIFY', true],
    ]);
    expect(first.stderr).toContain('as AK/SK from OS_ACCESS_KEY');
    const second = await cli(['keys', 'ensure', '--env', 'kms'], credentialEnvironment('password'));
    expect(second.code).toBe(0);
    for (const key of result.keys) expect(second.stderr).toContain(`${key.root} root key: ${key.keyId} (alias ${key.alias}, ${key.keySpec}, SIGN_VERIFY, enabled) exists`);
    // The three root keys and the state key that seals the state's passwords.
    expect(emulator.listKeys().map((key) => [key.alias, key.keySpec, key.keyUsage])).toEqual([
      ['sigstore-fulcio-root-g1', 'EC_P384', 'SIGN_VERIFY'],
      ['sigstore-tsa-root-g1', 'EC_P384', 'SIGN_VERIFY'],
      ['sigstore-tuf-root-g1', 'EC_P256', 'SIGN_VERIFY'],
      ['sigstore-kms-state', 'AES_256', 'ENCRYPT_DECRYPT'],
    ]);
    expect(second.stderr).toMatch(/state key: [0-9a-f-]{36} \(alias sigstore-kms-state, AES_256, ENCRYPT_DECRYPT, enabled\) exists/);
  });

  it('keys ensure --next fulcio-root also creates the next generation of the Fulcio root key; --next with another value is exit 2', async () => {
    const run = await cli(['keys', 'ensure', '--env', 'kms', '--state-dir', stateDir, '--next', 'fulcio-root', '--json'], credentialEnvironment('access-key'));
    expect(run.code).toBe(0);
    const keys = JSON.parse(run.stdout).keys.map((key: { root: string; alias: string; generation: number; created: boolean }) => [key.root, key.alias, key.generation, key.created]);
    expect(keys).toEqual([
      ['fulcio', FULCIO_ALIAS, 1, true],
      ['tsa', TSA_ALIAS, 1, true],
      ['tuf', TUF_ALIAS, 1, true],
      ['fulcio', 'sigstore-fulcio-root-g2', 2, true],
    ]);
    const human = await cli(['keys', 'ensure', '--env', 'kms', '--state-dir', stateDir, '--next', 'fulcio-root'], credentialEnvironment('access-key'));
    expect(human.stderr).toMatch(/fulcio root key g2: \S+ \(alias sigstore-fulcio-root-g2, EC_P384, SIGN_VERIFY, enabled\) exists/);
    const bad = await cli(['keys', 'ensure', '--env', 'kms', '--state-dir', stateDir, '--next', 'tuf-root'], credentialEnvironment('access-key'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--next "tuf-root": expected fulcio-root or tsa-root');
    expect(emulator.listKeys()).toHaveLength(5); // with the state key
  });

  it('keys ensure names the three aliases it needs before it calls KMS', async () => {
    const run = await cli(['keys', 'ensure', '--env', 'kms'], credentialEnvironment('access-key'));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`root key aliases: fulcio "${FULCIO_ALIAS}" (EC_P384), tsa "${TSA_ALIAS}" (EC_P384), tuf "${TUF_ALIAS}" (EC_P256)`);
  });

  it('keys ensure without the TUF root alias is a configuration error naming all three aliases (exit 2), before any KMS call', async () => {
    // signer: local with an otc section (a cloud-only environment): the schema lets the TUF alias out.
    const yaml = readFileSync(join(envsDir, 'kms.yaml'), 'utf8').replace('signer: otc-kms', 'signer: local').replace(/^ {4}tufRootKeyAlias: .*$/m, '');
    writeFileSync(join(envsDir, 'half.yaml'), yaml);
    const run = await cli(['keys', 'ensure', '--env', 'half', '--json'], credentialEnvironment('access-key'));
    expect(run.code).toBe(2);
    const { error } = JSON.parse(run.stdout);
    expect(error.code).toBe('CONFIG_INVALID');
    for (const text of ['otc.kms.tufRootKeyAlias is not set', 'otc.kms.fulcioRootKeyAlias', FULCIO_ALIAS, 'otc.kms.tsaRootKeyAlias', TSA_ALIAS]) expect(error.message).toContain(text);
    expect(emulator.calls).toEqual([]);
  });

  it('keys ensure refuses a key with the wrong spec (exit 4) and creates nothing', async () => {
    emulator.seedKey({ alias: FULCIO_ALIAS, keySpec: 'EC_P256' });
    const run = await cli(['keys', 'ensure', '--env', 'kms'], credentialEnvironment('access-key'));
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('error [KMS_KEY_UNUSABLE]: refusing the existing root keys; nothing was created');
    expect(run.stderr).toContain('has key spec EC_P256, but otc.kms.keySpec is EC_P384');
    expect(emulator.listKeys()).toHaveLength(1);
  });

  it('keys ensure on an environment without an otc section is a configuration error (exit 2)', async () => {
    const run = await cli(['keys', 'ensure', '--env', 'dev', '--json'], credentialEnvironment('access-key'));
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'CONFIG_OTC_MISSING', message: expect.stringContaining('environment "dev" has no "otc" section') });
  });

  it('bootstrap mints through KMS, warns about retries on stderr, and --json reports the minted items', async () => {
    await cli(['keys', 'ensure', '--env', 'kms'], credentialEnvironment('access-key'));
    emulator.inject({ api: 'sign', status: 429 });
    const run = await cli(['bootstrap', '--env', 'kms', '--state-dir', stateDir, '--json'], credentialEnvironment('access-key'));
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ env: 'kms', stateWritten: true });
    expect(result.minted.slice(0, 8)).toEqual(['kms-data-key', 'fulcio-root', 'fulcio-intermediate', 'tsa-root', 'tsa-intermediate', 'tsa-leaf', 'ctlog-key', 'rekor-key']);
    expect(result.minted).toContain('tuf-root-v1');
    expect(run.stderr).toMatch(/root keys: OTC KMS \(eu-de, project [0-9a-f]{32}\) at http:\/\/127\.0\.0\.1:\d+, as AK\/SK from OS_ACCESS_KEY/);
    expect(run.stderr).toMatch(/warning: KMS sign: HTTP 429; retrying in \d+\.\d s \(attempt 2 of 4\)/);
    expect(run.stderr).toContain('✓ mint fulcio-root');
    // synth signs nothing, but the Secrets need the keys' passwords, which open only through KMS (decrypt-datakey).
    const withoutCredentials = await cli(['synth', '--env', 'kms', '--state-dir', stateDir, '--out', join(temp(), 'dist')], {});
    expect(withoutCredentials.code).toBe(4);
    expect(withoutCredentials.stderr).toContain('error [OTC_CREDENTIALS_MISSING]');
    expect(existsSync(join(temp(), 'dist'))).toBe(false);
    const signsBefore = emulator.callCounts()['kms sign'];
    const synthRun = await cli(['synth', '--env', 'kms', '--state-dir', stateDir, '--out', join(temp(), 'dist')], credentialEnvironment('access-key'));
    expect(synthRun.code).toBe(0);
    expect(emulator.callCounts()['kms sign']).toBe(signsBefore);
    expect(emulator.callCounts()['kms decrypt-datakey']).toBe(1);
  });

  it('bootstrap without KMS credentials fails clearly (exit 4) and writes nothing: no state, no dist', async () => {
    const outDir = join(temp(), 'dist');
    mkdirSync(join(outDir, 'trust'), { recursive: true });
    writeFileSync(join(outDir, 'trust', 'trusted_root.json'), '{"previous":true}');
    const before = { state: treeContents(stateDir), dist: treeContents(outDir) };
    const run = await cli(['bootstrap', '--env', 'kms', '--state-dir', stateDir], { OS_PROJECT_ID: '1'.repeat(32) });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('error [OTC_CREDENTIALS_MISSING]: no OTC credentials in the environment: set OS_ACCESS_KEY and OS_SECRET_KEY');
    expect({ state: treeContents(stateDir), dist: treeContents(outDir) }).toEqual(before);
    expect(before.state).toEqual({}); // the state root was not even created
    expect(emulator.calls).toEqual([]);
    // synth never mints with KMS: it refuses and leaves dist/ alone.
    const synthRun = await cli(['synth', '--env', 'kms', '--state-dir', stateDir, '--out', outDir], {});
    expect(synthRun.code).toBe(3);
    expect(synthRun.stderr).toContain('STATE_MISSING_ROOTS');
    expect(treeContents(outDir)).toEqual(before.dist);
    expect(treeContents(join(stateDir, 'kms'))).toEqual({});
  });

  it('never shows a credential: not in output, errors, --json, state, ceremony log or dist', async () => {
    const withPassword = credentialEnvironment('password');
    // Successful runs, with every credential kind.
    expect((await cli(['keys', 'ensure', '--env', 'kms', '--json'], withPassword)).code).toBe(0);
    expect((await cli(['keys', 'ensure', '--env', 'kms', '--json'], credentialEnvironment('temporary-access-key'))).code).toBe(0);
    expect((await cli(['bootstrap', '--env', 'kms', '--state-dir', stateDir, '--json'], credentialEnvironment('access-key'))).code).toBe(0);
    expect((await cli(['bootstrap', '--env', 'kms', '--state-dir', stateDir], withPassword)).code).toBe(0);
    expect((await cli(['synth', '--env', 'kms', '--state-dir', stateDir, '--out', join(temp(), 'dist'), '--json'], withPassword)).code).toBe(0);
    // Failures: a wrong secret key, a wrong password, a refused temporary token, throttling to the end.
    const wrongSecret = await cli(['keys', 'ensure', '--env', 'kms', '--json'], { ...credentialEnvironment('access-key'), OS_SECRET_KEY: `${FAKE.secretKey}-x` });
    expect(wrongSecret.code).toBe(4);
    const wrongPassword = await cli(['keys', 'ensure', '--env', 'kms'], { ...withPassword, OS_PASSWORD: `${FAKE.password}-x` });
    expect(wrongPassword.code).toBe(4);
    const wrongToken = { ...credentialEnvironment('temporary-access-key'), OS_SECURITY_TOKEN: `${FAKE.securityToken}-x` };
    expect((await cli(['keys', 'ensure', '--env', 'kms'], wrongToken)).code).toBe(4);
    emulator.inject({ api: 'list-keys', status: 429, times: 10 });
    expect((await cli(['keys', 'ensure', '--env', 'kms', '--json'], withPassword)).code).toBe(4);

    const files = [...listFiles(stateDir), ...listFiles(join(temp(), 'dist'))];
    expect(files.some((file) => file.endsWith('ceremony.jsonl'))).toBe(true);
    const haystack = [...outputs, ...files.map((file) => readFileSync(file, 'utf8'))].join('\n');
    for (const secret of FAKE_SECRETS) expect(haystack).not.toContain(secret);
    expect(haystack).toContain('OTC_AUTH_FAILED'); // the failures were reported, just without the values
  });
});

function listFiles(directory: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
