import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import type { Signer } from '../../lib/pki/signer';
import { StateStore, type StateSnapshot } from '../../lib/state/store';
import { refreshTufRepository, type TufPublication } from '../../lib/trust/tuf/lifecycle';
import { readTufRepository } from '../../lib/trust/tuf/repository';
import { verifyTufRepository } from '../../lib/trust/tuf/verify-repository';
import { copyFixtureState, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * `tuf refresh` semantics on the fixture repository (signed 2026-01-01 with the default expiry and
 * refresh windows): timestamp 01-15 (due from 01-05), snapshot 03-02 (due from 02-09), targets 06-30
 * (due from 05-01), root 2027-01-01 (due from 2026-10-03).
 */
describe('refreshTufRepository', () => {
  const temp = useTempDirectory();
  let store: StateStore;
  let snapshot: StateSnapshot;
  let material: PkiMaterial;
  let rootSignerCalls: number;

  beforeEach(async () => {
    store = new StateStore({ root: copyFixtureState(temp()), env: FIXTURE_ENV });
    snapshot = await store.load();
    material = await readPkiMaterial(snapshot);
    rootSignerCalls = 0;
  });

  const rootSigner = async (): Promise<Signer> => {
    rootSignerCalls++;
    return new LocalRootKeys().signerFor('tuf', snapshot, new Date());
  };
  const refresh = (iso: string, config = fixtureConfig()) => refreshTufRepository(snapshot, { config, material, rootSigner, now: new Date(iso) });
  const summary = (published: readonly TufPublication[]) => published.map((entry) => `${entry.role} v${entry.version}: ${entry.reason}`);

  it('publishes nothing while every role is outside its window, and never asks for the root key', async () => {
    expect(await refresh('2026-01-04T23:59:59Z')).toEqual([]);
    expect(snapshot.changed).toBe(false);
    expect(await store.commit(snapshot)).toBe(false);
    expect(rootSignerCalls).toBe(0);
  });

  it('re-signs only the timestamp inside its window, superseding timestamp.json', async () => {
    const published = await refresh('2026-01-05T00:00:00Z');
    expect(summary(published)).toEqual(['timestamp v2: expires 2026-01-15T00:00:00Z (due)']);
    expect(published[0].expires).toBe('2026-01-19T00:00:00Z');
    expect(snapshot.addedItems).toEqual([]);
    expect(snapshot.supersededItems).toEqual(['tuf-timestamp']);
    expect(rootSignerCalls).toBe(0);
    const repository = readTufRepository(snapshot);
    expect(repository.timestamp.signed.snapshotMeta.version).toBe(1);
    expect((await verifyTufRepository(repository, material, fixtureConfig(), new Date('2026-01-05T00:00:00Z'))).problems).toEqual([]);
  });

  it('a due snapshot brings a new timestamp; a due targets brings both; the target files stay as they are', async () => {
    expect(summary(await refresh('2026-02-10T00:00:00Z'))).toEqual([
      'snapshot v2: expires 2026-03-02T00:00:00Z (due)',
      'timestamp v2: new snapshot v2',
    ]);
    expect(summary(await refresh('2026-05-02T00:00:00Z'))).toEqual([
      'targets v2: expires 2026-06-30T00:00:00Z (due)',
      'snapshot v3: new targets v2',
      'timestamp v3: new snapshot v3',
    ]);
    expect(snapshot.addedItems.filter((id) => id.startsWith('tuf-target-'))).toEqual([]);
    const repository = readTufRepository(snapshot);
    expect(repository.snapshot.signed.meta['targets.json'].version).toBe(2);
    expect(repository.timestamp.signed.snapshotMeta.version).toBe(3);
    expect([...repository.files.keys()].filter((path) => /^\d+\.(snapshot|targets)\.json$/.test(path)).sort()).toEqual([
      '1.snapshot.json', '1.targets.json', '2.snapshot.json', '2.targets.json', '3.snapshot.json',
    ]);
  });

  it('publishes new targets when the trust material or URLs change, adding only the changed files', async () => {
    const config = fixtureConfig('services:\n  tsa: { hostname: tsa.example.com }\n');
    expect(summary(await refresh('2026-01-02T00:00:00Z', config))).toEqual([
      'targets v2: trust material changed',
      'snapshot v2: new targets v2',
      'timestamp v2: new snapshot v2',
    ]);
    // trusted_root.json and the signing config carry the TSA URL; the certificate files did not change.
    expect(snapshot.addedItems.filter((id) => id.startsWith('tuf-target-')).map((id) => id.replace(/^tuf-target-[0-9a-f]{64}\./, ''))).toEqual([
      'trusted_root.json',
      'signing_config.v0.2.json',
    ]);
    const repository = readTufRepository(snapshot);
    expect(repository.targets.signed.targets['tsa_leaf.crt.pem'].custom).toEqual({
      sigstore: { usage: 'TSA', status: 'Active', uri: 'https://tsa.example.com/api/v1/timestamp' },
    });
    expect(await refresh('2026-01-02T00:00:00Z', config)).toEqual([]); // idempotent
  });

  it('re-signs the root inside its window with the root key, chaining v2 to v1', async () => {
    const published = await refresh('2026-10-03T00:00:00Z');
    expect(summary(published)).toEqual([
      'root v2: expires 2027-01-01T00:00:00Z (due)',
      'targets v2: expired 2026-06-30T00:00:00Z',
      'snapshot v2: new targets v2',
      'timestamp v2: new snapshot v2',
    ]);
    expect(rootSignerCalls).toBe(1);
    const repository = readTufRepository(snapshot);
    expect(repository.roots.map((root) => root.signed.version)).toEqual([1, 2]);
    expect(repository.root.signed.expires).toBe('2027-10-03T00:00:00Z');
    expect(repository.root.signed.keys).toEqual(repository.roots[0].signed.keys);
    expect(() => repository.roots[0].verifyDelegate('root', repository.root)).not.toThrow();
    const check = await verifyTufRepository(repository, material, fixtureConfig(), new Date('2026-10-03T00:00:00Z'));
    expect(check).toMatchObject({ problems: [], warnings: [] });
  });

  it('commits to a state that loads and verifies, and a second refresh writes nothing', async () => {
    await refresh('2026-05-02T00:00:00Z');
    expect(await store.commit(snapshot)).toBe(true);
    snapshot = await store.load();
    expect(readTufRepository(snapshot).targets.signed.version).toBe(2);
    expect(await refresh('2026-05-02T00:00:00Z')).toEqual([]);
    expect(await store.commit(snapshot)).toBe(false);
  });
});
