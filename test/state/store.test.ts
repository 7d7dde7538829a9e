import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../lib/errors';
import { bootstrap } from '../../lib/pki/bootstrap';
import { generateEcKeyPair } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { LocalRootKeys, type RootKeyProvider } from '../../lib/pki/root-keys';
import { STATE_ITEMS, readPkiMaterial } from '../../lib/pki/state-items';
import { writeFileAtomic } from '../../lib/state/atomic';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { configFromYaml, fixedClock } from '../helpers/config';
import { FIXTURE_ENV, copyFixtureState, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';
import { readTree } from '../helpers/tree';

const CLOCK = fixedClock('2026-02-01T00:00:00Z');

describe('idempotence', () => {
  const temp = useTempDirectory();

  it('a second synth mints nothing, changes no byte of the state, and writes identical outputs', async () => {
    const config = configFromYaml('organization: Idem Org\n', 'idem');
    const stateRoot = join(temp(), '.sigstore');
    const outDir = join(temp(), 'dist');
    const first = await synth({ config, stateRoot, outDir, clock: CLOCK });
    const isTuf = (id: string) => id.startsWith('tuf-') || id === 'local-signer-tuf-root';
    // The TUF repository: 3 role keys, the TUF root key, root/targets/snapshot/timestamp v1, 9 target files.
    expect(first.minted.filter(isTuf)).toHaveLength(17);
    expect(first.minted.filter((id) => !isTuf(id))).toEqual([
      'local-signer-fulcio-root',
      'fulcio-root',
      'fulcio-intermediate',
      'local-signer-tsa-root',
      'tsa-root',
      'tsa-intermediate',
      'tsa-leaf',
      'ctlog-key',
      'rekor-key',
      'service-passwords',
    ]);
    const stateBefore = readTree(join(stateRoot, 'idem'));
    const outBefore = readTree(outDir);

    const second = await synth({ config, stateRoot, outDir, clock: fixedClock('2027-06-01T00:00:00Z') });
    expect(second.minted).toEqual([]);
    expect(second.stateWritten).toBe(false);
    // Same bytes, same modes, and not even rewritten (same mtimes).
    expect(readTree(join(stateRoot, 'idem'))).toEqual(stateBefore);
    const outAfter = readTree(outDir);
    expect([...outAfter.keys()]).toEqual([...outBefore.keys()]);
    for (const [path, entry] of outAfter) expect(entry.bytes).toEqual(outBefore.get(path)!.bytes);
  });

  it('writes state directories 0700 and files 0600, and public outputs 0755/0644', async () => {
    const stateRoot = join(temp(), '.sigstore');
    const outDir = join(temp(), 'dist');
    await synth({ config: configFromYaml('organization: Modes Org\n', 'modes'), stateRoot, outDir, clock: CLOCK });
    for (const [path, entry] of readTree(join(stateRoot, 'modes'))) {
      expect([path, entry.mode]).toEqual([path, path.endsWith('/') ? 0o700 : 0o600]);
    }
    for (const [path, entry] of readTree(outDir)) {
      // The cluster Secrets manifest holds key material: 0600.
      expect([path, entry.mode]).toEqual([path, path.endsWith('/') ? 0o755 : path === 'sigstore.secrets.k8s.yaml' ? 0o600 : 0o644]);
    }
  });

  it('records what was minted, when, and by which key (a reference, never a secret)', async () => {
    const stateRoot = join(temp(), '.sigstore');
    await synth({ config: configFromYaml('organization: Manifest Org\n', 'man'), stateRoot, outDir: join(temp(), 'dist'), clock: CLOCK });
    const manifestText = readFileSync(join(stateRoot, 'man', 'manifest.json'), 'utf8');
    const manifest = JSON.parse(manifestText);
    expect(manifest.format).toBe('sigstore-cdk/state/v2');
    expect(manifest.items['fulcio-root']).toEqual({
      mintedAt: '2026-02-01T00:00:00.000Z',
      signedBy: 'local:signer/fulcio-root.key.pem',
      files: { certificate: 'fulcio/root.crt.pem' },
    });
    expect(manifest.items['tsa-leaf'].signedBy).toBe('local:tsa/intermediate.key.pem');
    // 4 signer + 4 Fulcio + 7 TSA + 3 CT log + 3 Rekor; TUF: 2 root key + 6 role keys + 4 metadata + 9 targets; 3 service passwords
    expect(Object.keys(manifest.files)).toHaveLength(45);
    for (const item of [STATE_ITEMS.fulcioIntermediate, STATE_ITEMS.tsaLeaf, STATE_ITEMS.ctlogKey, STATE_ITEMS.rekorKey]) {
      const password = readFileSync(join(stateRoot, 'man', item.files.password), 'utf8');
      expect(manifestText).not.toContain(password);
    }
    expect(manifestText).not.toContain('PRIVATE KEY');
  });
});

describe('a damaged state is reported, never overwritten', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let directory: string;
  const store = () => new StateStore({ root: stateRoot, env: FIXTURE_ENV });

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
    directory = join(stateRoot, FIXTURE_ENV);
  });

  async function expectRefused(code: string, message: RegExp | string): Promise<void> {
    const before = readTree(directory);
    const attempt = bootstrap({ config: fixtureConfig(), store: store(), rootKeys: new LocalRootKeys(), clock: CLOCK });
    await expect(attempt).rejects.toThrow(StateError);
    await expect(
      bootstrap({ config: fixtureConfig(), store: store(), rootKeys: new LocalRootKeys(), clock: CLOCK }),
    ).rejects.toMatchObject({ code, message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message) });
    expect(readTree(directory)).toEqual(before);
  }

  it('an edited file', async () => {
    writeFileSync(join(directory, 'fulcio/root.crt.pem'), readFileSync(join(directory, 'tsa/root.crt.pem')));
    await expectRefused('STATE_CORRUPT', 'fulcio/root.crt.pem does not match its SHA-256 in the manifest');
  });

  it('a missing file', async () => {
    rmSync(join(directory, 'rekor/public.pem'));
    await expectRefused('STATE_CORRUPT', 'rekor/public.pem is listed in the manifest but missing');
  });

  it('an unrecorded file', async () => {
    writeFileSync(join(directory, 'fulcio/extra.pem'), 'x', { mode: 0o600 });
    await expectRefused('STATE_CORRUPT', 'fulcio/extra.pem is not recorded in the manifest');
  });

  it('a manifest that is not JSON, or not ours', async () => {
    writeFileSync(join(directory, 'manifest.json'), '{ not json', { mode: 0o600 });
    await expectRefused('STATE_CORRUPT', 'is not JSON');
    writeFileSync(join(directory, 'manifest.json'), JSON.stringify({ format: 'something-else', items: {} }), { mode: 0o600 });
    await expectRefused('STATE_CORRUPT', /is not a sigstore-cdk state manifest[\s\S]*format/);
  });

  it('files without a manifest', async () => {
    rmSync(join(directory, 'manifest.json'));
    await expectRefused('STATE_CORRUPT', 'has files but no manifest.json');
  });

  it('a key file readable by others', async () => {
    chmodSync(join(directory, 'tsa/leaf.key.pem'), 0o644);
    await expectRefused('STATE_CORRUPT', 'tsa/leaf.key.pem has mode 0644; expected 0600');
  });

  it('a consistent-looking manifest over keys that do not fit (deep checks)', async () => {
    // Swap two password files and fix the hashes: only decrypting the keys can notice.
    const a = join(directory, STATE_ITEMS.ctlogKey.files.password);
    const b = join(directory, STATE_ITEMS.rekorKey.files.password);
    const [passwordA, passwordB] = [readFileSync(a), readFileSync(b)];
    writeFileSync(a, passwordB);
    writeFileSync(b, passwordA);
    const manifestPath = join(directory, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    [manifest.files[STATE_ITEMS.ctlogKey.files.password], manifest.files[STATE_ITEMS.rekorKey.files.password]] = [
      manifest.files[STATE_ITEMS.rekorKey.files.password],
      manifest.files[STATE_ITEMS.ctlogKey.files.password],
    ];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    await expectRefused('STATE_CORRUPT', 'ctlog/private.key.pem does not decrypt with its password file');
  });

  it('a replace that stopped between its two renames', async () => {
    renameSync(directory, join(stateRoot, `.${FIXTURE_ENV}.previous-123-abcd`));
    await expect(bootstrap({ config: fixtureConfig(), store: store(), rootKeys: new LocalRootKeys(), clock: CLOCK })).rejects.toMatchObject({
      code: 'STATE_INTERRUPTED',
      message: expect.stringContaining(`mv ${join(stateRoot, `.${FIXTURE_ENV}.previous-123-abcd`)} ${directory}`),
    });
    expect(existsSync(directory)).toBe(false);
  });
});

