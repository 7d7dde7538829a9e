import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rotateTufRoot } from '../../lib/commands/rotate-tuf-root';
import type { SigstoreConfig } from '../../lib/config/schema';
import { encryptPrivateKey, generateEcKeyPair } from '../../lib/pki/keys';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { runVerify } from '../../lib/verify';
import { setWallClock } from '../helpers/fake-date';
import { configFromYaml } from '../helpers/config';
import { copyFixtureState, FIXTURE_CLOCK, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { serveDirectory, type StaticServer } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { TufTestClient } from '../helpers/tuf-client';

/*
 * `rotate tuf-root` on the fixture state (local signer; repository signed 2026-01-01, root v1 by
 * signer/tuf-root.key.pem), checked by tuf-js, the client sigstore-js uses, starting from the v1
 * metadata it was initialized with. tuf-js judges expiry by `new Date()`, so each step sets the wall clock.
 */
describe('rotate tuf-root: a client holding v1 follows the chain', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let server: StaticServer;

  const tufDir = () => join(temp(), 'dist', 'trust', 'tuf');
  const publish = (config: SigstoreConfig, clock = FIXTURE_CLOCK) => synth({ config, stateRoot, outDir: join(temp(), 'dist'), clock });
  const rotate = (config: SigstoreConfig, iso: string) => rotateTufRoot({ config, stateRoot, at: new Date(iso) });
  const newClient = (trustedRoot: string, name = 'client') => new TufTestClient(server.url, join(temp(), name), trustedRoot);
  const rootJson = (version: number) => JSON.parse(readFileSync(join(tufDir(), `${version}.root.json`), 'utf8'));
  const v1Copy = () => {
    const path = join(temp(), 'trusted-1.root.json');
    writeFileSync(path, readFileSync(join(tufDir(), '1.root.json')));
    return path;
  };

  beforeEach(async () => {
    stateRoot = copyFixtureState(temp());
    await publish(fixtureConfig());
    server = await serveDirectory(tufDir());
  });
  afterEach(async () => {
    jest.useRealTimers();
    await server.close();
  });

  it('to a new local key: v2 is signed by the old key and the new, tuf-js walks 1 -> 2 and then follows a targets change', async () => {
    const trusted = v1Copy();
    setWallClock('2026-01-02T00:00:00Z');
    const client = newClient(trusted);
    await client.fetchTarget('trusted_root.json');

    const config = fixtureConfig('tuf:\n  root:\n    keys: [{ local: tuf-root-g2 }]\n');
    const result = await rotate(config, '2026-01-03T00:00:00Z');
    expect(result.rotation.from).toMatchObject({ version: 1, generation: 1, threshold: 1, keys: [{ keyRef: 'local:signer/tuf-root.key.pem' }] });
    expect(result.rotation.to).toMatchObject({ version: 2, generation: 2, threshold: 1, keys: [{ keyRef: 'local:signer/tuf-root-g2.key.pem' }], expires: '2027-01-03T00:00:00Z' });
    expect(result.rotation.signedBy).toEqual(['local:signer/tuf-root.key.pem', 'local:signer/tuf-root-g2.key.pem']);
    expect(result.published.map((entry) => `${entry.role} v${entry.version}`)).toEqual(['root v2']);
    expect(result.deploy[0]).toContain('sigstore-cdk synth --env test');
    expect(result.deploy.join('\n')).toContain('dist/trust/tuf/');

    // The manifest records both generations; generation 1 is still rootKeys.tuf.
    const manifest = JSON.parse(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8'));
    expect(manifest.rootKeys.tuf.keyRef).toBe('local:signer/tuf-root.key.pem');
    expect(manifest.tufRootKeyGenerations.map((generation: { generation: number; firstVersion: number; keys: { keyRef: string }[] }) => [generation.generation, generation.firstVersion, generation.keys.map((key) => key.keyRef)])).toEqual([
      [1, 1, ['local:signer/tuf-root.key.pem']],
      [2, 2, ['local:signer/tuf-root-g2.key.pem']],
    ]);

    await publish(config);
    const v2 = rootJson(2);
    const [oldKeyId] = rootJson(1).signed.roles.root.keyids;
    expect(v2.signed.roles.root.keyids).toHaveLength(1);
    expect(v2.signed.roles.root.keyids[0]).not.toBe(oldKeyId);
    expect(v2.signatures.map((signature: { keyid: string }) => signature.keyid).sort()).toEqual([oldKeyId, v2.signed.roles.root.keyids[0]].sort());
    expect(readFileSync(join(tufDir(), 'root.json'), 'utf8')).toBe(readFileSync(join(tufDir(), '2.root.json'), 'utf8'));

    // verify walks the chain from 1.root.json; the state's custody accepts the rotated root.
    const verified = await runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') });
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.tuf.root).toEqual({ version: 2, generation: 2, threshold: 1, keys: ['local:signer/tuf-root-g2.key.pem'] });

    setWallClock('2026-01-03T00:00:00Z');
    server.requests.length = 0;
    await client.fetchTarget('trusted_root.json');
    expect(server.requests.slice(0, 2)).toEqual(['/2.root.json', '/3.root.json']);
    expect(JSON.parse(readFileSync(join(client.metadataDir, 'root.json'), 'utf8')).signed.version).toBe(2);

    // A targets change after the rotation: the online keys are unchanged, the client gets the new bytes.
    const moved = fixtureConfig('tuf:\n  root:\n    keys: [{ local: tuf-root-g2 }]\nservices:\n  fulcio: { hostname: fulcio.example.com }\n');
    const refreshed = await runTufRefresh({ config: moved, stateRoot, clock: () => new Date('2026-01-04T00:00:00Z') });
    expect(refreshed.published.map((entry) => `${entry.role} v${entry.version}`)).toEqual(['targets v2', 'snapshot v2', 'timestamp v2']);
    await publish(moved);
    setWallClock('2026-01-04T00:00:00Z');
    const trustedRoot = await client.fetchTarget('trusted_root.json');
    expect(trustedRoot.equals(readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json')))).toBe(true);
    expect(trustedRoot.toString()).toContain('https://fulcio.example.com');

    // A fresh client initialized with v1 walks the whole chain too.
    const fresh = await newClient(trusted, 'fresh').fetchTarget('trusted_root.json');
    expect(fresh.equals(trustedRoot)).toBe(true);

    // The root due in a year is re-signed by generation 2's key, not the retired one.
    const dueRoot = await runTufRefresh({ config: moved, stateRoot, clock: () => new Date('2026-11-01T00:00:00Z') });
    expect(dueRoot.published[0]).toMatchObject({ role: 'root', version: 3 });
    const store = new StateStore({ root: stateRoot, env: FIXTURE_ENV });
    expect((await store.load()).item('tuf-root-v3')?.signedBy).toBe('local:signer/tuf-root-g2.key.pem');
  });

  it('a v2 root signed by the new key alone is refused by tuf-js, and by the custody checks', async () => {
    const trusted = v1Copy();
    const config = fixtureConfig('tuf:\n  root:\n    keys: [{ local: tuf-root-g2 }]\n');
    await rotate(config, '2026-01-03T00:00:00Z');
    await publish(config);
    const [oldKeyId] = rootJson(1).signed.roles.root.keyids;
    const forged = rootJson(2);
    forged.signatures = forged.signatures.filter((signature: { keyid: string }) => signature.keyid !== oldKeyId);
    expect(forged.signatures).toHaveLength(1);
    writeFileSync(join(tufDir(), '2.root.json'), JSON.stringify(forged));

    setWallClock('2026-01-03T00:00:00Z');
    // tuf-js checks v2 against v1's root role first (TUF 5.3.4): none of v1's keys signed it.
    await expect(newClient(trusted).fetchTarget('trusted_root.json')).rejects.toThrow('root was signed by 0/1 keys');

    // The same root in the state (the manifest re-hashed to match): every command refuses it.
    const statePath = join(stateRoot, FIXTURE_ENV, 'tuf', 'repository', '2.root.json');
    writeFileSync(statePath, `${JSON.stringify(forged, null, 2)}\n`);
    rehash(join(stateRoot, FIXTURE_ENV), 'tuf/repository/2.root.json');
    await expect(runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') })).rejects.toMatchObject({
      code: 'STATE_ROOT_KEY_MISMATCH',
      message: expect.stringContaining('tuf/repository/2.root.json is not signed by the threshold of the root keys of v1'),
    });
  });

  it('threshold 2: v2 names two keys and needs both signatures; with one missing tuf-js refuses it', async () => {
    const trusted = v1Copy();
    const config = fixtureConfig('tuf:\n  root:\n    threshold: 2\n    keys: [{ local: tuf-root-a-g2 }, { local: tuf-root-b-g2 }]\n');
    const result = await rotate(config, '2026-01-03T00:00:00Z');
    expect(result.rotation.to).toMatchObject({ version: 2, threshold: 2, keys: [{ keyRef: 'local:signer/tuf-root-a-g2.key.pem' }, { keyRef: 'local:signer/tuf-root-b-g2.key.pem' }] });
    await publish(config);
    const v2 = rootJson(2);
    expect(v2.signed.roles.root).toEqual({ keyids: expect.any(Array), threshold: 2 });
    expect(v2.signatures).toHaveLength(3);
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') })).problems).toEqual([]);

    setWallClock('2026-01-03T00:00:00Z');
    const complete = await newClient(trusted, 'complete').fetchTarget('trusted_root.json');
    expect(complete.length).toBeGreaterThan(0);

    // One of the two new keys' signatures removed: v1's threshold is met, v2's own threshold of 2 is not.
    const [, keyB] = v2.signed.roles.root.keyids;
    const partial = { ...v2, signatures: v2.signatures.filter((signature: { keyid: string }) => signature.keyid !== keyB) };
    writeFileSync(join(tufDir(), '2.root.json'), JSON.stringify(partial));
    await expect(newClient(trusted, 'partial').fetchTarget('trusted_root.json')).rejects.toThrow('root was signed by 1/2 keys');

    // The next rotation from the threshold-2 generation takes two of its keys: with a 1-of-1 target, v3 is signed by a, b and the new key.
    const next = fixtureConfig('tuf:\n  root:\n    keys: [{ local: tuf-root-g3 }]\n');
    const third = await rotate(next, '2026-01-05T00:00:00Z');
    expect(third.rotation.signedBy).toEqual(['local:signer/tuf-root-a-g2.key.pem', 'local:signer/tuf-root-b-g2.key.pem', 'local:signer/tuf-root-g3.key.pem']);
    expect((await runVerify({ config: next, stateRoot, clock: () => new Date('2026-01-05T00:00:00Z') })).problems).toEqual([]);
  });

  it('keeping the current key and adding a second (1-of-1 to 2-of-2): the kept key signs once, for both roles', async () => {
    const config = fixtureConfig('tuf:\n  root:\n    threshold: 2\n    keys: [{ local: tuf-root }, { local: tuf-root-b-g2 }]\n');
    const result = await rotate(config, '2026-01-03T00:00:00Z');
    expect(result.rotation.signedBy).toEqual(['local:signer/tuf-root.key.pem', 'local:signer/tuf-root-b-g2.key.pem']);
    const manifest = JSON.parse(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8'));
    // The kept key keeps its pin (and the time it was pinned).
    expect(manifest.tufRootKeyGenerations[1].keys[0]).toEqual(manifest.rootKeys.tuf);
    await publish(config);
    expect(rootJson(2).signatures).toHaveLength(2);
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') })).problems).toEqual([]);
    setWallClock('2026-01-03T00:00:00Z');
    expect((await newClient(v1Copy()).fetchTarget('trusted_root.json')).length).toBeGreaterThan(0);
  });

  it('refuses a rotation to the keys the root already has, and writes nothing', async () => {
    const before = readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'));
    await expect(rotate(fixtureConfig(), '2026-01-03T00:00:00Z')).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2, message: expect.stringContaining('nothing to rotate') });
    expect(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json')).equals(before)).toBe(true);
  });
});

describe('a new environment with several TUF root keys and a threshold', () => {
  const temp = useTempDirectory();
  afterEach(() => jest.useRealTimers());

  it('without tuf.root the repository and the manifest are what they always were: one key, threshold 1, no generation record', async () => {
    const config = configFromYaml('organization: Test Org\nsigner: local\n', 'plain');
    const stateRoot = join(temp(), '.sigstore');
    await synth({ config, stateRoot, outDir: join(temp(), 'dist'), clock: FIXTURE_CLOCK });
    const manifest = JSON.parse(readFileSync(join(stateRoot, 'plain', 'manifest.json'), 'utf8'));
    expect(manifest).not.toHaveProperty('tufRootKeyGenerations');
    expect(manifest.rootKeys.tuf.keyRef).toBe('local:signer/tuf-root.key.pem');
    expect(manifest.items['tuf-root-v1'].signedBy).toBe('local:signer/tuf-root.key.pem');
    const root = JSON.parse(readFileSync(join(temp(), 'dist', 'trust', 'tuf', '1.root.json'), 'utf8'));
    expect(root.signed.roles.root).toEqual({ keyids: [expect.any(String)], threshold: 1 });
    expect(root.signatures).toHaveLength(1);
  });

  it('bootstrap signs v1 with every configured key, threshold 2; tuf-js bootstraps from it; verify accepts it', async () => {
    const config = configFromYaml('organization: Test Org\nsigner: local\ntuf:\n  root:\n    threshold: 2\n    keys: [{ local: tuf-root-a }, { local: tuf-root-b }]\n', 'multi');
    const stateRoot = join(temp(), '.sigstore');
    const dist = join(temp(), 'dist');
    await synth({ config, stateRoot, outDir: dist, clock: FIXTURE_CLOCK });
    const root = JSON.parse(readFileSync(join(dist, 'trust', 'tuf', '1.root.json'), 'utf8'));
    expect(root.signed.roles.root.threshold).toBe(2);
    expect(root.signed.roles.root.keyids).toHaveLength(2);
    expect(root.signatures).toHaveLength(2);
    const manifest = JSON.parse(readFileSync(join(stateRoot, 'multi', 'manifest.json'), 'utf8'));
    expect(manifest.rootKeys.tuf.keyRef).toBe('local:signer/tuf-root-a.key.pem');
    expect(manifest.tufRootKeyGenerations).toEqual([
      { generation: 1, firstVersion: 1, threshold: 2, keys: [expect.objectContaining({ keyRef: 'local:signer/tuf-root-a.key.pem' }), expect.objectContaining({ keyRef: 'local:signer/tuf-root-b.key.pem' })] },
    ]);
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-01-02T00:00:00Z') })).problems).toEqual([]);
    const server = await serveDirectory(join(dist, 'trust', 'tuf'));
    try {
      setWallClock('2026-01-02T00:00:00Z');
      const client = new TufTestClient(server.url, join(temp(), 'client'), join(dist, 'trust', 'tuf', '1.root.json'));
      expect((await client.fetchTarget('trusted_root.json')).equals(readFileSync(join(dist, 'trust', 'trusted_root.json')))).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('an offline TUF root key (a PEM file outside the state)', () => {
  const temp = useTempDirectory();

  it('rotates to it, keeps it out of the state, re-signs a due root with it, and says to mount it when it is missing', async () => {
    const stateRoot = copyFixtureState(temp());
    const media = join(temp(), 'media');
    mkdirSync(media);
    const keyPath = join(media, 'tuf-root-offline.key.pem');
    const password = 'offline-test-password-not-a-secret';
    writeFileSync(keyPath, encryptPrivateKey(generateEcKeyPair('P-256').privateKey, password), { mode: 0o600 });
    writeFileSync(`${keyPath}.password`, `${password}\n`, { mode: 0o600 });
    const config = fixtureConfig(`tuf:\n  root:\n    keys: [{ file: ${keyPath} }]\n`);

    const result = await rotateTufRoot({ config, stateRoot, at: new Date('2026-01-03T00:00:00Z') });
    expect(result.rotation.to.keys).toEqual([{ keyRef: `file:${keyPath}`, keyId: expect.any(String) }]);
    expect(result.rotation.signedBy).toEqual(['local:signer/tuf-root.key.pem', `file:${keyPath}`]);
    const stateFiles = Object.keys(JSON.parse(readFileSync(join(stateRoot, FIXTURE_ENV, 'manifest.json'), 'utf8')).files);
    expect(stateFiles.filter((path) => path.includes('offline'))).toEqual([]);
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') })).problems).toEqual([]);

    // The root due: tuf refresh re-signs it with the offline key (the current generation's), from the medium.
    const due = await runTufRefresh({ config, stateRoot, clock: () => new Date('2026-11-01T00:00:00Z') });
    expect(due.published[0]).toMatchObject({ role: 'root', version: 3 });
    expect((await new StateStore({ root: stateRoot, env: FIXTURE_ENV }).load()).item('tuf-root-v3')?.signedBy).toBe(`file:${keyPath}`);

    // The medium unmounted: verify still passes (the key is checked by its signatures); signing says what to do.
    rmSync(media, { recursive: true });
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-11-02T00:00:00Z') })).problems).toEqual([]);
    await expect(runTufRefresh({ config, stateRoot, clock: () => new Date('2027-09-01T00:00:00Z') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      exitCode: 2,
      message: expect.stringContaining(`the offline TUF root key ${keyPath} cannot be read (ENOENT): mount the medium that holds it`),
    });
  });
});

describe('custody of rotated TUF roots', () => {
  const temp = useTempDirectory();

  it('a manifest that lost the generation record refuses the rotated root: its key is pinned nowhere', async () => {
    const stateRoot = copyFixtureState(temp());
    const config = fixtureConfig('tuf:\n  root:\n    keys: [{ local: tuf-root-g2 }]\n');
    await rotateTufRoot({ config, stateRoot, at: new Date('2026-01-03T00:00:00Z') });
    const manifestPath = join(stateRoot, FIXTURE_ENV, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    delete manifest.tufRootKeyGenerations;
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    await expect(runVerify({ config, stateRoot, offline: true, clock: () => new Date('2026-01-03T00:00:00Z') })).rejects.toMatchObject({
      code: 'STATE_ROOT_KEY_MISMATCH',
      message: expect.stringContaining('tuf/repository/2.root.json carries the key'),
    });
  });

  it('with the TUF root in KMS, a chain whose generation 1 keys outside KMS can sign alone is refused (a re-signed, re-pinned copy of the state)', async () => {
    const stateRoot = copyFixtureState(temp());
    const config = fixtureConfig();
    const kmsAnchored = Object.assign(new LocalRootKeys(), { tufRootKeysInKms: true });
    const error = await runVerify({ config, stateRoot, rootKeys: kmsAnchored, clock: () => new Date('2026-01-03T00:00:00Z') }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'STATE_SIGNER_MISMATCH', exitCode: 3 });
    expect(error.message).toContain('TUF root key generation 1 can be signed by keys outside KMS alone (local:signer/tuf-root.key.pem; threshold 1)');
    // The same state, the keys compared with their own files: accepted.
    expect((await runVerify({ config, stateRoot, clock: () => new Date('2026-01-03T00:00:00Z') })).problems).toEqual([]);
  });
});

/** Re-hashes one file in the manifest, as someone who edits a state and knows its format would. */
function rehash(stateDir: string, path: string): void {
  const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  const manifestPath = join(stateDir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.files[path] = createHash('sha256').update(readFileSync(join(stateDir, path))).digest('hex');
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}
