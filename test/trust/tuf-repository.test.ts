import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { generateEcKeyPair, publicKeyOf, publicKeyPem } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { decryptStateKey, readEncryptedKey, readPkiMaterial, STATE_ITEMS, type PkiMaterial } from '../../lib/pki/state-items';
import { StateSnapshot, StateStore } from '../../lib/state/store';
import { trustOutputFiles } from '../../lib/trust/trust-outputs';
import { ensureTufRepository, refreshTufRepository } from '../../lib/trust/tuf/lifecycle';
import { readTufRepository, type TufRepository } from '../../lib/trust/tuf/repository';
import { tufOutputFiles } from '../../lib/trust/tuf/tuf-outputs';
import { verifyTufRepository } from '../../lib/trust/tuf/verify-repository';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

const at = (iso: string) => new Date(iso);

describe('the TUF repository of the fixture state (signed 2026-01-01)', () => {
  const temp = useTempDirectory();
  let snapshot: StateSnapshot;
  let repository: TufRepository;
  let material: PkiMaterial;

  beforeEach(async () => {
    snapshot = await new StateStore({ root: copyFixtureState(temp()), env: FIXTURE_ENV }).load();
    repository = readTufRepository(snapshot);
    material = await readPkiMaterial(snapshot);
  });

  it('has one key per role, threshold 1, P-256 keys in the sigstore form, the root key being the signer\'s', () => {
    const root = repository.root.signed;
    expect(repository.roots).toHaveLength(1);
    expect(root.version).toBe(1);
    expect(root.specVersion).toBe('1.0');
    expect(root.consistentSnapshot).toBe(true);
    expect(Object.keys(root.roles).sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp']);
    const keyIds = Object.values(root.roles).map((role) => role.keyIDs);
    expect(keyIds.every((ids) => ids.length === 1)).toBe(true);
    expect(new Set(keyIds.flat()).size).toBe(4); // no key serves two roles
    expect(Object.values(root.roles).map((role) => role.threshold)).toEqual([1, 1, 1, 1]);
    for (const [keyId, key] of Object.entries(root.keys)) {
      expect(key.toJSON()).toEqual({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: expect.stringContaining('BEGIN PUBLIC KEY') } });
      expect(createPublicKey(key.keyVal.public).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(keyId).toBe(createHash('sha256').update(canonicalize(key.toJSON())).digest('hex'));
    }
    const signerKey = decryptStateKey(readEncryptedKey(snapshot, STATE_ITEMS.localTufRootKey), 'tuf root');
    expect(root.keys[root.roles.root.keyIDs[0]].keyVal.public).toBe(publicKeyPem(publicKeyOf(signerKey)));
  });

  it('expires each role as configured from the signing time', () => {
    expect(repository.root.signed.expires).toBe('2027-01-01T00:00:00Z');
    expect(repository.targets.signed.expires).toBe('2026-06-30T00:00:00Z');
    expect(repository.snapshot.signed.expires).toBe('2026-03-02T00:00:00Z');
    expect(repository.timestamp.signed.expires).toBe('2026-01-15T00:00:00Z');
  });

  it('signs canonical JSON with hex DER ECDSA/SHA-256 signatures (checked with node:crypto directly)', () => {
    for (const metadata of [repository.root, repository.targets, repository.snapshot, repository.timestamp]) {
      const [signature] = Object.values(metadata.signatures);
      const key = repository.root.signed.keys[signature.keyID];
      const payload = Buffer.from(canonicalize(metadata.signed.toJSON()));
      expect(signature.sig).toMatch(/^30[0-9a-f]+$/); // a DER SEQUENCE
      expect(nodeVerify('sha256', payload, { key: key.keyVal.public, dsaEncoding: 'der' }, Buffer.from(signature.sig, 'hex'))).toBe(true);
    }
  });

  it('targets the trust material with the sigstore custom metadata, trusted_root.json byte for byte', () => {
    const targets = repository.targets.signed.targets;
    expect(repository.targets.signed.toJSON()).toMatchSnapshot();
    const usage = Object.fromEntries(Object.entries(targets).map(([name, file]) => [name, (file.custom as { sigstore?: { usage: string } }).sigstore?.usage ?? null]));
    expect(usage).toEqual({
      'trusted_root.json': null,
      'signing_config.v0.2.json': null,
      'fulcio_v1.crt.pem': 'Fulcio',
      'fulcio_intermediate_v1.crt.pem': 'Fulcio',
      'ctfe.pub': 'CTFE',
      'rekor.pub': 'Rekor',
      'tsa_leaf.crt.pem': 'TSA',
      'tsa_intermediate_0.crt.pem': 'TSA',
      'tsa_root.crt.pem': 'TSA',
    });
    for (const [name, file] of Object.entries(targets)) {
      const sigstore = (file.custom as { sigstore?: { status: string } }).sigstore;
      if (sigstore) expect([name, sigstore.status]).toEqual([name, 'Active']);
    }
    const trustedRoot = trustOutputFiles(material, fixtureConfig()).find((file) => file.path === 'trust/trusted_root.json')!.content;
    expect(targets['trusted_root.json'].hashes.sha256).toBe(createHash('sha256').update(trustedRoot).digest('hex'));
    expect(repository.files.get(`targets/${targets['trusted_root.json'].hashes.sha256}.trusted_root.json`)?.toString()).toBe(trustedRoot);
    expect(repository.files.get(`targets/${targets['fulcio_v1.crt.pem'].hashes.sha256}.fulcio_v1.crt.pem`)?.toString()).toBe(`${material.fulcio.root.toString('pem')}\n`);
  });

  it('publishes the versioned files, timestamp.json, hash-prefixed targets and root.json (a copy of the newest root)', () => {
    const files = tufOutputFiles(repository);
    const targetNames = Object.keys(repository.targets.signed.targets);
    expect(files.map((file) => file.path.replace(/\/[0-9a-f]{64}\./, '/<sha256>.')).sort()).toEqual(
      [
        'trust/tuf/1.root.json',
        'trust/tuf/1.snapshot.json',
        'trust/tuf/1.targets.json',
        'trust/tuf/timestamp.json',
        'trust/tuf/root.json',
        ...targetNames.map((name) => `trust/tuf/targets/<sha256>.${name}`),
      ].sort(),
    );
    for (const name of targetNames) {
      const file = files.find((candidate) => candidate.path === `trust/tuf/targets/${repository.targets.signed.targets[name].hashes.sha256}.${name}`);
      expect(createHash('sha256').update(file!.content).digest('hex')).toBe(repository.targets.signed.targets[name].hashes.sha256);
    }
    expect(files.find((file) => file.path === 'trust/tuf/root.json')?.content).toBe(files[0].content);
  });

  it('verifies clean when signed, warns inside a refresh window, fails once expired or tampered', async () => {
    const config = fixtureConfig();
    expect(await verifyTufRepository(repository, material, config, at('2026-01-02T00:00:00Z'))).toMatchObject({ problems: [], warnings: [], targetsCurrent: true });

    const due = await verifyTufRepository(repository, material, config, at('2026-01-06T00:00:00Z'));
    expect(due.problems).toEqual([]);
    expect(due.warnings).toEqual([expect.stringContaining('TUF timestamp v1 expires 2026-01-15T00:00:00Z (in 9 days, inside its 10d refresh window)')]);

    const expired = await verifyTufRepository(repository, material, config, at('2026-01-15T00:00:00Z'));
    expect(expired.problems).toEqual([expect.stringContaining('TUF timestamp v1 expired 2026-01-15T00:00:00Z')]);
    expect(expired.expiry.find((role) => role.role === 'timestamp')).toMatchObject({ status: 'expired', daysLeft: 0 });

    const files = new Map(repository.files);
    const sha = repository.targets.signed.targets['rekor.pub'].hashes.sha256;
    files.set(`targets/${sha}.rekor.pub`, Buffer.from(publicKeyPem(generateEcKeyPair('P-256').publicKey)));
    files.set('1.snapshot.json', Buffer.from(files.get('1.snapshot.json')!.toString().replace('"version": 1', '"version": 1 ')));
    const tampered = await verifyTufRepository({ ...repository, files }, material, config, at('2026-01-02T00:00:00Z'));
    expect(tampered.problems).toEqual([expect.stringMatching(/^timestamp → snapshot: .*length/i), expect.stringMatching(/^target rekor\.pub: .*hash/i)]);

    const moved = await verifyTufRepository(repository, material, fixtureConfig('services:\n  rekor: { hostname: rekor.example.com }\n'), at('2026-01-02T00:00:00Z'));
    expect(moved.targetsCurrent).toBe(false);
    expect(moved.problems).toEqual([expect.stringContaining('TUF targets v1 do not match the current trust material')]);
  });

  it('refuses to re-sign the root with a key the current root does not trust', async () => {
    const stranger = new LocalSigner(generateEcKeyPair('P-256').privateKey, 'signer/stranger.key.pem');
    await expect(
      refreshTufRepository(snapshot, { config: fixtureConfig(), material, rootSigner: async () => stranger, now: at('2026-12-01T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'TUF_ROOT_KEY_MISMATCH', message: expect.stringContaining('does not trust key') });
  });

  it('refuses a P-384 TUF root key, which tuf-js and go-tuf cannot verify', async () => {
    const p384 = new LocalSigner(generateEcKeyPair('P-384').privateKey, 'signer/p384.key.pem');
    await expect(
      ensureTufRepository(StateSnapshot.empty('fresh'), { config: fixtureConfig(), material, rootSigner: async () => p384, now: at('2026-01-01T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'SIGNER_KEY_UNSUPPORTED', message: expect.stringContaining('is a P-384 key; TUF metadata needs an EC P-256 key') });
  });
});