describe('locking', () => {
  const temp = useTempDirectory();
  // A complete state is read without the lock (test/state/lock.test.ts has the lock's own cases); a run that writes takes it.

  it('refuses to run while another live run holds the lock, and names it', async () => {
    const stateRoot = copyFixtureState(temp());
    writeFileSync(join(stateRoot, `${FIXTURE_ENV}.lock`), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    await expect(new StateStore({ root: stateRoot, env: FIXTURE_ENV, lock: { waitMs: 0 } }).withLock(async () => {})).rejects.toMatchObject({
      code: 'STATE_LOCKED',
      message: expect.stringContaining(`pid ${process.pid}`),
    });
  });

  it('takes over a lock whose holder is gone (not refreshed for longer than the stale threshold), and releases its own', async () => {
    const stateRoot = copyFixtureState(temp());
    const lock = join(stateRoot, `${FIXTURE_ENV}.lock`);
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    const longAgo = new Date(Date.now() - 3600_000);
    utimesSync(lock, longAgo, longAgo);
    await expect(new StateStore({ root: stateRoot, env: FIXTURE_ENV }).withLock(async () => 'ran')).resolves.toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });
});

describe('partial state', () => {
  const temp = useTempDirectory();

  /** Removes an item (manifest entry and files), as if it had never been minted. */
  function dropItem(directory: string, item: { id: string; files: Record<string, string> }): void {
    const manifestPath = join(directory, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    delete manifest.items[item.id];
    for (const path of Object.values(item.files)) {
      delete manifest.files[path];
      rmSync(join(directory, path));
    }
    writeFileSync(manifestPath, JSON.stringify(manifest));
  }

  /** A state with the PKI only (bootstrap without the TUF repository): never complete, so never published. */
  async function unpublishedState(): Promise<string> {
    const stateRoot = join(temp(), 'unpublished');
    await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: stateRoot, env: FIXTURE_ENV }), rootKeys: new LocalRootKeys(), clock: fixedClock() });
    return stateRoot;
  }

  it('mints only what is missing from an unpublished state, with the key that minted the root', async () => {
    const stateRoot = await unpublishedState();
    const directory = join(stateRoot, FIXTURE_ENV);
    dropItem(directory, STATE_ITEMS.fulcioIntermediate);
    const untouched = readFileSync(join(directory, 'fulcio/root.crt.pem'));
    const store = new StateStore({ root: stateRoot, env: FIXTURE_ENV });
    const result = await bootstrap({ config: fixtureConfig(), store, rootKeys: new LocalRootKeys(), clock: CLOCK });
    expect(result.minted).toEqual(['fulcio-intermediate']);
    expect(readFileSync(join(directory, 'fulcio/root.crt.pem'))).toEqual(untouched);
    const material = await readPkiMaterial(await store.load());
    expect(material.fulcio.intermediate.notBefore.toISOString()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('refuses a signer that does not hold the existing root key, and writes nothing', async () => {
    const stateRoot = await unpublishedState();
    const directory = join(stateRoot, FIXTURE_ENV);
    dropItem(directory, STATE_ITEMS.tsaIntermediate);
    const before = readTree(directory);
    const otherKey: RootKeyProvider = {
      description: 'another signer',
      signerFor: async () => new LocalSigner(generateEcKeyPair('P-384').privateKey, 'elsewhere/key.pem'),
    };
    await expect(bootstrap({ config: fixtureConfig(), store: new StateStore({ root: stateRoot, env: FIXTURE_ENV }), rootKeys: otherKey })).rejects.toMatchObject({
      code: 'STATE_SIGNER_MISMATCH',
      message: expect.stringContaining('the tsa root is pinned to local:signer/tsa-root.key.pem, but another signer holds it as local:elsewhere/key.pem'),
    });
    expect(readTree(directory)).toEqual(before);
  });

  it('a failure half-way through minting leaves no state and no staging directory behind', async () => {
    const stateRoot = join(temp(), '.sigstore');
    const failingTsa: RootKeyProvider = {
      description: 'flaky signer',
      signerFor: async (root, snapshot, now) => {
        if (root === 'tsa') throw new Error('KMS unavailable');
        return new LocalRootKeys().signerFor(root, snapshot, now);
      },
    };
    const config = configFromYaml('organization: Fail Org\n', 'fail');
    await expect(bootstrap({ config, store: new StateStore({ root: stateRoot, env: 'fail' }), rootKeys: failingTsa, clock: CLOCK })).rejects.toThrow('KMS unavailable');
    // Only the ceremony log (which records signatures that did happen) and nothing else.
    expect(readdirSync(stateRoot).sort()).toEqual(['fail']);
    expect(readdirSync(join(stateRoot, 'fail'))).toEqual(['ceremony.jsonl']);
    const log = readFileSync(join(stateRoot, 'fail', 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.filter((record) => record.kind === 'sign-intent').map((record) => record.purpose)).toEqual(['fulcio-root certificate', 'fulcio-intermediate certificate']);
    // A later run with a working signer completes the state (the log is kept and grows).
    const result = await bootstrap({ config, store: new StateStore({ root: stateRoot, env: 'fail' }), rootKeys: new LocalRootKeys(), clock: CLOCK });
    expect(result.minted).toContain('tsa-leaf');
    expect(readFileSync(join(stateRoot, 'fail', 'ceremony.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2 * 2 + 4 * 2); // an intent and a result per signature
  });
});

describe('writeFileAtomic', () => {
  const temp = useTempDirectory();

  it('replaces a file with mode 0600 and leaves no temporary file', async () => {
    const path = join(temp(), 'secret.pem');
    writeFileSync(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readTree(temp()).get('secret.pem')?.mode).toBe(0o600);
    expect(readdirSync(temp())).toEqual(['secret.pem']);
  });

  it('fails without touching the target when the directory is missing', async () => {
    mkdirSync(join(temp(), 'present'));
    await expect(writeFileAtomic(join(temp(), 'absent', 'x'), 'data')).rejects.toThrow(/ENOENT/);
  });
});
